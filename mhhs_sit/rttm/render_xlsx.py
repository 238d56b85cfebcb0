"""The RTTM as a real workbook: the matrix (header frozen, filters on, statuses coloured), a summary
with coverage by stage and theme, the cycle's runs, and any requirement ids the catalogue lacks.

Written in openpyxl's write-only mode. Every look a cell can have is registered once as a named
style (so a user can restyle, say, every failed cell at once in Excel); each cell then gets a copy
of that look's style array (``cell._style``, openpyxl's internal index tuple, copied the way the
common copy-a-cell's-style idiom does). Assigning a ``Font``/``PatternFill`` or a style name per
cell instead makes openpyxl hash style objects into the workbook's tables on every assignment,
several times the cost; for thousands of rows that was most of the time.
"""

from __future__ import annotations

import datetime as dt
import math
from copy import copy
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter

from mhhs_sit.results import parse_utc
from mhhs_sit.rttm.model import VERDICTS, Row, Rttm, RunSummary
from mhhs_sit.rttm.render_tabular import NOT_COLLECTED, columns, history_text, link_target, summary

# (fill, text colour): Excel's own Good / Bad / Neutral cell styles, grey for "not executed here",
# violet for a file that could not be collected.
_GOOD = ("C6EFCE", "006100")
_BAD = ("FFC7CE", "9C0006")
_NEUTRAL = ("FFEB9C", "9C5700")
_GREY = ("E7E6E6", "595959")
_VIOLET = ("E4C1F9", "5B2C83")
STATUS_LOOK = {
    "passed": _GOOD,
    "failed": _BAD,
    "broken": _NEUTRAL,
    "skipped": _GREY,
    "not run": _GREY,
    "error": _VIOLET,
}
VERDICT_LOOK = {
    "covered": _GOOD,
    "failing": _BAD,
    "not executed": _NEUTRAL,
    "collection error": _NEUTRAL,
    "uncovered": ("FF9999", "9C0006"),  # stronger than failing: nothing even tries to cover it
}
STRONG_VERDICTS = frozenset({"failing", "uncovered"})  # bold, so they stand out in a long sheet
HEADER_FILL = "1F3864"
DATE_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"
WIDTHS = {
    "Requirement ID": 16,
    "Requirement": 48,
    "Source": 15,
    "Stage": 17,
    "Priority": 8,
    "Roles": 14,
    "Case": 22,
    "Case title": 40,
    "Scenario": 16,
    "Theme": 8,
    "History": 30,
    "Latest run": 17,
    "Evidence": 36,
    "Verdict": 16,
}
COHORT_WIDTH = 11
LINE_HEIGHT = 15.0  # points, one line of 11 pt Calibri
MAX_LINES = 20
A3 = 8  # the page setup's paper size code
COVERAGE_RULE = (
    "A requirement is covered when at least one case tracing to it was executed",
    "and passed in every cohort where it was executed, taking for each case and",
    "cohort the latest run that reached it.",
)


def _look(name: str) -> str:
    return f"RTTM {name}"


def _register_styles(book: Workbook) -> None:
    """One named style per look (see the module docstring)."""
    # Excel's default vertical alignment (bottom) throughout: top-aligning a tall row's text would
    # mean styling every plain cell too, which costs as much again as all the colours.
    plain = Alignment()
    wrap = Alignment(wrap_text=True)
    centre = Alignment(horizontal="center")

    def add(name: str, **kw: Any) -> None:
        kw.setdefault("alignment", plain)
        kw.setdefault("font", font())
        book.add_named_style(NamedStyle(name=_look(name), **kw))

    def font(**kw: Any) -> Font:
        """The workbook's body font, named: a nameless font is a serif one in LibreOffice."""
        return Font(name="Calibri", family=2, scheme="minor", **{"size": 11, **kw})

    def fill(rgb: str) -> PatternFill:
        return PatternFill("solid", start_color=rgb, end_color=rgb)

    for status, (bg, fg) in STATUS_LOOK.items():
        add(f"status {status}", fill=fill(bg), font=font(color=fg), alignment=centre)
    for verdict, (bg, fg) in VERDICT_LOOK.items():
        add(f"verdict {verdict}", fill=fill(bg), font=font(color=fg, bold=verdict in STRONG_VERDICTS))
    add(
        "header",
        fill=fill(HEADER_FILL),
        font=font(bold=True, color="FFFFFF"),
        alignment=Alignment(wrap_text=True, vertical="center"),
    )
    add("wrap", alignment=wrap)
    add("absent", font=font(color="8C8C8C"), alignment=centre)  # the case is not collected in that cohort
    add("date", number_format=DATE_FORMAT)
    add("link", font=font(color="0563C1", underline="single"))
    add("label", font=font(bold=True))
    add("title", font=font(bold=True, size=14))
    add("heading", font=font(bold=True, size=12))
    add("percent", number_format=PERCENT_FORMAT)
    for name, (bg, fg) in (("good", _GOOD), ("bad", _BAD), ("neutral", _NEUTRAL)):
        add(f"percent {name}", number_format=PERCENT_FORMAT, fill=fill(bg), font=font(color=fg, bold=True))


