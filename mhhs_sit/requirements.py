"""The requirements catalogue: what the programme requires, that scenarios trace to.

Kept in ``test_data/requirements/`` as YAML, CSV or an ``.xlsx`` RTTM workbook; loaded once and
used by validation (an unknown requirement id in a scenario is an error at its file:line) and by
the RTTM (every requirement gets a row, covered or not).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mhhs_sit.errors import Problem
from mhhs_sit.file_schemas import ROLES
from mhhs_sit.loader import suggest
from mhhs_sit.model import STAGES
from mhhs_sit.yamlsrc import PathPart, load_yaml

if TYPE_CHECKING:
    from mhhs_sit.model import Scenario

SOURCES = ("business process", "interface", "non-functional", "design", "other")


@dataclass(frozen=True)
class Requirement:
    id: str  # e.g. BP003, IF-031, E2E1009
    title: str
    source: str  # one of SOURCES
    stage: str  # a scenario stage (sit-functional, ..., qualification) or "" when any
    priority: int | None  # 1 (highest) .. 4, None when unset
    roles: tuple[str, ...]  # role codes it applies to (SUP, LDSO, ...); () = every role
    location: str = ""  # file:line it was read from

    def applies_to(self, roles: frozenset[str] | set[str]) -> bool:
        return not self.roles or bool(roles & set(self.roles))


# -- loading -------------------------------------------------------------------------------------

FIELDS = ("id", "title", "source", "stage", "priority", "roles")
SUFFIXES = (".yaml", ".yml", ".csv", ".xlsx")
# Column headings seen in RTTM workbooks and spreadsheets, per field (compared lower-case, trimmed).
HEADINGS: dict[str, tuple[str, ...]] = {
    "id": ("id", "requirement id", "requirement reference", "requirement ref", "req id", "req ref", "reference"),
    "title": ("title", "requirement", "requirement description", "requirement text", "description", "name"),
    "source": ("source", "requirement source", "type", "requirement type", "category"),
    "stage": ("stage", "test stage", "testing stage", "phase"),
    "priority": ("priority", "moscow", "moscow priority"),
    "roles": ("roles", "role", "applicable roles", "participant role", "market role", "market roles"),
}
MOSCOW = {"must": 1, "must have": 1, "should": 2, "should have": 2, "could": 3, "could have": 3}
MOSCOW.update({"won't": 4, "wont": 4, "won't have": 4, "would": 4})
_SOURCE_ALIASES = {"bp": "business process", "if": "interface", "nfr": "non-functional", "nf": "non-functional"}
_STAGE_ALIASES = {
    "sit functional": "sit-functional",
    "sit migration": "sit-migration",
    "sit non-functional": "sit-non-functional",
    "sit operational": "sit-operational",
    "qt": "qualification",
    "qualification testing": "qualification",
    "any": "",
}


def catalogue_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and not p.name.startswith(("~$", ".")))


def catalogue_fingerprint(path: Path) -> str:
    """Changes when any catalogue file changes (names, sizes, modification times)."""
    parts = []
    for f in catalogue_files(path):
        st = f.stat()
        parts.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def load_requirements(path: Path, root: Path | None = None) -> tuple[dict[str, Requirement], list[Problem]]:
    """Every requirement in ``path`` (a file or a directory of them), and every problem found.

    A missing path is an empty catalogue, not an error: a project without one still runs, it just
    cannot have its requirement ids checked.
    """
    found: dict[str, Requirement] = {}
    problems: list[Problem] = []
    for file in catalogue_files(path):
        display = _display(file, root)
        reader = _read_yaml if file.suffix.lower() in (".yaml", ".yml") else _read_csv
        if file.suffix.lower() == ".xlsx":
            reader = _read_xlsx
        for line, raw in reader(file, display, problems):
            req = _requirement(raw, f"{display}:{line}", display, line, problems)
            if req is None:
                continue
            if req.id in found:
                problems.append(
                    Problem(
                        display, line, 0, "id", f"duplicate requirement id {req.id}: also at {found[req.id].location}"
                    )
                )
                continue
            found[req.id] = req
    return found, problems


def _display(file: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return file.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(file)


Row = tuple[int, dict[str, Any]]  # (line or row number, field -> raw value)


def _read_yaml(file: Path, display: str, problems: list[Problem]) -> list[Row]:
    doc = load_yaml(file, display=display)
    problems += doc.problems
    if doc.problems:
        return []
    data = doc.data
    items = data.get("requirements") if isinstance(data, dict) else data
    if not isinstance(items, list):
        problems.append(Problem(display, 1, 1, "requirements", "expected a 'requirements:' list of mappings"))
        return []
    rows: list[Row] = []
    for i, raw in enumerate(items):
        if not isinstance(raw, dict):
            problems.append(doc.problem(["requirements", i], "each requirement is a mapping with id, title, ..."))
            continue
        unknown = [k for k in raw if k not in FIELDS]
        for key in unknown:
            problems.append(
                doc.problem(["requirements", i, key], f"unknown field '{key}'{suggest(str(key), FIELDS)}", key=True)
            )
        line, _ = doc.line_of(raw)
        rows.append((line, {k: v for k, v in raw.items() if k in FIELDS}))
    return rows


def _field_of(heading: Any) -> str | None:
    text = " ".join(str(heading or "").replace("\n", " ").split()).lower().rstrip(":*")
    for name, options in HEADINGS.items():
        if text in options:
            return name
    return None


def _header(cells: list[Any]) -> dict[int, str] | None:
    """Column index -> field, when this row is a header (it names at least id and one more)."""
    columns: dict[int, str] = {}
    for index, heading in enumerate(cells):
        name = _field_of(heading)
        if name is not None and name not in columns.values():
            columns[index] = name
    return columns if "id" in columns.values() and len(columns) >= 2 else None


def _table_rows(rows: Iterable[tuple[int, list[Any]]], display: str, where: str, problems: list[Problem]) -> list[Row]:
    columns: dict[int, str] | None = None
    out: list[Row] = []
    for number, cells in rows:
        if columns is None:
            columns = _header(cells)
            continue
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        out.append((number, {name: cells[i] if i < len(cells) else None for i, name in columns.items()}))
    if columns is None:
        problems.append(
            Problem(
                display,
                0,
                0,
                "",
                f"no header row{where}: a row naming at least 'Requirement ID' (or 'id') and one of "
                f"{', '.join(sorted(HEADINGS))} is needed",
            )
        )
    return out


def _read_csv(file: Path, display: str, problems: list[Problem]) -> list[Row]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, 0, 0, "", f"cannot read file: {exc} (save it as UTF-8 CSV)"))
        return []
    numbered = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)]
    return _table_rows(((n, list(r)) for n, r in numbered), display, "", problems)


def _read_xlsx(file: Path, display: str, problems: list[Problem]) -> list[Row]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException ... for non-workbooks
        problems.append(Problem(display, 0, 0, "", f"not an .xlsx workbook openpyxl can read: {exc}"))
        return []
    rows: list[Row] = []
    try:
        for sheet in book.worksheets:
            sheet_rows = ((n, list(r)) for n, r in enumerate(sheet.iter_rows(values_only=True), start=1))
            sheet_problems: list[Problem] = []
            found = _table_rows(sheet_rows, f"{display} [{sheet.title}]", f" in sheet '{sheet.title}'", sheet_problems)
            rows += found
        if not rows:
            problems.append(
                Problem(
                    display,
                    0,
                    0,
                    "",
                    "no sheet has a requirements table: a header row naming 'Requirement ID' and e.g. 'Requirement', "
                    "'Test Stage', 'Priority', 'Role' is needed",
                )
            )
    finally:
        book.close()
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _requirement(
    raw: dict[str, Any], location: str, display: str, line: int, problems: list[Problem]
) -> Requirement | None:
    def bad(field_name: str, message: str) -> None:
        problems.append(Problem(display, line, 0, field_name, message))

    rid = _text(raw.get("id"))
    if not rid:
        bad("id", "a requirement needs an id (e.g. BP003, IF-031, E2E1009)")
        return None
    if any(ch.isspace() for ch in rid):
        bad("id", f"requirement id {rid!r} contains spaces; ids are single tokens such as BP003 or IF-031")
        return None
    source = _text(raw.get("source")).lower()
    source = _SOURCE_ALIASES.get(source, source) or "other"
    if source not in SOURCES:
        bad("source", f"{rid}: unknown source {source!r}{suggest(source, SOURCES)}; one of {', '.join(SOURCES)}")
    stage = _text(raw.get("stage")).lower()
    stage = _STAGE_ALIASES.get(stage, stage)
    if stage and stage not in STAGES:
        bad("stage", f"{rid}: unknown stage {stage!r}{suggest(stage, STAGES)}; one of {', '.join(STAGES)} or empty")
    priority_text = _text(raw.get("priority"))
    priority: int | None = None
    if priority_text:
        moscow = MOSCOW.get(priority_text.lower())
        if moscow is not None:
            priority = moscow
        elif priority_text.isdigit() and 1 <= int(priority_text) <= 4:
            priority = int(priority_text)
        else:
            bad("priority", f"{rid}: priority {priority_text!r} is not 1-4 or Must/Should/Could/Won't")
    value = raw.get("roles")
    names = [str(r) for r in value] if isinstance(value, list) else _text(value).replace(";", ",").replace("/", ",")
    if isinstance(names, str):
        names = [n for part in names.split(",") for n in part.split()]
    roles = tuple(dict.fromkeys(n.strip().upper() for n in names if n.strip() and n.strip().lower() != "all"))
    for role in roles:
        if role not in ROLES:
            bad("roles", f"{rid}: unknown role {role!r}{suggest(role, ROLES)}; role codes are {', '.join(ROLES)}")
    return Requirement(
        id=rid,
        title=_text(raw.get("title")),
        source=source,
        stage=stage,
        priority=priority,
        roles=tuple(r for r in roles if r in ROLES),
        location=location,
    )


# -- scenarios' references ------------------------------------------------------------------------


def unknown_references(scenario: Scenario, known: Mapping[str, Requirement], file: Path) -> list[Problem]:
    """A problem at the exact list entry for every requirement id the catalogue does not have.

    The happy path is set lookups on the loaded model; only when an id is unknown is the file
    parsed again, to place the problem at its line and column.
    """
    misses: list[tuple[list[PathPart], str]] = []
    for i, rid in enumerate(scenario.requirements):
        if rid not in known:
            misses.append((["requirements", i], rid))
    for c, case in enumerate(scenario.cases):
        for i, rid in enumerate(case.requirements):
            if rid not in known:
                misses.append((["cases", c, "requirements", i], rid))
    if not misses:
        return []
    doc = load_yaml(file, display=scenario.location.file)
    return [
        doc.problem(
            path,
            f"unknown requirement {rid}{suggest(rid, known)}: add it to the requirements catalogue "
            "(test_data/requirements/) or correct the id",
        )
        for path, rid in misses
    ]
