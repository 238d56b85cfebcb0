"""Validate a metering-point data file (CSV or JSON Lines) before it is loaded anywhere.

Accepts what ``mhhs-sit data generate`` writes and hand-edited files: only ``mpan`` is required;
every other known column is checked when present; unknown columns are reported (a misspelt
column would otherwise escape checking). Each problem names the line it is on; a duplicated MPAN
names both lines.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from mhhs_sit.data.checkdigit import full_mpan_problem, mpan_core_problem
from mhhs_sit.data.distributors import DISTRIBUTORS, GSP_GROUPS
from mhhs_sit.data.points import (
    AGENT_ROLES,
    CONNECTION_TYPES,
    CSV_COLUMNS,
    DIRECTIONS,
    MPID,
    PROFILE_CLASSES,
    SEGMENTS,
)
from mhhs_sit.errors import ConfigError, Problem

KNOWN = frozenset(CSV_COLUMNS) | {"full_mpan"}
POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}")
_SERIAL = re.compile(r"[A-Z0-9]{1,10}")
_MTC = re.compile(r"(?!000)\d{3}")
_LLFC = re.compile(r"[A-Z0-9]{3}")
_CONNECTIONS = {"smart": {"W"}, "advanced": {"W", "L", "H", "E"}, "unmetered": {"U"}}
_ENUMS = {
    "segment": SEGMENTS,
    "direction": DIRECTIONS,
    "connection_type": CONNECTION_TYPES,
    "profile_class": PROFILE_CLASSES,
    "gsp_group": tuple(GSP_GROUPS),
    "domestic": ("true", "false"),
}


@dataclass(frozen=True)
class FileReport:
    """The outcome of checking one file."""

    rows: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_date(text: str) -> bool:
    try:
        return len(text) == 10 and bool(date.fromisoformat(text))
    except ValueError:
        return False


def row_problems(rec: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(column, reason) for everything wrong with one record of strings."""
    for check in _ROW_CHECKS:
        yield from check(rec)