class _Sheet:
    """A write-only sheet and the looks of its cells: each look's style array is taken once from a
    cell styled through the public API, then copied into every cell that has that look."""

    def __init__(self, book: Workbook, title: str) -> None:
        self.ws = book.create_sheet(title)
        self._arrays: dict[str, Any] = {}

    def cell(self, value: Any, look: str) -> WriteOnlyCell:
        array = self._arrays.get(look)
        if array is None:
            template = WriteOnlyCell(self.ws)
            template.style = _look(look)
            array = self._arrays[look] = template._style
        cell = WriteOnlyCell(self.ws, value=value)
        cell._style = copy(array)
        return cell

    def time(self, text: str | None) -> Any:
        stamp = when(text)
        if stamp is None:
            return text or None  # an unparseable time is still shown, as text
        return self.cell(stamp, "date")

    def link(self, target: str | None) -> Any:
        if not target:
            return None
        href = link_target(target)
        if href is None:
            return target
        cell = self.cell(target, "link")
        cell.hyperlink = href
        return cell

    def header(self, names: list[str]) -> None:
        self.ws.append([self.cell(n, "header") for n in names])

    def widths(self, widths: list[float]) -> None:
        for i, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = width


def when(text: str | None) -> dt.datetime | None:
    """An ISO time as the naive UTC datetime Excel can sort and filter (it has no time zones)."""
    stamp = parse_utc(text)
    return None if stamp is None else stamp.replace(tzinfo=None, microsecond=0)


def _number(text: str) -> int | str:
    """Theme numbers as numbers, so filters sort 2 before 10; any other theme as text."""
    return int(text) if text.isdigit() and len(text) < 10 else text


def _lines(text: str, width: float) -> int:
    """About how many lines ``text`` wraps to in a column ``width`` characters wide (a tenth more for
    the words that do not fit at a line's end): a row gets its height from its longest text, since
    a written file is not re-measured when opened (LibreOffice shows it clipped)."""
    per_line = max(1, int(width))
    return sum(max(1, math.ceil(len(part) * 1.1 / per_line)) for part in text.split("\n"))


