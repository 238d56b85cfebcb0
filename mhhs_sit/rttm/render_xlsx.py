"""The RTTM as a real workbook: the matrix (header frozen, filters on, statuses coloured), a summary
with coverage by stage and theme, the cycle's runs, and any requirement ids the catalogue lacks.

Written with XlsxWriter: each look a cell can have is one format, made once per workbook. (The
workbook was first written with openpyxl, whose per-cell work made the RTTM of 100,000 results
take over 5 s; XlsxWriter writes the same workbook several times faster. Excel named styles, which
openpyxl could add, are the one thing given up.)
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.url import Url
from xlsxwriter.worksheet import Worksheet

from mhhs_sit.results.outcome import Status
from mhhs_sit.results.run import parse_utc
from mhhs_sit.rttm.model import UNLOADED, Row, Rttm, RunSummary
from mhhs_sit.rttm.render_tabular import (
    NOT_COLLECTED,
    Headline,
    PerCase,
    columns,
    denominator_line,
    headline,
    history_texts,
    link_target,
    reliance_text,
)

# (fill, text colour): Excel's own Good / Bad / Neutral cell styles, grey for "not executed here",
# violet for a definition error (the test file is wrong).
_GOOD = ("C6EFCE", "006100")
_BAD = ("FFC7CE", "9C0006")
_NEUTRAL = ("FFEB9C", "9C5700")
_GREY = ("E7E6E6", "595959")
_VIOLET = ("E4C1F9", "5B2C83")
STATUS_LOOK = {
    Status.PASSED: _GOOD,
    Status.FAILED: _BAD,
    Status.BROKEN: _NEUTRAL,
    Status.DEFINITION_ERROR: _VIOLET,  # the test file is wrong: found at run time, or the file could not be loaded
    Status.SKIPPED: _GREY,
    Status.NOT_RUN: _GREY,
}
VERDICT_LOOK = {
    "covered": _GOOD,
    "covered by reliance": ("DDEBF7", "1F4E78"),  # blue: covered, but by earlier evidence, not a case here
    "failing": _BAD,
    "not executed": _NEUTRAL,
    UNLOADED: _NEUTRAL,
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
    "Qualification stage": 12,
    "Reliance": 60,
}
COHORT_WIDTH = 11
LINE_HEIGHT = 15.0  # points, one line of 11 pt Calibri
MAX_LINES = 20
A3 = 8  # the page setup's paper size code
MAX_LINKS = 65_000  # Excel keeps at most 65,530 hyperlinks a sheet: later evidence is plain text
COVERAGE_RULE = (
    "A requirement is covered when at least one case tracing to it was executed",
    "and passed in every cohort where it was executed, taking for each case and",
    "cohort the latest run that reached it.",
)


Cell = tuple[object, str | None]  # a value and the name of its look (None: plain)


def _formats(book: xlsxwriter.Workbook) -> dict[str, Format]:
    """One format per look, made once."""
    looks: dict[str, dict[str, object]] = {}

    def add(name: str, **kw: object) -> None:
        looks[name] = {"font_name": "Calibri", "font_size": 11, **kw}

    def colours(bg: str, fg: str) -> dict[str, object]:
        return {"pattern": 1, "bg_color": f"#{bg}", "font_color": f"#{fg}"}

    for status, (bg, fg) in STATUS_LOOK.items():
        add(f"status {status}", align="center", **colours(bg, fg))
    for verdict, (bg, fg) in VERDICT_LOOK.items():
        add(f"verdict {verdict}", bold=verdict in STRONG_VERDICTS, **colours(bg, fg))
    add("header", bold=True, font_color="#FFFFFF", pattern=1, bg_color=f"#{HEADER_FILL}", text_wrap=True,
        valign="vcenter")  # fmt: skip
    add("wrap", text_wrap=True)
    add("absent", font_color="#8C8C8C", align="center")  # the case is not collected in that cohort
    add("date", num_format=DATE_FORMAT)
    add("link", font_color="#0563C1", underline=1)
    add("label", bold=True)
    add("title", bold=True, font_size=14)
    add("heading", bold=True, font_size=12)
    add("percent", num_format=PERCENT_FORMAT)
    for name, (bg, fg) in (("good", _GOOD), ("bad", _BAD), ("neutral", _NEUTRAL)):
        add(f"percent {name}", num_format=PERCENT_FORMAT, bold=True, **colours(bg, fg))
    return {name: book.add_format(kw) for name, kw in looks.items()}


class _Sheet:
    """A worksheet written row by row; cells are plain values or (value, look) pairs."""

    def __init__(
        self, book: xlsxwriter.Workbook, title: str, formats: dict[str, Format], links_from: str | None = None
    ) -> None:
        self.ws: Worksheet = book.add_worksheet(title)
        self.formats = formats
        self.links_from = links_from  # evidence links are relative to the workbook's directory
        self.row = 0
        self.links = 0
        self.times: dict[str | None, object] = {}  # a cycle's rows share a handful of run times

    @staticmethod
    def cell(value: object, look: str) -> Cell:
        return (value, look)

    def time(self, text: str | None) -> object:
        found = self.times.get(text)
        if found is None:
            serial = excel_serial(when(text))
            # an unparseable time is still shown, as text
            found = self.times[text] = (text or None) if serial is None else (serial, "date")
        return found

    def link(self, target: str | None) -> object:
        if not target:
            return None
        href = link_target(target, self.links_from)
        if href is None or self.links >= MAX_LINKS:
            return target
        self.links += 1
        return (_Link(href, target), "link")

    def append(self, values: list[object]) -> None:
        ws, formats, r = self.ws, self.formats, self.row
        for c, value in enumerate(values):
            look = None
            if isinstance(value, tuple):
                value, look = value
            fmt = formats[look] if look else None
            if value is None:
                if fmt is not None:
                    ws.write_blank(r, c, None, fmt)
            elif isinstance(value, _Link):
                ws.write_url(r, c, _url(value.href, value.text), fmt, string=value.text)
            elif isinstance(value, str):
                ws.write_string(r, c, value, fmt)
            elif isinstance(value, bool | int | float):
                ws.write_number(r, c, value, fmt)
            else:
                ws.write(r, c, value, fmt)
        self.row += 1

    def header(self, names: list[str]) -> None:
        self.append([(n, "header") for n in names])

    def widths(self, widths: list[float]) -> None:
        for i, width in enumerate(widths):
            self.ws.set_column(i, i, width)


def _url(href: str, text: str) -> object:
    """A hyperlink XlsxWriter writes as given: it turns every ``file:`` URI into a Windows path
    (``/srv/x`` became the relative ``srv\\x``), so a POSIX file link is passed as a plain URL."""
    if "://" not in href:  # relative: written as the workbook's relationship target, as Excel does
        relative = Url("https://placeholder")
        relative._link = relative._relationship_link = href
        relative._text = text
        return relative
    if not href.startswith("file:///") or href[8:10].endswith(":"):
        return href
    url = Url("https://placeholder")  # parsed as a URL, then pointed at the file URI unchanged
    url._link = url._relationship_link = href  # the URI from Path.as_uri() is already escaped
    url._text = text
    return url


class _Link:
    __slots__ = ("href", "text")

    def __init__(self, href: str, text: str) -> None:
        self.href = href
        self.text = text


def when(text: str | None) -> dt.datetime | None:
    """An ISO time as the naive UTC datetime Excel can sort and filter (it has no time zones)."""
    stamp = parse_utc(text)
    return None if stamp is None else stamp.replace(tzinfo=None, microsecond=0)


_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of Excel's 1900 date system, for any date after 1900-02-28


def excel_serial(stamp: dt.datetime | None) -> float | None:
    """The number Excel stores for a date and time, written with a date format: the same cell
    XlsxWriter's ``write_datetime`` makes, at a fraction of its cost per cell."""
    if stamp is None:
        return None
    delta = stamp - _EXCEL_EPOCH
    return delta.days + delta.seconds / 86_400