def _identity_problems(rec: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The MPAN core and the columns with a fixed vocabulary."""
    problem = mpan_core_problem(rec.get("mpan", ""))
    if problem:
        yield "mpan", problem
    for name, allowed in _ENUMS.items():
        if name in rec and rec[name] not in allowed:
            yield name, f"{name} {rec[name]!r} is not one of {', '.join(allowed)}"


def _distributor_problems(rec: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The distributor columns against the MPAN's distributor and the GSP groups it serves."""
    mpan = rec.get("mpan", "")
    did = rec.get("distributor_id")
    dist = DISTRIBUTORS.get(did) if did is not None else DISTRIBUTORS.get(mpan[:2])
    if did is not None and did != mpan[:2]:
        yield "distributor_id", f"distributor_id {did!r} does not match the MPAN's {mpan[:2]!r}"
    if dist is None:
        return
    mpid = rec.get("distributor_mpid")
    if mpid is not None and mpid != dist.mpid:
        yield "distributor_mpid", f"distributor {dist.id} is {dist.mpid}, not {mpid!r}"
    gsp = rec.get("gsp_group")
    if gsp in GSP_GROUPS and gsp not in dist.gsp_groups:
        yield "gsp_group", f"distributor {dist.id} ({dist.mpid}) does not serve {gsp}"


def _segment_problems(rec: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Columns the market segment constrains: connection type, direction, meter, agents' roles."""
    segment = rec.get("segment")
    if segment not in _CONNECTIONS:
        return
    ct = rec.get("connection_type")
    if ct in CONNECTION_TYPES and ct not in _CONNECTIONS[segment]:
        yield "connection_type", f"a {segment} metering point cannot have connection type {ct}"
    if segment == "unmetered" and rec.get("direction") == "export":
        yield "direction", "an unmetered supply cannot export"
    serial = rec.get("meter_serial")
    if serial is not None and (segment == "unmetered") != (serial == ""):
        yield "meter_serial", _serial_mismatch(segment, serial)
    yield from _agent_role_problems(rec, segment)


def _agent_role_problems(rec: dict[str, str], segment: str) -> Iterator[tuple[str, str]]:
    """The metering and data services' roles, which the segment decides."""
    for kind, role in zip(("metering", "data"), AGENT_ROLES[segment], strict=True):
        given = rec.get(f"{kind}_service_role")
        if given is not None and given != role:
            yield f"{kind}_service_role", f"a {segment} point's {kind} service is {role}"


def _serial_mismatch(segment: str, serial: str) -> str:
    """An unmetered supply has no meter; every other point has one."""
    if serial:
        return f"an unmetered supply has no meter serial, got {serial!r}"
    return f"a {segment} metering point needs a meter serial"


def _identifier_problems(rec: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The meter serial and the participants' MPIDs."""
    serial = rec.get("meter_serial")
    if serial and not _SERIAL.fullmatch(serial):
        yield "meter_serial", f"meter serial {serial!r} must be 1-10 of A-Z and 0-9"
    for name in ("supplier_mpid", "metering_service_mpid", "data_service_mpid"):
        value = rec.get(name)
        if value and not MPID.fullmatch(value):
            yield name, f"{name} {value!r} must be 4 capital letters"


def _format_problems(rec: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Columns with a fixed shape: codes, postcode, address, date."""
    for name, pattern, reason in _SHAPES:
        if name in rec and not pattern.fullmatch(rec[name]):
            yield name, reason.format(rec[name])
    for name in ("address_line_1", "town"):
        if name in rec and not rec[name].strip():
            yield name, f"{name} is empty"
    if "effective_from" in rec and not _is_date(rec["effective_from"]):
        yield "effective_from", f"effective_from {rec['effective_from']!r} is not YYYY-MM-DD"


def _full_mpan_problems(rec: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The full MPAN's own check, then its parts against the columns that repeat them."""
    if "full_mpan" not in rec:
        return
    full = rec["full_mpan"]
    problem = full_mpan_problem(full)
    if problem:
        yield "full_mpan", problem
        return
    top = {
        "mpan": full[8:],
        "profile_class": full[:2],
        "meter_timeswitch_code": full[2:5],
        "line_loss_factor_class": full[5:8],
    }
    for name, value in top.items():
        if name in rec and rec[name] != value:
            yield "full_mpan", f"full_mpan's {name} {value!r} differs from {rec[name]!r}"


_ROW_CHECKS: tuple[Callable[[dict[str, str]], Iterator[tuple[str, str]]], ...] = (
    _identity_problems,
    _distributor_problems,
    _segment_problems,
    _identifier_problems,
    _format_problems,
    _full_mpan_problems,
)
# (column, pattern, reason with {} for the value) for columns checked by their shape alone.
_SHAPES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("meter_timeswitch_code", _MTC, "meter_timeswitch_code must be three digits, 001-999"),
    ("line_loss_factor_class", _LLFC, "line_loss_factor_class must be three of A-Z and 0-9"),
    ("postcode", POSTCODE, "postcode {!r} is not a UK postcode like SW1A 2AA"),
)


def _csv_records(text: TextIO, report: list[tuple[int, str, str]]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        report.append((1, "", "the file is empty; expected a header line"))
        return
    unknown = _header_problems(header, report)
    if "mpan" not in header:
        return
    line = reader.line_num + 1
    for fields in reader:
        start, line = line, reader.line_num + 1
        if not fields:
            continue
        if len(fields) != len(header):
            report.append((start, "", f"{len(fields)} fields where the header has {len(header)}"))
            continue
        rec = dict(zip(header, fields, strict=True))
        for name in unknown:
            del rec[name]
        yield start, rec


def _header_problems(header: list[str], report: list[tuple[int, str, str]]) -> list[str]:
    """Report unknown, repeated and missing columns; returns the unknown ones."""
    unknown = sorted({h for h in header if h not in KNOWN})
    for name in unknown:
        report.append((1, name, f"unknown column {name!r}"))
    for name in sorted({h for h in header if header.count(h) > 1}):
        report.append((1, name, f"column {name!r} appears {header.count(name)} times"))
    if "mpan" not in header:
        report.append((1, "", "the header has no 'mpan' column"))
    return unknown


def _flatten(obj: dict[str, object]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A JSON record as the strings a CSV row would hold, plus shape problems."""
    flat: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for key, value in obj.items():
        if key == "address":
            problems.extend(_flatten_address(value, flat))
        elif key not in KNOWN:
            problems.append((key, f"unknown key {key!r}"))
        elif isinstance(value, bool):
            flat[key] = "true" if value else "false"
        elif value is None:
            flat[key] = ""
        elif isinstance(value, str):
            flat[key] = value
        else:
            problems.append((key, f"{key} must be a string, not {json.dumps(value)}"))
    return flat, problems


def _flatten_address(value: object, flat: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The address object as its CSV columns in ``flat``; yields what is wrong with its shape."""
    if not isinstance(value, dict):
        yield "address", "address must be an object {lines, town, postcode}"
        return
    lines = _address_lines(value.get("lines", []))
    if lines is None:
        yield "address.lines", "address lines must be a list of 1-2 strings"
        lines = []
    flat["address_line_1"] = lines[0] if lines else ""
    flat["address_line_2"] = lines[1] if len(lines) > 1 else ""
    for sub in ("town", "postcode"):
        text = value.get(sub)
        flat[sub] = text if isinstance(text, str) else ""
    extra = set(value) - {"lines", "town", "postcode"}
    if extra:
        yield "address", f"unknown address keys {sorted(extra)}"


def _address_lines(lines: object) -> list[str] | None:
    """An address's lines: a list of one or two strings, else None."""
    if isinstance(lines, list) and 1 <= len(lines) <= 2 and all(isinstance(x, str) for x in lines):
        return lines
    return None


def _jsonl_records(text: TextIO, report: list[tuple[int, str, str]]) -> Iterator[tuple[int, dict[str, str]]]:
    for line, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            report.append((line, "", f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(obj, dict):
            report.append((line, "", "each line must be a JSON object"))
            continue
        flat, problems = _flatten(obj)
        report.extend((line, col, msg) for col, msg in problems)
        yield line, flat


def detect_format(name: str, head: str) -> str:
    """``json`` for .jsonl/.json/.ndjson files or content starting with '{', else ``csv``."""
    lower = name.lower()
    if lower.endswith((".jsonl", ".json", ".ndjson")):
        return "json"
    if lower.endswith(".csv"):
        return "csv"
    return "json" if head.lstrip().startswith("{") else "csv"


def check_text(text: TextIO, name: str, fmt: str) -> FileReport:
    """Check an open text stream; ``name`` is what problems are reported against."""
    found: list[tuple[int, str, str]] = []
    seen: dict[object, int] = {}
    rows = 0
    records = _jsonl_records(text, found) if fmt == "json" else _csv_records(text, found)
    for line, rec in records:
        rows += 1
        if "mpan" not in rec:
            found.append((line, "mpan", "no MPAN"))
            continue
        found.extend((line, col, msg) for col, msg in row_problems(rec))
        mpan = rec["mpan"]
        # 13-digit keys are held as ints: a million of them then take a third of the memory.
        key = int(mpan) if len(mpan) == 13 and mpan.isascii() and mpan.isdigit() else mpan
        first = seen.setdefault(key, line)
        if first != line:
            found.append((line, "mpan", f"MPAN {mpan} on line {line} duplicates line {first}"))
    problems = tuple(Problem(name, line, 0, col, msg) for line, col, msg in found)
    return FileReport(rows, problems)


def check_file(path: str, fmt: str | None = None) -> FileReport:
    """Check a CSV or JSON Lines file of metering points."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            head = fh.read(4096)
            fh.seek(0)
            return check_text(fh, path, fmt or detect_format(path, head))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read data file {path}: {exc}") from None


def check_string(content: str, name: str = "<string>", fmt: str | None = None) -> FileReport:
    """Check data held in memory (e.g. read from standard input)."""
    return check_text(io.StringIO(content, newline=""), name, fmt or detect_format(name, content))
