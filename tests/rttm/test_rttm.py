"""The RTTM of a cycle, end to end: runs recorded by the plugin, then every output format."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from tests.helpers import copy_project, write
from tests.store.test_cycle_runs import slow_scenario

CATALOGUE = """
requirements:
  - {id: REQ-1, title: "Appointments <script>alert(1)</script>", source: business process,
     stage: sit-functional, priority: 1, roles: [SUP]}
  - {id: REQ-2, title: Second, source: interface, stage: sit-functional, priority: 2, roles: [LDSO]}
  - {id: REQ-3, title: Nobody tests me, source: non-functional, stage: sit-non-functional, priority: 1, roles: [LDSO]}
  - {id: REQ-4, title: Broken file, source: design, stage: sit-functional}
"""


def cli(cwd, *args):
    return subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def cycle(pytester):
    """Cycle C2: run 1 fails A in C1; the fix; run 2 re-runs the failures; B passes throughout."""
    copy_project(pytester.path, themes=False)
    write(pytester.path, "test_data/requirements/catalogue.yaml", CATALOGUE)
    write(pytester.path, "test_themes/a.yaml", slow_scenario("A-01-001", 1, value=2))
    b = slow_scenario("B-01-001", 1).replace("requirements: [REQ-1]", "requirements: [REQ-2]")
    write(pytester.path, "test_themes/b.yaml", b)
    pytester.runpytest_subprocess("--cycle", "C2", "--sprint", "1", "--cohort", "C1", timeout=180).assert_outcomes(
        passed=1, failed=1
    )
    write(pytester.path, "test_themes/a.yaml", slow_scenario("A-01-001", 1))
    # a file that cannot be collected, but whose requirement is readable
    write(pytester.path, "test_themes/c.yaml", "oops: 1\n" + slow_scenario("C-01-001", 1).replace("REQ-1", "REQ-4"))
    second = pytester.runpytest_subprocess(
        "--cycle", "C2", "--sprint", "2", "--rerun", "failed", "--continue-on-collection-errors", timeout=180
    )
    second.assert_outcomes(passed=1, deselected=3)
    assert "1 passed, 3 deselected, 1 definition error" in second.stdout.str()  # the file that cannot load
    return pytester.path


def test_cycle_rttm_in_every_format(cycle):
    done = cli(cycle, "rttm", "--cycle", "C2", "--format", "json,csv,xlsx,html", "--out", "out")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 requirements, 2 covered (50.0%)" in done.stdout

    doc = json.loads((cycle / "out" / "rttm-C2.json").read_text())
    reqs = {r["id"]: r for r in doc["requirements"]}
    assert [r["id"] for r in doc["requirements"]] == ["REQ-1", "REQ-2", "REQ-3", "REQ-4"]
    [a] = reqs["REQ-1"]["cases"]
    assert a["case"] == "A-01-001-TC01" and a["verdict"] == "covered"
    assert [h["status"] for h in a["cohorts"]["C1"]["history"]] == ["failed", "passed"]
    assert [h["sprint"] for h in a["cohorts"]["C1"]["history"]] == ["1", "2"]
    assert a["cohorts"]["C2"]["status"] == "not run"  # eligible, never run in the cycle
    assert reqs["REQ-2"]["verdict"] == "covered"  # run 2 deselected it: run 1's pass stands
    assert reqs["REQ-3"]["verdict"] == "uncovered" and reqs["REQ-3"]["cases"] == []
    gate = cli(cycle, "rttm", "--cycle", "C2", "--format", "json", "--out", "gate.json", "--require-covered")
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "NOT COVERED: 2 of 4 requirements:\n  REQ-3: uncovered\n  REQ-4: " in gate.stdout
    scoped = cli(cycle, "rttm", "--cycle", "C2", "--roles", "SUP", "--out", "s", "--require-covered")
    assert "REQ-3" not in scoped.stdout
    assert reqs["REQ-4"]["verdict"] == "definition error (file)"
    assert reqs["REQ-4"]["cases"][0]["case"] == "C-01-001-TC01"
    assert doc["summary"]["by_verdict"]["uncovered"] == 1 and len(doc["runs"]) == 2

    with (cycle / "out" / "rttm-C2.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["Requirement ID"], r["Case"], r["C1"], r["Verdict"]) for r in rows] == [
        ("REQ-1", "A-01-001-TC01", "passed", "covered"),
        ("REQ-2", "B-01-001-TC01", "passed", "covered"),
        ("REQ-3", "", "", "uncovered"),
        ("REQ-4", "C-01-001-TC01", "—", "definition error (file)"),
    ]
    assert rows[0]["History"] == "C1: failed → passed"

    book = load_workbook(cycle / "out" / "rttm-C2.xlsx")
    assert book.sheetnames == ["Summary", "RTTM", "Runs"]
    ws = book["RTTM"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["Requirement ID", "Requirement"] and header[-1] == "Verdict" and "C1" in header
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}5"
    c1 = header.index("C1") + 1
    assert ws.cell(2, c1).value == "passed" and ws.cell(2, c1).fill.start_color.rgb.endswith("C6EFCE")
    verdict = ws.cell(4, len(header))
    assert verdict.value == "uncovered" and verdict.fill.start_color.rgb.endswith("FF9999") and verdict.font.bold
    summary = {row[0].value: row[1] for row in book["Summary"].iter_rows(min_row=3) if row[0].value}
    assert summary["Coverage"].value == 0.5 and summary["Coverage"].number_format == "0.0%"
    assert summary["Requirements"].value == 4

    page = (cycle / "out" / "rttm-C2.html").read_text()
    HTMLParser().feed(page)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert all(rid in page for rid in ("REQ-1", "REQ-2", "REQ-3", "REQ-4"))
    assert 'class="row-uncovered"' in page


def test_the_cycle_view_and_the_qualification_variant(cycle):
    shown = cli(cycle, "cycle", "--cycle", "C2")
    assert shown.returncode == 0 and "A-01-001-TC01[C1]  failed (#1) → passed (#2)" in shown.stdout
    ldso = cli(cycle, "rttm", "--cycle", "C2", "--roles", "LDSO", "--format", "json", "--out", "q.json")
    assert ldso.returncode == 0, ldso.stderr
    doc = json.loads((cycle / "q.json").read_text())
    # REQ-1 applies to SUP only; REQ-4 names no role, so it applies to every role
    assert [r["id"] for r in doc["requirements"]] == ["REQ-2", "REQ-3", "REQ-4"] and doc["roles"] == ["LDSO"]
    part = cli(cycle, "rttm", "--cycle", "C2", "--participant", "NOPE", "--format", "json")
    assert part.returncode == 2 and "--participant NOPE: in no cohort file" in part.stderr
    missing = cli(cycle, "rttm", "--cycle", "C9")
    assert missing.returncode == 2 and "no run of cycle 'C9'" in missing.stderr and "C2" in missing.stderr


def test_the_workbook_opens_in_libreoffice(cycle, tmp_path):
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        if os.environ.get("MHHS_SIT_REQUIRE_TOOLS") == "1":
            pytest.fail("LibreOffice is required here (MHHS_SIT_REQUIRE_TOOLS=1) but was not found")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc)")
    assert cli(cycle, "rttm", "--cycle", "C2", "--out", "out").returncode == 0
    profile = tmp_path / "lo-profile"
    done = subprocess.run(
        [
            office,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(cycle / "out" / "rttm-C2.xlsx"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    pdf = tmp_path / "rttm-C2.pdf"
    assert done.returncode == 0, done.stderr
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000