def _number(text: str) -> int | str:
    """Theme numbers as numbers, so filters sort 2 before 10; any other theme as text."""
    return int(text) if text.isdigit() and len(text) < 10 else text


def _lines(text: str, width: float) -> int:
    """About how many lines ``text`` wraps to in a column ``width`` characters wide (a tenth more for
    the words that do not fit at a line's end): a row gets its height from its longest text, since
    a written file is not re-measured when opened (LibreOffice shows it clipped)."""
    per_line = max(1, int(width))
    return sum(max(1, math.ceil(len(part) * 1.1 / per_line)) for part in text.split("\n"))


def _fit_to_width(ws: Worksheet, landscape: bool) -> None:
    """Printed one page wide, as many pages down as it takes."""
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)


def _matrix_row(sheet: _Sheet, row: Row, rttm: Rttm, histories: PerCase[str]) -> tuple[list[object], int]:
    """The values of ``render_tabular.columns``, typed and styled, and how many lines the row needs."""
    req = row.requirement
    cell = sheet.cell
    history = histories(row)
    lines = 1

    def text(value: str, column: str) -> object:
        """Wrapped only when it needs more than a line: most cells then stay plain, which is cheaper."""
        nonlocal lines
        if not value:
            return None
        need = _lines(value, WIDTHS[column])
        if need == 1:
            return value
        lines = max(lines, need)
        return cell(value, "wrap")

    out: list[object] = [
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
            if found.stale:
                out.append(found.shown)  # plain: history, not a current status
            else:
                out.append(cell(status, f"status {status}") if status in STATUS_LOOK else status)
    out += [
        text(history, "History"),
        sheet.time(row.latest_run),
        sheet.link(row.evidence),
        cell(row.verdict, f"verdict {row.verdict}") if row.verdict in VERDICT_LOOK else row.verdict,
    ]
    if rttm.qualification:
        out += [row.qualification_stage or None, text(reliance_text(row), "Reliance")]
    return out, lines


def _matrix(book: xlsxwriter.Workbook, rttm: Rttm, formats: dict[str, Format]) -> None:
    sheet = _Sheet(book, "RTTM", formats, rttm.links_from)
    ws = sheet.ws
    names = columns(rttm)
    sheet.widths([COHORT_WIDTH if n in rttm.cohorts else WIDTHS.get(n, COHORT_WIDTH) for n in names])
    ws.freeze_panes(1, 2)  # C2: the header row, and each row's requirement id and title, stay in view
    ws.autofilter(0, 0, len(rttm.rows), len(names) - 1)
    ws.repeat_rows(0)
    _fit_to_width(ws, landscape=True)
    ws.set_paper(A3)  # the matrix is wide: on A4 it prints too small to read
    _participant_header(ws, rttm)
    sheet.header(names)
    histories = history_texts(rttm)
    for row in rttm.rows:
        values, lines = _matrix_row(sheet, row, rttm, histories)
        if lines > 1:
            ws.set_row(sheet.row, min(lines, MAX_LINES) * LINE_HEIGHT)
        sheet.append(values)


def _summary(book: xlsxwriter.Workbook, rttm: Rttm, formats: dict[str, Format]) -> None:
    sheet = _Sheet(book, "Summary", formats)
    ws, cell = sheet, sheet.cell
    sheet.widths([30, 16, 16, 16])
    _fit_to_width(sheet.ws, landscape=False)
    _participant_header(sheet.ws, rttm)
    title = f"Requirements-to-Test Traceability Matrix — {rttm.scope}"
    ws.append([cell(title, "title")])
    ws.append([])
    for label, value in _summary_facts(sheet, rttm, headline(rttm)):
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
    ws.append([denominator_line(rttm)])


def _participant_header(ws: Worksheet, rttm: Rttm) -> None:
    """A qualification RTTM names its participant, and the stage, at the top of every printed page."""
    if not rttm.participant:
        return
    stage = f" ({rttm.qualification_stage})" if rttm.qualification_stage else ""
    text = f"Qualification of {rttm.participant}{stage}".replace("&", "&&")
    ws.set_header(f"&L{text}&RPage &P of &N")


def _summary_facts(sheet: _Sheet, rttm: Rttm, h: Headline) -> list[tuple[str, object]]:
    """The summary sheet's label and value rows: the scope, then the headline figures per verdict."""
    cell = sheet.cell
    rows: list[tuple[str, object]] = [("Covers", rttm.scope)]
    if rttm.participant or rttm.roles:
        rows.append(("Qualification for", rttm.participant or "(roles only)"))
        rows.append(("Roles", ", ".join(rttm.roles) or "all"))
        rows.append(("Qualification stage", rttm.qualification_stage or "—"))
    rows += [
        ("Generated (UTC)", sheet.time(rttm.generated)),
        ("Cohorts", ", ".join(rttm.cohorts) or "—"),
        ("Runs", len(rttm.runs)),
        ("Requirements", h.requirements),
        ("Covered", h.covered),
        *((("  by a case", h.covered - h.relied_on), ("  by reliance", h.relied_on)) if rttm.qualification else ()),
        ("Coverage", cell(h.coverage, "percent") if h.coverage is not None else "n/a"),
    ]
    for verdict, count in h.by_verdict.items():
        rows.append((f"  {verdict}", cell(count, f"verdict {verdict}") if count else count))
    return rows


def _run_row(sheet: _Sheet, n: int, r: RunSummary) -> list[object]:
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


def _runs(book: xlsxwriter.Workbook, rttm: Rttm, formats: dict[str, Format]) -> None:
    sheet = _Sheet(book, "Runs", formats, rttm.links_from)
    sheet.widths([5, 22, 17, 17, 12, 8, 14, 8, 9, 50])
    sheet.ws.freeze_panes(1, 0)
    _fit_to_width(sheet.ws, landscape=True)
    sheet.header(["#", "Run", "Started (UTC)", "Finished (UTC)", "State", "Sprint", "Environment", "IR", "Results",
                  "Evidence"])  # fmt: skip
    for n, r in enumerate(rttm.runs, start=1):
        sheet.append(_run_row(sheet, n, r))


def _unknown(book: xlsxwriter.Workbook, rttm: Rttm, formats: dict[str, Format]) -> None:
    if not rttm.unknown_requirements:
        return
    sheet = _Sheet(book, "Unknown requirements", formats)
    sheet.widths([20, 30])
    sheet.ws.freeze_panes(1, 0)
    sheet.header(["Requirement ID", "Referenced by case"])
    for rid, case in rttm.unknown_requirements:
        sheet.append([rid, case])


def write_xlsx(rttm: Rttm, path: Path) -> Path:
    """Summary first (what a reviewer opens the workbook for), then the matrix, the runs, the unknown ids."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_urls": False})
    formats = _formats(book)
    _summary(book, rttm, formats)
    _matrix(book, rttm, formats)
    _runs(book, rttm, formats)
    _unknown(book, rttm, formats)
    book.close()
    return path
