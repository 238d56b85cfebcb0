"""The RTTM renderers on hand-built matrices: each output read back the way its reader would."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from openpyxl import load_workbook

from mhhs_sit.errors import ConfigError
from mhhs_sit.rttm.render import FORMATS, write
from mhhs_sit.rttm.render_html import render_html
from mhhs_sit.rttm.render_tabular import columns, link_target, to_json, write_csv, write_json
from mhhs_sit.rttm.render_xlsx import write_xlsx
from tests.rttm.sample import EVIDENCE1, EVIDENCE2, MALICIOUS, PARTICIPANT, large_rttm, sample_rttm

HEADER = [
    "Requirement ID", "Requirement", "Source", "Stage", "Priority", "Roles", "Case", "Case title", "Scenario", "Theme",
    "C1", "C2", "C3", "History", "Latest run", "Evidence", "Verdict",
]  # fmt: skip
GREEN, RED, AMBER, GREY, VIOLET, STRONG_RED = "C6EFCE", "FFC7CE", "FFEB9C", "E7E6E6", "E4C1F9", "FF9999"


def need(tool: str | None, what: str) -> str:
    if tool:
        return tool
    if os.environ.get("MHHS_SIT_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} is required here (MHHS_SIT_REQUIRE_TOOLS=1) but was not found")
    pytest.skip(f"{what} is not installed")


def fill(cell) -> str:
    return cell.fill.start_color.rgb[-6:] if cell.fill.fill_type == "solid" else ""


@pytest.fixture
def book(tmp_path):
    path = write_xlsx(sample_rttm(), tmp_path / "rttm.xlsx")
    return load_workbook(path)


# -- xlsx ------------------------------------------------------------------------------------------


def test_the_matrix_sheet_has_every_row_filters_and_a_frozen_header(book):
    assert book.sheetnames == ["Summary", "RTTM", "Runs", "Unknown requirements"]
    ws = book["RTTM"]
    assert [c.value for c in ws[1]] == HEADER
    # the header row and the requirement id and title columns stay in view
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == "A1:Q7"  # every column, every row
    ids = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    assert ids == ["BP003", "BP003", "IF-031", "E2E1009", "NFR-7", "DES-2"]
    assert ws.cell(2, 2).value == MALICIOUS  # stored as text, never interpreted
    # 48 characters as Excel shows it (the file stores it with Excel's cell padding added)
    assert 48 <= ws.column_dimensions["B"].width < 49 and ws.cell(2, 2).alignment.wrap_text


def test_statuses_and_verdicts_are_coloured(book):
    ws = book["RTTM"]
    col = {name: i for i, name in enumerate(HEADER, start=1)}
    passed, failed, broken = ws.cell(4, col["C1"]), ws.cell(4, col["C2"]), ws.cell(4, col["C3"])
    assert (passed.value, fill(passed)) == ("passed", GREEN)
    assert (failed.value, fill(failed)) == ("failed", RED)
    assert (broken.value, fill(broken)) == ("broken", AMBER)
    assert (ws.cell(3, col["C3"]).value, fill(ws.cell(3, col["C3"]))) == ("skipped", GREY)
    assert (ws.cell(5, col["C1"]).value, fill(ws.cell(5, col["C1"]))) == ("not run", GREY)
    assert (ws.cell(7, col["C1"]).value, fill(ws.cell(7, col["C1"]))) == ("definition error", VIOLET)
    assert ws.cell(3, col["C2"]).value == "—"  # that case is not collected in C2
    verdicts = {ws.cell(r, col["Verdict"]).value: ws.cell(r, col["Verdict"]) for r in range(2, 8)}
    assert {v: fill(c) for v, c in verdicts.items()} == {
        "covered": GREEN, "failing": RED, "not executed": AMBER, "uncovered": STRONG_RED,
        "definition error (file)": AMBER,
    }  # fmt: skip
    assert verdicts["uncovered"].font.b and verdicts["failing"].font.b and not verdicts["covered"].font.b


def test_cells_are_typed(book):
    ws = book["RTTM"]
    col = {name: i for i, name in enumerate(HEADER, start=1)}
    latest = ws.cell(2, col["Latest run"])
    assert latest.value == dt.datetime(2026, 11, 9, 15, 40, 30) and latest.is_date  # UTC, naive: Excel has no zones
    assert ws.cell(2, col["Priority"]).value == 1 and ws.cell(2, col["Theme"]).value == 1
    assert ws.cell(2, col["History"]).value == "C1: failed → passed; C2: passed"
    evidence = ws.cell(2, col["Evidence"])
    assert evidence.value == EVIDENCE2 and evidence.hyperlink.target == EVIDENCE2
    assert ws.cell(3, col["Evidence"]).hyperlink.target == Path(EVIDENCE1).as_uri()
    assert ws.cell(3, col["Evidence"]).value == EVIDENCE1  # the path is what the cell shows


def test_an_uncovered_requirement_stands_out_with_blank_case_cells(book):
    ws = book["RTTM"]
    row = [c.value for c in ws[6]]
    assert row[:7] == ["NFR-7", "DIP throughput under load", "non-functional", "sit-non-functional", None, "LDSO", None]
    assert row[10:16] == [None] * 6 and row[16] == "uncovered"
    assert row[-1] == "uncovered" and fill(ws.cell(6, 17)) == STRONG_RED


def test_the_summary_sheet_counts_with_real_numbers(book):
    ws = book["Summary"]
    facts = {row[0].value: row[1] for row in ws.iter_rows(min_row=3, max_col=2) if row[0].value}
    assert facts["Covers"].value == "cycle C2" and facts["Requirements"].value == 5 and facts["Covered"].value == 1
    assert facts["Coverage"].value == pytest.approx(0.2) and facts["Coverage"].number_format == "0.0%"
    assert facts["Generated (UTC)"].value == dt.datetime(2026, 11, 10, 8, 30)
    counts = {k.strip(): v.value for k, v in facts.items() if k.startswith("  ")}
    assert counts == {"failing": 1, "definition error (file)": 1, "not executed": 1, "uncovered": 1, "covered": 1}
    assert "Qualification for" not in facts

    tables: dict[str, list[tuple]] = {}
    current = None
    for row in ws.iter_rows(min_row=3):
        first = row[0].value
        if first in ("Stage", "Theme"):
            current = tables.setdefault(first, [])
        elif first is None:
            current = None
        elif current is not None:
            current.append((*(c.value for c in row[:4]), row[3].number_format))
    assert tables["Stage"] == [
        ("sit-functional", 1, 2, 0.5, "0.0%"),
        ("sit-migration", 0, 1, 0.0, "0.0%"),
        ("sit-non-functional", 0, 1, 0.0, "0.0%"),
        ("(any)", 0, 1, 0.0, "0.0%"),
    ]
    assert [t[:3] for t in tables["Theme"]] == [("1", 1, 1), ("2", 0, 1), ("3", 0, 1), ("(none)", 0, 2)]


def test_the_runs_and_unknown_requirements_sheets(book):
    runs = [[c.value for c in row] for row in book["Runs"].iter_rows(min_row=2)]
    assert [r[:5] for r in runs] == [
        [1, "20261102-0900-a1b2", dt.datetime(2026, 11, 2, 9), dt.datetime(2026, 11, 2, 10, 15), "finished"],
        [2, "20261109-1400-c3d4", dt.datetime(2026, 11, 9, 14), dt.datetime(2026, 11, 9, 15, 40, 30), "interrupted"],
    ]
    assert runs[1][8] == 7 and fill(book["Runs"].cell(3, 5)) == RED
    unknown = [[c.value for c in row] for row in book["Unknown requirements"].iter_rows()]
    assert unknown == [["Requirement ID", "Referenced by case"], ["BP999", "SITFT-01-001-TC02"],
                       ["IF-404", "SITFT-03-002-TC01"]]  # fmt: skip


def test_the_qualification_workbook_names_the_participant_and_no_unknown_sheet_when_none(tmp_path):
    rttm = dataclasses.replace(sample_rttm(qualification=True), unknown_requirements=())
    book = load_workbook(write_xlsx(rttm, tmp_path / "q.xlsx"))
    assert book.sheetnames == ["Summary", "RTTM", "Runs"]
    facts = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_row=3, max_col=2) if row[0].value}
    assert facts["Qualification for"] == PARTICIPANT and facts["Roles"] == "LDSO" and facts["Requirements"] == 4
    assert "BP003" not in {c.value for c in book["RTTM"]["A"]}  # a supplier-only requirement


# -- csv and json ------------------------------------------------------------------------------------


def test_csv_has_the_matrix_columns_and_one_line_per_row(tmp_path):
    rttm = sample_rttm()
    path = write_csv(rttm, tmp_path / "rttm.csv")
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == HEADER == columns(rttm)
    assert len(rows) == 1 + len(rttm.rows)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Requirement"] == MALICIOUS and first["History"] == "C1: failed → passed; C2: passed"
    assert [first[k] for k in ("C1", "C2", "C3", "Latest run")] == ["passed", "passed", "—", rttm.rows[0].latest_run]
    uncovered = dict(zip(rows[0], rows[5], strict=True))
    assert [uncovered[k] for k in ("Case", "C1", "Verdict", "Priority")] == ["", "", "uncovered", ""]
    assert "Data service accepts the appointment\nand replies" in rows[3][1]  # a newline survives quoting


def test_json_groups_cases_under_their_requirement_and_round_trips(tmp_path):
    rttm = sample_rttm()
    doc = to_json(rttm)
    assert json.loads(write_json(rttm, tmp_path / "rttm.json").read_text(encoding="utf-8")) == doc
    assert list(doc) == ["schema", "cycle", "covers", "generated", "cohorts", "participant", "roles", "summary",
                         "runs", "requirements", "unknown_requirements"]  # fmt: skip
    assert doc["covers"] == "cycle C2"
    assert (doc["cycle"], doc["cohorts"], doc["participant"], doc["roles"]) == ("C2", ["C1", "C2", "C3"], None, [])
    summary = doc["summary"]
    assert (summary["requirements"], summary["covered"], summary["coverage"]) == (5, 1, 0.2)
    assert summary["by_verdict"]["uncovered"] == 1 and summary["by_stage"][0] == {
        "stage": "sit-functional", "covered": 1, "requirements": 2, "coverage": 0.5
    }  # fmt: skip
    reqs = {r["id"]: r for r in doc["requirements"]}
    assert list(reqs) == ["BP003", "IF-031", "E2E1009", "NFR-7", "DES-2"]
    assert [c["case"] for c in reqs["BP003"]["cases"]] == ["SITFT-01-001-TC01", "SITFT-01-001-TC02"]
    assert reqs["NFR-7"]["cases"] == [] and reqs["NFR-7"]["verdict"] == "uncovered"
    first = reqs["BP003"]["cases"][0]
    assert set(first) >= {"case", "title", "scenario", "theme", "verdict", "latest_run", "evidence", "cohorts"}
    assert list(first["cohorts"]) == ["C1", "C2"]  # not collected in C3: absent
    c1 = first["cohorts"]["C1"]
    assert (c1["status"], c1["run_id"], c1["finished"]) == ("passed", "20261109-1400-c3d4", "2026-11-09T15:40:30+00:00")
    assert [(h["status"], h["sprint"]) for h in c1["history"]] == [("failed", "1"), ("passed", "2")]
    failing = reqs["IF-031"]["cases"][0]["cohorts"]["C2"]
    assert (failing["category"], failing["message"]) == ("product defect", "IF-035 late")
    never = reqs["E2E1009"]["cases"][0]["cohorts"]["C1"]
    assert (never["status"], never["run_id"], never["finished"], never["history"]) == ("not run", None, None, [])
    assert doc["runs"][1]["state"] == "interrupted" and doc["runs"][0]["evidence"] == EVIDENCE1
    assert doc["unknown_requirements"] == [{"id": "BP999", "case": "SITFT-01-001-TC02"},
                                           {"id": "IF-404", "case": "SITFT-03-002-TC01"}]  # fmt: skip


def test_json_of_the_qualification_variant():
    doc = to_json(sample_rttm(qualification=True))
    assert doc["participant"] == PARTICIPANT and doc["roles"] == ["LDSO"]
    assert [r["id"] for r in doc["requirements"]] == ["IF-031", "E2E1009", "NFR-7", "DES-2"]


# -- html ------------------------------------------------------------------------------------------


class Page(HTMLParser):
    """Checks the page nests properly and collects what the assertions look at."""

    VOID: ClassVar[frozenset[str]] = frozenset({"meta", "br", "input", "link", "img", "hr", "col", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.classes: list[tuple[str, str]] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.scripts += tag == "script"
        if attrs.get("class"):
            self.classes.append((tag, attrs["class"]))
        if tag == "a":
            self.links.append(attrs.get("href") or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], f"unclosed: {parser.stack}"
    return parser


def test_the_html_page_shows_every_requirement_and_escapes_everything():
    page = render_html(sample_rttm())
    parsed = parse(page)
    text = " ".join(parsed.text)
    for rid in ("BP003", "IF-031", "E2E1009", "NFR-7", "DES-2", "BP999", "IF-404"):
        assert rid in text
    assert "<script" not in page and parsed.scripts == 0
    assert html.escape(MALICIOUS, quote=True) in page and MALICIOUS in text
    assert "<title>RTTM — cycle C2</title>" in page
    assert EVIDENCE2 in parsed.links and Path(EVIDENCE1).as_uri() in parsed.links
    assert 'class="row-uncovered"' in page and 'class="row-failing"' in page
    bodies = [cls for tag, cls in parsed.classes if tag == "tbody"]
    assert bodies == ["req-covered", "req-failing", "req-not-executed", "req-uncovered", "req-definition-error-file"]


def test_the_html_tiles_and_coverage_tables():
    parsed = parse(render_html(sample_rttm()))
    text = " ".join(" ".join(parsed.text).split())
    for shown in ("5 Requirements", "1 Covered of 5", "20% Coverage", "1 Failing", "1 Uncovered",
                  "2 Not executed 1 definition error (file)", "SIT Functional 1 2 50%", "(none) 0 2 0%",
                  "C1: failed → passed", "no case traces to this requirement"):  # fmt: skip
        assert shown in text, shown
    chips = {cls for tag, cls in parsed.classes if tag == "span" and cls.startswith("chip ")}
    statuses = ("passed", "failed", "broken", "skipped", "not-run", "definition-error")
    assert {f"chip {s}" for s in statuses} <= chips


def test_the_qualification_page_names_the_participant():
    page = render_html(sample_rttm(qualification=True))
    parse(page)
    assert html.escape(f"qualification of {PARTICIPANT}") in page.split("</title>")[0]
    assert "BP003" not in page


# -- one entry point, every format, at scale -------------------------------------------------------------


def test_write_dispatches_every_format(tmp_path):
    rttm = sample_rttm()
    for fmt in FORMATS:
        path = tmp_path / f"rttm.{fmt}"
        assert write(rttm, fmt, path) == path and path.stat().st_size > 0
    with pytest.raises(ConfigError, match="unknown RTTM format 'pdf'"):
        write(rttm, "pdf", tmp_path / "rttm.pdf")


def test_link_targets():
    assert link_target("https://x.example/r") == "https://x.example/r"
    assert link_target("/srv/evidence/run 1") == "file:///srv/evidence/run%201"
    assert link_target("results/run-1") is None  # relative to what, once the file is moved?


@pytest.mark.slow
def test_thousands_of_rows_in_every_format(tmp_path):
    rttm = large_rttm(6000)
    paths = {fmt: write(rttm, fmt, tmp_path / f"big.{fmt}") for fmt in FORMATS}
    book = load_workbook(paths["xlsx"], read_only=True)
    try:  # a read-only workbook holds its file open until closed (else a later test sees the leak)
        assert sum(1 for _ in book["RTTM"].iter_rows(values_only=True)) == 6001
    finally:
        book.close()
    with paths["csv"].open(encoding="utf-8", newline="") as fh:
        assert sum(1 for _ in csv.reader(fh)) == 6001
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert len(doc["requirements"]) == 3000 and sum(len(r["cases"]) for r in doc["requirements"]) == 6000
    assert doc["summary"]["by_verdict"] == {"failing": 300, "definition error (file)": 0, "not executed": 0,
                                            "uncovered": 0, "covered": 2700}  # fmt: skip
    assert paths["html"].read_text(encoding="utf-8").count('<tr class="row-') == 6000


# -- LibreOffice -----------------------------------------------------------------------------------


def test_the_workbook_converts_to_pdf_in_libreoffice(tmp_path):
    office = need(shutil.which("libreoffice") or shutil.which("soffice"), "LibreOffice (apt-get install libreoffice)")
    xlsx = write_xlsx(sample_rttm(), tmp_path / "rttm.xlsx")
    out = tmp_path / "pdf"
    done = subprocess.run(
        [office, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--convert-to", "pdf",
         "--outdir", str(out), str(xlsx)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    pdf = out / "rttm.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000
