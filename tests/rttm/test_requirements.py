"""The requirements catalogue: YAML, CSV and RTTM workbooks; every problem located."""

from __future__ import annotations

import subprocess
import sys

from openpyxl import Workbook

from mhhs_sit.definitions.requirements import load_requirements
from tests.helpers import write


def test_yaml_and_csv_load_with_aliases_and_problems_at_their_lines(tmp_path):
    write(
        tmp_path,
        "req/a.yaml",
        """
        requirements:
          - {id: BP003, title: Appointment, source: business process, stage: sit-functional, priority: 1,
             roles: [SUP, REGS]}
          - {id: IF-031, title: IF-031, source: interface, stage: SIT Functional, priority: Must, roles: SUP}
          - {id: BAD-1, title: x, source: interfce, stage: sit-fun, priority: 9, roles: [SUPP], colour: red}
        """,
    )
    write(tmp_path, "req/b.csv", "ID,Title,Source,Stage,Priority,Roles\nE2E1009,Latency,NFR,,2,\nBP003,dup,bp,,,\n")
    found, problems = load_requirements(tmp_path / "req", tmp_path)
    if031 = found["IF-031"]
    assert (if031.priority, if031.stage, if031.roles) == (1, "sit-functional", ("SUP",))
    assert found["E2E1009"].source == "non-functional" and found["E2E1009"].roles == ()
    assert found["BP003"].location == "req/a.yaml:2"
    text = "\n".join(p.render() for p in problems)
    assert "req/a.yaml:5" in text and "unknown source 'interfce' (did you mean 'interface'?)" in text
    assert "unknown stage 'sit-fun'" in text and "priority '9' is not 1-4" in text
    assert "unknown role 'SUPP' (did you mean 'SUP'?)" in text
    assert "unknown field 'colour'" in text
    assert "req/b.csv:3" in text and "duplicate requirement id BP003: also at req/a.yaml:2" in text


def test_a_missing_catalogue_is_empty_and_a_broken_file_is_a_problem(tmp_path):
    assert load_requirements(tmp_path / "nothing", tmp_path) == ({}, [])
    write(tmp_path, "req/x.xlsx", "not a workbook")
    write(tmp_path, "req/y.csv", "Colour,Size\nred,1\n")
    _, problems = load_requirements(tmp_path / "req", tmp_path)
    text = "\n".join(p.render() for p in problems)
    assert "req/x.xlsx: not an .xlsx workbook" in text
    assert "req/y.csv: no header row" in text


def rttm_workbook(path):
    book = Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.append(["Qualification RTTM — LDSO", None])
    sheet = book.create_sheet("Requirements")
    sheet.append(["MHHS Programme"])
    sheet.append(["Non-SIT LDSO Qualification RTTM v1.0"])
    sheet.append([])
    sheet.append(
        ["Requirement ID", "Requirement Description", "Requirement Type", "Test Stage", "MoSCoW", "Market Role"]
    )
    sheet.append(["BP009", "MPAN relationships", "BP", "Qualification", "Must", "LDSO"])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["IF-020", "Maintain MPAN Relationship Response", "IF", "QT", "Should", "LDSO, REGS"])
    sheet.append(["REP-X", "Report", "NFR", "QT", "Sometimes", "LDSO"])
    book.save(path)


def test_an_rttm_workbook_imports_below_its_title_block(tmp_path):
    rttm_workbook(tmp_path / "in.xlsx")
    found, problems = load_requirements(tmp_path / "in.xlsx", tmp_path)
    assert set(found) == {"BP009", "IF-020", "REP-X"}
    assert found["IF-020"].priority == 2 and found["IF-020"].stage == "qualification"
    assert found["IF-020"].roles == ("LDSO", "REGS") and found["BP009"].source == "business process"
    [problem] = problems
    assert problem.file == "in.xlsx" and problem.line == 8 and "'Sometimes' is not 1-4" in problem.message
    assert "unknown source 'type'" not in problem.message


def test_import_command_writes_a_csv_that_loads_the_same(tmp_path):
    rttm_workbook(tmp_path / "in.xlsx")
    run = [sys.executable, "-m", "mhhs_sit.cli.app", "requirements", "import", "in.xlsx", "--out", "req/imported.csv"]
    bad = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "in.xlsx:8" in bad.stdout and "not imported" in bad.stdout
    book_rows = tmp_path / "in.xlsx"
    from openpyxl import load_workbook

    book = load_workbook(book_rows)
    book["Requirements"]["E8"] = "Could"
    book.save(book_rows)
    ok = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "imported 3 requirements" in ok.stdout
    again, problems = load_requirements(tmp_path / "req", tmp_path)
    original, _ = load_requirements(book_rows, tmp_path)
    assert problems == []
    assert {k: (r.title, r.source, r.stage, r.priority, r.roles) for k, r in again.items()} == {
        k: (r.title, r.source, r.stage, r.priority, r.roles) for k, r in original.items()
    }


def test_a_case_counts_only_for_the_requirements_it_names_and_a_silent_case_for_its_scenarios():
    """The scenario traces to REQ-A and REQ-B; TC01 names REQ-A only, TC02 names none."""
    from mhhs_sit.core.yamlsrc import parse_yaml
    from mhhs_sit.definitions.scenario_build import build_scenario
    from mhhs_sit.execution.steps import STEP_KINDS
    from mhhs_sit.rttm.build import case_infos

    text = (
        "scenario: T-01-001\ntitle: t\nstage: sit-functional\ntheme: 1\nroles: [SUP]\n"
        "requirements: [REQ-A, REQ-B]\ncases:\n"
        "  - id: T-01-001-TC01\n    title: one\n    requirements: [REQ-A]\n    steps:\n      - wait: 1ms\n"
        "  - id: T-01-001-TC02\n    title: two\n    steps:\n      - wait: 1ms\n"
    )
    scenario, problems = build_scenario(parse_yaml(text, "t.yaml"), STEP_KINDS)
    assert problems == [] and scenario is not None
    infos = case_infos([scenario], {}, local=True)
    assert infos["T-01-001-TC01"].requirements == ("REQ-A",)
    assert infos["T-01-001-TC02"].requirements == ("REQ-A", "REQ-B")
