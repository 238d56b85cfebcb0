"""The RTTM as a real workbook: the matrix (header frozen, filters on, statuses coloured), a summary
with coverage by stage and theme, the cycle's runs. Written in openpyxl's write-only mode with
shared styles, so tens of thousands of rows take a second or two rather than a minute."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from mhhs_sit.rttm.model import VERDICTS, Rttm
from mhhs_sit.rttm.render_tabular import FIXED_COLUMNS, TAIL_COLUMNS, columns, flat_row, summary

# Background colours a reader knows from Allure and traffic lights.
STATUS_FILL = {
    "passed": "C6EFCE",
    "covered": "C6EFCE",
    "failed": "FFC7CE",
    "failing": "FFC7CE",
    "uncovered": "FF9999",
    "broken": "FFEB9C",
    "collection error": "E4C1F9",
    "error": "E4C1F9",
    "skipped": "E7E6E6",
    "not run": "E7E6E6",
    "not executed": "FFEB9C",
}
WIDTHS = {"Requirement ID": 16, "Requirement": 48, "Case title": 40, "History": 30, "Evidence": 36, "Verdict": 15}


class _Styles:
    """One style object per look, shared by every cell that has it."""

    def __init__(self) -> None:
        self.fills = {k: PatternFill("solid", start_color=v, end_color=v) for k, v in STATUS_FILL.items()}
        self.header_fill = PatternFill("solid", start_color="1F3864", end_color="1F3864")
        self.header_font = Font(bold=True, color="FFFFFF")
        self.bold = Font(bold=True)
        self.link = Font(color="0563C1", underline="single")
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.top = Alignment(vertical="top")


def _cell(ws: Worksheet, value: Any, **style: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    for key, val in style.items():
        setattr(cell, key, val)
    return cell


def _when(text: str | None) -> dt.datetime | str:
    if not text:
        return ""
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return stamp.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)  # Excel has no time zones: UTC


def _header(ws: Worksheet, names: list[str], st: _Styles) -> None:
    ws.append([_cell(ws, n, font=st.header_font, fill=st.header_fill, alignment=st.wrap) for n in names])


def _matrix(book: Workbook, rttm: Rttm, st: _Styles) -> None:
    ws = book.create_sheet("RTTM")
    names = columns(rttm)
    for i, name in enumerate(names, start=1):
        ws.column_dimensions[get_column_letter(i)].width = WIDTHS.get(name, 12 if name in rttm.cohorts else 18)
    ws.freeze_panes = "C2"  # header and the requirement id stay in view
    ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{len(rttm.rows) + 1}"
    _header(ws, names, st)
    status_cols = set(range(len(FIXED_COLUMNS), len(FIXED_COLUMNS) + len(rttm.cohorts)))
    latest_col = len(FIXED_COLUMNS) + len(rttm.cohorts) + TAIL_COLUMNS.index("Latest run")
    evidence_col = latest_col + 1
    verdict_col = len(names) - 1
    for row in rttm.rows:
        values = flat_row(row, rttm)
        cells = []
        for i, value in enumerate(values):
            if i in status_cols or i == verdict_col:
                fill = st.fills.get(str(value))
                cell = _cell(ws, value, fill=fill) if fill else value
                if i == verdict_col and value in ("uncovered", "failing"):
                    cell.font = st.bold
            elif i == latest_col:
                cell = _cell(ws, _when(value), number_format="yyyy-mm-dd hh:mm")
            elif i == evidence_col and value:
                cell = _cell(ws, value, font=st.link)
                cell.hyperlink = (
                    value if "://" in value else Path(value).as_uri() if Path(value).is_absolute() else None
                )
            elif i in (1, 7):
                cell = _cell(ws, value, alignment=st.wrap)
            else:  # plain values: a styled cell costs several times a plain one in openpyxl
                cell = value
            cells.append(cell)
        ws.append(cells)


def _summary(book: Workbook, rttm: Rttm, st: _Styles) -> None:
    ws = book.create_sheet("Summary")
    ws.column_dimensions["A"].width = 28
    for col in "BCD":
        ws.column_dimensions[col].width = 16
    facts = summary(rttm)
    title = "Requirements-to-Test Traceability Matrix" + (f" — cycle {rttm.cycle}" if rttm.cycle else "")
    ws.append([_cell(ws, title, font=Font(bold=True, size=14))])
    ws.append([])
    rows: list[tuple[str, Any, str | None]] = [
        ("Cycle", rttm.cycle or "every run in the store", None),
        ("Generated (UTC)", _when(rttm.generated), "yyyy-mm-dd hh:mm"),
    ]
    if rttm.participant or rttm.roles:
        rows.append(("Qualification for", rttm.participant or "", None))
        rows.append(("Roles", ", ".join(rttm.roles), None))
    rows += [
        ("Cohorts", ", ".join(rttm.cohorts) or "—", None),
        ("Runs", len(rttm.runs), None),
        ("Requirements", facts["requirements"], None),
        ("Covered", facts["covered"], None),
        ("Coverage", facts["coverage"] if facts["coverage"] is not None else "n/a", "0.0%"),
    ]
    rows += [(f"  {verdict}", facts["by_verdict"][verdict], None) for verdict in VERDICTS]
    for label, value, fmt in rows:
        ws.append([_cell(ws, label, font=st.bold), _cell(ws, value, number_format=fmt) if fmt else _cell(ws, value)])
    for key, heading in (("stage", "Coverage by stage"), ("theme", "Coverage by theme")):
        ws.append([])
        ws.append([_cell(ws, heading, font=Font(bold=True, size=12))])
        _header(ws, [key.capitalize(), "Covered", "Requirements", "Coverage"], st)
        for name, covered, total in rttm.coverage(key):
            ratio = covered / total if total else 0
            fill = st.fills["covered" if ratio == 1 else "failing" if ratio < 0.5 else "broken"]
            ws.append([name, covered, total, _cell(ws, ratio, number_format="0.0%", fill=fill)])
    ws.append([])
    ws.append([_cell(ws, "A requirement is covered when at least one case tracing to it was executed and passed in "
                         "every cohort where it was executed, in the latest run that reached it.")])  # fmt: skip


def _runs(book: Workbook, rttm: Rttm, st: _Styles) -> None:
    ws = book.create_sheet("Runs")
    names = ["#", "Run", "Started (UTC)", "Finished (UTC)", "State", "Sprint", "Environment", "IR", "Results"]
    names.append("Evidence")
    for i, width in enumerate((5, 14, 18, 18, 12, 8, 14, 8, 9, 50), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    _header(ws, names, st)
    for n, r in enumerate(rttm.runs, start=1):
        state_fill = st.fills["failed"] if r.state == "interrupted" else None
        ws.append(
            [
                n,
                r.run_id,
                _cell(ws, _when(r.started), number_format="yyyy-mm-dd hh:mm:ss"),
                _cell(ws, _when(r.finished), number_format="yyyy-mm-dd hh:mm:ss"),
                _cell(ws, r.state, fill=state_fill) if state_fill else r.state,
                r.sprint or "",
                r.environment or "",
                r.ir or "",
                r.results,
                r.evidence or "",
            ]
        )


def _unknown(book: Workbook, rttm: Rttm, st: _Styles) -> None:
    if not rttm.unknown_requirements:
        return
    ws = book.create_sheet("Unknown requirements")
    ws.column_dimensions["A"].width = 20
    ws.column_dimensions["B"].width = 30
    _header(ws, ["Requirement ID", "Referenced by case"], st)
    for rid, case in rttm.unknown_requirements:
        ws.append([rid, case])


def write_xlsx(rttm: Rttm, path: Path) -> Path:
    book = Workbook(write_only=True)
    st = _Styles()
    _summary(book, rttm, st)
    _matrix(book, rttm, st)
    _runs(book, rttm, st)
    _unknown(book, rttm, st)
    book.save(path)
    return path