def _fit_to_width(ws: Any, landscape: bool) -> None:
    """Printed one page wide, as many pages down as it takes."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _matrix_row(sheet: _Sheet, row: Row, rttm: Rttm) -> tuple[list[Any], int]:
    """The values of ``render_tabular.columns``, typed and styled, and how many lines the row needs."""
    req = row.requirement
    cell = sheet.cell
    history = history_text(row, rttm.cohorts)
    lines = 1

    def text(value: str, column: str) -> Any:
        """Wrapped only when it needs more than a line: most cells then stay plain, which is cheaper."""
        nonlocal lines
        if not value:
            return None
        need = _lines(value, WIDTHS[column])
        if need == 1:
            return value
        lines = max(lines, need)
        return cell(value, "wrap")

    out: list[Any] = [
        req.id,
        text(req.title, "Requirement"),
        req.source,
        req.stage or "any",
        req.priority,
        ", ".join(req.roles) or "all",
        row.case,
        text(row.case_title, "Case title"),
        row.scenario or None,
        _number(row.theme) if row.theme else None,
    ]
    for cohort in rttm.cohorts:
        found = row.cells.get(cohort)
        if row.case is None:
            out.append(None)  # uncovered: no case, so no cohort to speak of
        elif found is None:
            out.append(cell(NOT_COLLECTED, "absent"))  # the case is not collected in that cohort
        else:
            status = found.latest.status
            out.append(cell(status, f"status {status}") if status in STATUS_LOOK else status)
    out += [
        text(history, "History"),
        sheet.time(row.latest_run),
        sheet.link(row.evidence),
        cell(row.verdict, f"verdict {row.verdict}") if row.verdict in VERDICT_LOOK else row.verdict,
    ]
    return out, lines


def _matrix(book: Workbook, rttm: Rttm) -> None:
    sheet = _Sheet(book, "RTTM")
    ws = sheet.ws
    names = columns(rttm)
    sheet.widths([COHORT_WIDTH if n in rttm.cohorts else WIDTHS.get(n, COHORT_WIDTH) for n in names])
    ws.freeze_panes = "C2"  # the header row, and each row's requirement id and title, stay in view
    ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{len(rttm.rows) + 1}"
    ws.print_title_rows = "1:1"
    _fit_to_width(ws, landscape=True)
    ws.page_setup.paperSize = A3  # the matrix is wide: on A4 it prints too small to read
    sheet.header(names)
    for number, row in enumerate(rttm.rows, start=2):
        values, lines = _matrix_row(sheet, row, rttm)
        if lines > 1:  # set before the row is written: write-only rows are final once appended
            ws.row_dimensions[number].height = min(lines, MAX_LINES) * LINE_HEIGHT
        ws.append(values)


def _summary(book: Workbook, rttm: Rttm) -> None:
    sheet = _Sheet(book, "Summary")
    ws, cell = sheet.ws, sheet.cell
    sheet.widths([30, 16, 16, 16])
    _fit_to_width(ws, landscape=False)
    facts = summary(rttm)
    title = "Requirements-to-Test Traceability Matrix" + (f" — cycle {rttm.cycle}" if rttm.cycle else "")
    ws.append([cell(title, "title")])
    ws.append([])
    rows: list[tuple[str, Any]] = [("Cycle", rttm.cycle or "every run in the store")]
    if rttm.participant or rttm.roles:
        rows.append(("Qualification for", rttm.participant or "(roles only)"))
        rows.append(("Roles", ", ".join(rttm.roles) or "all"))
    rows += [
        ("Generated (UTC)", sheet.time(rttm.generated)),
        ("Cohorts", ", ".join(rttm.cohorts) or "—"),
        ("Runs", len(rttm.runs)),
        ("Requirements", facts["requirements"]),
        ("Covered", facts["covered"]),
        ("Coverage", cell(facts["coverage"], "percent") if facts["coverage"] is not None else "n/a"),
    ]
    for verdict in VERDICTS:
        count = facts["by_verdict"][verdict]
        rows.append((f"  {verdict}", cell(count, f"verdict {verdict}") if count else count))
    for label, value in rows:
        ws.append([cell(label, "label"), value])
    for key, heading in (("stage", "Coverage by stage"), ("theme", "Coverage by theme")):
        ws.append([])
        ws.append([cell(heading, "heading")])
        sheet.header([key.capitalize(), "Covered", "Requirements", "Coverage"])
        for name, covered, total in rttm.coverage(key):
            ratio = covered / total if total else 0.0
            tone = "good" if ratio == 1 else "bad" if ratio < 0.5 else "neutral"
            ws.append([name, covered, total, cell(ratio, f"percent {tone}")])
    ws.append([])
    for line in COVERAGE_RULE:  # short lines: a long one is cut off at the printed page's edge
        ws.append([line])


def _run_row(sheet: _Sheet, n: int, r: RunSummary) -> list[Any]:
    return [
        n,
        r.run_id,
        sheet.time(r.started),
        sheet.time(r.finished),
        sheet.cell(r.state, "status failed") if r.state == "interrupted" else r.state,
        r.sprint,
        r.environment,
        r.ir,
        r.results,
        sheet.link(r.evidence),
    ]


def _runs(book: Workbook, rttm: Rttm) -> None:
    sheet = _Sheet(book, "Runs")
    sheet.widths([5, 22, 17, 17, 12, 8, 14, 8, 9, 50])
    sheet.ws.freeze_panes = "A2"
    _fit_to_width(sheet.ws, landscape=True)
    sheet.header(["#", "Run", "Started (UTC)", "Finished (UTC)", "State", "Sprint", "Environment", "IR", "Results",
                  "Evidence"])  # fmt: skip
    for n, r in enumerate(rttm.runs, start=1):
        sheet.ws.append(_run_row(sheet, n, r))


def _unknown(book: Workbook, rttm: Rttm) -> None:
    if not rttm.unknown_requirements:
        return
    sheet = _Sheet(book, "Unknown requirements")
    sheet.widths([20, 30])
    sheet.ws.freeze_panes = "A2"
    sheet.header(["Requirement ID", "Referenced by case"])
    for rid, case in rttm.unknown_requirements:
        sheet.ws.append([rid, case])


def write_xlsx(rttm: Rttm, path: Path) -> Path:
    """Summary first (what a reviewer opens the workbook for), then the matrix, the runs, the unknown ids."""
    book = Workbook(write_only=True)
    _register_styles(book)
    _summary(book, rttm)
    _matrix(book, rttm)
    _runs(book, rttm)
    _unknown(book, rttm)
    book.save(path)
    return path
