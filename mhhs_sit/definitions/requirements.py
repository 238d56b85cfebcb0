"""The requirements catalogue: what the programme requires, that scenarios trace to.

Kept in ``test_data/requirements/`` as YAML, CSV or an ``.xlsx`` RTTM workbook; loaded once and
used by validation (an unknown requirement id in a scenario is an error at its file:line) and by
the RTTM (every requirement gets a row, covered or not).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, load_yaml
from mhhs_sit.definitions.model import STAGES
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.definitions.schemas import ROLES
from mhhs_sit.errors import Problem

if TYPE_CHECKING:
    from mhhs_sit.definitions.model import Scenario

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
MOSCOW = {"must": 1, "must have": 1, "m": 1, "should": 2, "should have": 2, "s": 2, "could": 3, "could have": 3}
MOSCOW.update({"c": 3, "won't": 4, "wont": 4, "won't have": 4, "would": 4, "w": 4})
_SOURCE_ALIASES = {"bp": "business process", "if": "interface", "nfr": "non-functional", "nf": "non-functional"}
_SOURCE_ALIASES.update({"business-process": "business process", "non functional": "non-functional"})
# Stages as workbooks spell them, once spaces and underscores have become hyphens.
_STAGE_ALIASES = {"qt": "qualification", "qualification-testing": "qualification", "any": "", "all": ""}


def _any_case(word: str) -> str:
    """A regex for ``word`` in any case, its spaces, hyphens and underscores as the loader folds them."""
    parts = re.split(r"[\s_-]+", word)
    return r"(?:[\s_]+|-)".join(
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in p) for p in parts
    )


def _words(words: Iterable[str], *, canonical: Iterable[str]) -> dict[str, object]:
    """The canonical spellings for completion, and any spelling the loader reads as one of ``words``."""
    pattern = r"^\s*(?:" + "|".join(_any_case(w) for w in dict.fromkeys(words)) + r")?\s*$"
    return {"anyOf": [{"enum": list(canonical)}, {"type": "string", "pattern": pattern}, {"type": "null"}]}


def file_schema() -> dict[str, object]:
    """The JSON Schema of a YAML catalogue file, from the values the loader reads (FIELDS, SOURCES,
    STAGES, MOSCOW, ROLES and their aliases): an editor flags what loading would report."""
    tokens = "|".join(_any_case(role) for role in (*ROLES, "all"))
    priorities = [*(str(n) for n in range(1, 5)), *(f"P{n}" for n in range(1, 5)), *MOSCOW]
    fields: dict[str, object] = {
        "id": {"type": ["string", "integer"], "pattern": r"^\S+$", "description": "e.g. BP003, IF-031, E2E1009"},
        "title": {"type": ["string", "number", "null"]},
        "source": _words([*SOURCES, *_SOURCE_ALIASES], canonical=SOURCES),
        "stage": _words([*STAGES, *_STAGE_ALIASES], canonical=STAGES),
        "priority": {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 4},
                _words(priorities, canonical=("Must", "Should", "Could", "Won't")),
            ]
        },
        "roles": {
            "anyOf": [
                {"type": "null"},
                {"type": "array", "items": {"type": "string", "pattern": rf"^\s*(?:{tokens})\s*$"}},
                {"type": "string", "pattern": rf"^[\s,;/]*(?:(?:{tokens})[\s,;/]*)*$"},
            ]
        },
    }
    properties = {name: fields[name] for name in FIELDS}  # a field the loader reads has its shape here
    requirement = {"type": "object", "required": ["id"], "additionalProperties": False, "properties": properties}
    listing = {"type": "array", "items": requirement}
    return {
        "anyOf": [{"type": "object", "required": ["requirements"], "properties": {"requirements": listing}}, listing],
    }


@dataclass(frozen=True)
class Row:
    """One requirement's raw fields and where they were read (``sheet`` only for workbooks)."""

    line: int
    fields: dict[str, object]
    sheet: str = ""


def catalogue_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and not p.name.startswith(("~$", ".")))


def catalogue_fingerprint(path: Path) -> str:
    """Changes when any catalogue file changes (names, sizes, modification times): a cheap cache key."""
    parts = []
    for f in catalogue_files(path):
        st = f.stat()
        parts.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


@dataclass
class Catalogue:
    """What a catalogue read found: its requirements, its problems, and which ids came from flawed rows."""

    requirements: dict[str, Requirement] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    flawed: set[str] = field(default_factory=set)  # read, but a field of their row was reported and left out


def load_requirements(
    path: Path, root: Path | None = None, *, sheet: str | None = None
) -> tuple[dict[str, Requirement], list[Problem]]:
    """Every requirement in ``path`` (a file or a directory of them), and every problem found.

    A missing path is an empty catalogue, not an error: a project without one still runs, it just
    cannot have its requirement ids checked. ``sheet`` limits workbooks to that worksheet.
    """
    catalogue = read_catalogue(path, root, sheet=sheet)
    return catalogue.requirements, catalogue.problems


def read_catalogue(path: Path, root: Path | None = None, *, sheet: str | None = None) -> Catalogue:
    """As ``load_requirements``, also saying which requirements had a problem in their row (for import)."""
    catalogue = Catalogue()
    found, problems = catalogue.requirements, catalogue.problems
    for file in catalogue_files(path):
        display = _display(file, root)
        for row in _read(file, display, problems, sheet):
            before = len(problems)
            req = _requirement(row, display, problems)
            if req is None:
                continue
            first = found.get(req.id)
            if first is not None:
                problems.append(
                    Problem(
                        display,
                        row.line,
                        0,
                        "id",
                        f"{_where(row)}duplicate requirement id {req.id}: also at {first.location}; ids must be "
                        "unique across every catalogue file, so remove or renumber one",
                    )
                )
                continue
            found[req.id] = req
            if len(problems) > before:
                catalogue.flawed.add(req.id)
    return catalogue


def _display(file: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return file.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(file)


def _where(row: Row) -> str:
    """The message prefix that names a workbook's sheet (file:line alone does not)."""
    return f"sheet '{row.sheet}': " if row.sheet else ""


def _read(file: Path, display: str, problems: list[Problem], sheet: str | None) -> list[Row]:
    suffix = file.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _read_yaml(file, display, problems)
    if suffix == ".xlsx":
        return _read_xlsx(file, display, problems, sheet)
    return _read_csv(file, display, problems)


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
    return [row for i, raw in enumerate(items) if (row := _yaml_row(doc, i, raw, problems)) is not None]


def _yaml_row(doc: YamlDoc, i: int, raw: object, problems: list[Problem]) -> Row | None:
    if not isinstance(raw, dict):
        problems.append(doc.problem(["requirements", i], "each requirement is a mapping with id, title, ..."))
        return None
    for key in (k for k in raw if k not in FIELDS):
        problems.append(
            doc.problem(
                ["requirements", i, key],
                f"unknown field '{key}'{suggest(str(key), FIELDS)}; fields are {', '.join(FIELDS)}",
                key=True,
            )
        )
    line, _ = doc.line_of(raw)
    return Row(line, {k: v for k, v in raw.items() if k in FIELDS})


def _field_of(heading: object) -> str | None:
    text = " ".join(str(heading or "").replace("\n", " ").split()).lower().rstrip(":*")
    for name, options in HEADINGS.items():
        if text in options:
            return name
    return None


def _columns(cells: Sequence[object]) -> dict[int, str]:
    """Column index -> field, for every cell of a row that is a known heading."""
    columns: dict[int, str] = {}
    for index, heading in enumerate(cells):
        name = _field_of(heading)
        if name is not None and name not in columns.values():
            columns[index] = name
    return columns


def _is_header(columns: dict[int, str]) -> bool:
    return "id" in columns.values() and len(columns) >= 2


@dataclass
class _Table:
    """The rows below a table's header; ``near`` is a header-like row lacking an id column."""

    rows: list[Row] | None = None
    near: tuple[int, list[str]] | None = None


def _table(numbered: Iterable[tuple[int, Sequence[object]]], sheet: str = "") -> _Table:
    """Find the header (below any title block) and read the rows under it, skipping blank ones."""
    table = _Table()
    columns: dict[int, str] = {}
    for number, cells in numbered:
        if table.rows is None:
            columns = _columns(cells)
            _header_or_near(table, number, columns)
        elif not _skipped(cells):
            fields = {name: cells[i] if i < len(cells) else None for i, name in columns.items()}
            table.rows.append(Row(number, fields, sheet))
    return table


def _header_or_near(table: _Table, number: int, columns: dict[int, str]) -> None:
    if _is_header(columns):
        table.rows = []
    elif len(columns) >= 2 and table.near is None:
        table.near = (number, list(columns.values()))


def _skipped(cells: Sequence[object]) -> bool:
    """Blank, or the header repeated (exports repeat it on every printed page)."""
    return all(c is None or str(c).strip() == "" for c in cells) or _is_header(_columns(cells))


def _no_header(display: str, table: _Table, where: str) -> Problem:
    if table.near is not None:
        line, names = table.near
        return Problem(
            display,
            line,
            0,
            "id",
            f"{where}this header names {', '.join(names)} but no requirement id column: add a column "
            "'id' (or 'Requirement ID')",
        )
    return Problem(
        display,
        0,
        0,
        "",
        f"{where}no header row: a row naming at least 'Requirement ID' (or 'id') and one of "
        f"{', '.join(f for f in FIELDS if f != 'id')} is needed",
    )


def _read_csv(file: Path, display: str, problems: list[Problem]) -> list[Row]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, 0, 0, "", f"cannot read file: {exc} (save it as UTF-8 CSV)"))
        return []
    try:
        table = _table(enumerate(csv.reader(io.StringIO(text)), start=1))
    except csv.Error as exc:
        problems.append(Problem(display, 0, 0, "", f"not a readable CSV: {exc}"))
        return []
    if table.rows is None:
        problems.append(_no_header(display, table, ""))
        return []
    return table.rows


def _read_xlsx(file: Path, display: str, problems: list[Problem], sheet: str | None = None) -> list[Row]:
    """Every sheet with a requirements table (or only ``sheet``); cover and notes sheets are skipped."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException ... for non-workbooks
        problems.append(
            Problem(display, 0, 0, "", f"not an .xlsx workbook openpyxl can read ({exc}); save it from Excel as .xlsx")
        )
        return []
    try:
        sheets = _chosen_sheets(book.worksheets, sheet, display, problems)
        rows: list[Row] = []
        tables = 0
        for ws in sheets:
            ws.reset_dimensions()  # some writers record a wrong used range; read what is really there
            table = _table(enumerate(ws.iter_rows(values_only=True), start=1), ws.title)
            if table.rows is None:
                if sheet is not None:
                    problems.append(_no_header(display, table, f"sheet '{ws.title}': "))
                continue
            tables += 1
            rows += table.rows
        if sheet is None and tables == 0:
            problems.append(
                Problem(
                    display,
                    0,
                    0,
                    "",
                    "no sheet has a requirements table: a header row naming 'Requirement ID' and e.g. "
                    "'Requirement', 'Test Stage', 'Priority', 'Role' is needed",
                )
            )
    finally:
        book.close()
    return rows


def _chosen_sheets(sheets: list[Any], wanted: str | None, display: str, problems: list[Problem]) -> list[Any]:
    if wanted is None:
        return sheets
    titles = [ws.title for ws in sheets]
    chosen = [ws for ws in sheets if ws.title == wanted] or [ws for ws in sheets if ws.title.lower() == wanted.lower()]
    if not chosen:
        problems.append(
            Problem(
                display,
                0,
                0,
                "",
                f"no sheet '{wanted}'{suggest(wanted, titles)}; the sheets are {', '.join(titles)}",
            )
        )
    return chosen[:1]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _priority(text: str) -> int | None:
    """1-4 from a number, ``P2``, or a MoSCoW word; None when it is none of them."""
    moscow = MOSCOW.get(text.lower())
    if moscow is not None:
        return moscow
    digits = text[1:] if text[:1] in "pP" else text
    return int(digits) if digits.isdigit() and 1 <= int(digits) <= 4 else None


def _role_names(value: object) -> tuple[str, ...]:
    names = [_text(r) for r in value] if isinstance(value, list) else [_text(value)]
    split = [n for name in names for part in name.replace(";", ",").replace("/", ",").split(",") for n in part.split()]
    return tuple(dict.fromkeys(n.upper() for n in split if n and n.lower() != "all"))


Complain = Callable[[str, str], None]  # (field, sentence): a bad field of the row being read


def _requirement(row: Row, display: str, problems: list[Problem]) -> Requirement | None:
    """A requirement from one row; each bad field is a problem at the row, the rest is still read."""
    raw = row.fields

    def bad(field_name: str, message: str) -> None:
        problems.append(Problem(display, row.line, 0, field_name, _where(row) + message))

    rid = _text(raw.get("id"))
    if not rid:
        bad("id", "a requirement needs an id (e.g. BP003, IF-031, E2E1009): fill it in or delete the row")
        return None
    if any(ch.isspace() for ch in rid):
        bad("id", f"requirement id {rid!r} contains spaces; ids are single tokens such as BP003 or IF-031")
        return None
    source = _source_of(rid, raw.get("source"), bad)  # in this order: the problems read left to right
    stage = _stage_of(rid, raw.get("stage"), bad)
    priority = _priority_of(rid, raw.get("priority"), bad)
    roles = _roles_of(rid, raw.get("roles"), bad)
    return Requirement(
        id=rid,
        title=_text(raw.get("title")),
        source=source,
        stage=stage,
        priority=priority,
        roles=tuple(r for r in roles if r in ROLES),
        location=f"{display}:{row.line}" + (f" (sheet '{row.sheet}')" if row.sheet else ""),
    )


def _source_of(rid: str, value: object, bad: Complain) -> str:
    source = _text(value).lower()
    source = _SOURCE_ALIASES.get(source, source) or "other"
    if source not in SOURCES:
        bad("source", f"{rid}: unknown source {source!r}{suggest(source, SOURCES)}; one of {', '.join(SOURCES)}")
    return source


def _stage_of(rid: str, value: object, bad: Complain) -> str:
    stage = "-".join(_text(value).lower().replace("_", " ").split())
    stage = _STAGE_ALIASES.get(stage, stage)
    if stage and stage not in STAGES:
        bad("stage", f"{rid}: unknown stage {stage!r}{suggest(stage, STAGES)}; one of {', '.join(STAGES)} or empty")
    return stage


def _priority_of(rid: str, value: object, bad: Complain) -> int | None:
    text = _text(value)
    priority = _priority(text) if text else None
    if text and priority is None:
        bad("priority", f"{rid}: priority {text!r} is not 1-4 or Must/Should/Could/Won't")
    return priority


def _roles_of(rid: str, value: object, bad: Complain) -> tuple[str, ...]:
    roles = _role_names(value)
    for role in roles:
        if role not in ROLES:
            bad("roles", f"{rid}: unknown role {role!r}{suggest(role, ROLES)}; role codes are {', '.join(ROLES)}")
    return roles


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
    place = _catalogue_place(known.values())
    return [
        doc.problem(
            path,
            f"unknown requirement {rid}{suggest(rid, known)}: add it to the requirements catalogue{place} "
            "or correct the id",
        )
        for path, rid in misses
    ]


def _catalogue_place(requirements: Iterable[Requirement]) -> str:
    """`` (its file or directory)``, from where the requirements were read, to say where to add one."""
    files = {re.sub(r":\d+( \(sheet .*\))?$", "", r.location) for r in requirements if r.location}
    if len(files) == 1:
        return f" ({files.pop()})"
    try:
        common = os.path.commonpath(sorted(files))
    except ValueError:  # relative and absolute paths mixed
        return ""
    return f" ({common}/)" if common.strip("/\\") else ""
