"""The requirements catalogue: its three formats, its problems, its import, and the check of scenarios' ids.

A requirement id in a scenario that the catalogue does not have must be reported at the id's own
file:line:column, by ``mhhs-sit validate`` and at pytest collection alike, and a cache of parsed
scenarios must never hide it. (Named ``..._catalogue`` because ``tests/rttm/test_requirements.py``
already holds the basename in this rootdir-style test tree.)
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

from mhhs_sit.cli import app as cli
from mhhs_sit.definitions.requirements import catalogue_fingerprint, load_requirements
from mhhs_sit.errors import Problem
from tests.helpers import REPO, appointment_scenario, copy_project, write

HEADER = ["Requirement ID", "Requirement Description", "Requirement Type", "Test Stage", "MoSCoW", "Market Role"]
CATALOGUE = """
requirements:
  - {id: BP003, title: Change of Service - Data Service, source: business process, stage: sit-functional,
     priority: 1, roles: [SUP, REGS, SDS]}
  - {id: IF-031, title: Supplier Service Provider Appointment Request, source: interface, priority: 1}
  - {id: IF-035, title: Registration Service Appointment Status Notification, source: interface}
"""
X = "test_themes/x.yaml"


def rendered(problems: list[Problem]) -> list[str]:
    return sorted(p.render() for p in problems)


def one(problems: list[Problem], where: str) -> str:
    """The message of the one problem rendered as ``where: ...``."""
    found = [r[len(where) + 2 :] for r in rendered(problems) if r.startswith(where + ": ")]
    assert len(found) == 1, f"expected one problem at {where} in {rendered(problems)}"
    return found[0]


def scenario(requirements: str, case_requirements: str = "") -> str:
    """A valid one-case scenario: ``requirements:`` on line 5, the case's on line 10."""
    text = appointment_scenario("SC-REQ").replace("theme: 3\n", f"theme: 3\nrequirements: {requirements}\n")
    if case_requirements:
        title = "    title: case of SC-REQ\n"
        text = text.replace(title, f"{title}    requirements: {case_requirements}\n")
    return text


def rttm_workbook(path: Path, *, last_priority: str = "Won't") -> Path:
    """A programme-style RTTM: a cover sheet, a title block above the header, blank and repeated rows."""
    book = Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.append(["Non-SIT LDSO Qualification RTTM"])
    cover.append(["Version", "1.0"])
    sheet = book.create_sheet("Requirements")
    sheet.append(["MHHS Programme"])  # 1
    sheet.append(["Qualification Requirements to Test Traceability Matrix - LDSO"])  # 2
    sheet.append([])  # 3
    sheet.append(HEADER)  # 4
    sheet.append(["BP009", "Change of Meter", "BP", "Qualification", "Must", "LDSO"])  # 5
    sheet.append([None] * 6)  # 6
    sheet.append(["IF-019", "Maintain MPAN Relationships", "Interface", "QT", "Should", "LDSO, REGS"])  # 7
    sheet.append(HEADER)  # 8: exports repeat the header on every printed page
    sheet.append(["E2E1009", "End-to-end delivery time", "NFR", "SIT Non-Functional", "Could", None])  # 9
    sheet.append(["IF-020", "Maintain MPAN Relationship Response", "IF", None, last_priority, "SUP; LDSO"])  # 10
    notes = book.create_sheet("Notes")
    notes.append(["Requirement ID", "Comment"])  # a second table would be read too: keep it empty
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def summary(found: dict) -> dict:
    return {k: (r.title, r.source, r.stage, r.priority, r.roles) for k, r in found.items()}


# --------------------------------------------------------------------------- formats


def test_yaml_catalogue(tmp_path: Path) -> None:
    write(
        tmp_path,
        "req/a.yaml",
        CATALOGUE + "  - {id: E2E1009, source: NFR, stage: SIT Non-Functional, priority: Must, roles: 'SUP, LDSO'}\n",
    )
    found, problems = load_requirements(tmp_path / "req", tmp_path)
    assert problems == []
    assert list(found) == ["BP003", "IF-031", "IF-035", "E2E1009"]
    bp = found["BP003"]
    assert (bp.source, bp.stage, bp.priority, bp.roles, bp.location) == (
        "business process",
        "sit-functional",
        1,
        ("SUP", "REGS", "SDS"),
        "req/a.yaml:2",
    )
    nfr = found["E2E1009"]
    assert (nfr.source, nfr.stage, nfr.priority, nfr.roles) == (
        "non-functional",
        "sit-non-functional",
        1,
        ("SUP", "LDSO"),
    )
    assert found["IF-035"].priority is None and found["IF-035"].roles == () and found["IF-035"].stage == ""


def test_csv_catalogue_with_any_case_headings(tmp_path: Path) -> None:
    write(
        tmp_path,
        "req/r.csv",
        """
        ID,Title,SOURCE,Stage,Priority,Roles
        BP003,"Change of Service - Data Service",business process,sit-functional,1,SUP REGS SDS

        IF-019,Maintain MPAN Relationships,interface,,3,"LDSO, REGS"
        """,
    )
    found, problems = load_requirements(tmp_path / "req" / "r.csv", tmp_path)
    assert problems == []
    assert found["BP003"].roles == ("SUP", "REGS", "SDS") and found["BP003"].location == "req/r.csv:2"
    assert found["IF-019"].location == "req/r.csv:4" and found["IF-019"].roles == ("LDSO", "REGS")


def test_xlsx_rttm_with_a_title_block_and_moscow(tmp_path: Path) -> None:
    found, problems = load_requirements(rttm_workbook(tmp_path / "rttm.xlsx"), tmp_path)
    assert problems == []
    assert summary(found) == {
        "BP009": ("Change of Meter", "business process", "qualification", 1, ("LDSO",)),
        "IF-019": ("Maintain MPAN Relationships", "interface", "qualification", 2, ("LDSO", "REGS")),
        "E2E1009": ("End-to-end delivery time", "non-functional", "sit-non-functional", 3, ()),
        "IF-020": ("Maintain MPAN Relationship Response", "interface", "", 4, ("SUP", "LDSO")),
    }
    assert found["IF-019"].location == "rttm.xlsx:7 (sheet 'Requirements')"


def test_a_missing_catalogue_is_empty_and_the_fingerprint_follows_the_files(tmp_path: Path) -> None:
    assert load_requirements(tmp_path / "nowhere", tmp_path) == ({}, [])
    assert catalogue_fingerprint(tmp_path / "nowhere") == ""
    path = write(tmp_path, "req/a.yaml", CATALOGUE)
    before = catalogue_fingerprint(tmp_path / "req")
    assert before == catalogue_fingerprint(tmp_path / "req")
    path.write_text(path.read_text() + "  - {id: IF-036}\n")
    assert catalogue_fingerprint(tmp_path / "req") != before
    write(tmp_path, "req/README.md", "not read")
    write(tmp_path, "req/~$open.xlsx", "Excel's lock file: not read")
    assert load_requirements(tmp_path / "req", tmp_path)[1] == []


# --------------------------------------------------------------------------- problems


@pytest.mark.parametrize(
    ("row", "where", "phrase"),
    [
        ("  - {title: no id}", "req/a.yaml:2 [id]", "a requirement needs an id"),
        (
            "  - {id: X1, source: interfce}",
            "req/a.yaml:2 [source]",
            "unknown source 'interfce' (did you mean 'interface'?)",
        ),
        ("  - {id: X1, stage: sit-funtional}", "req/a.yaml:2 [stage]", "(did you mean 'sit-functional'?)"),
        ("  - {id: X1, roles: [SUP, LDS0]}", "req/a.yaml:2 [roles]", "unknown role 'LDS0' (did you mean 'LDSO'?)"),
        ("  - {id: X1, priority: 9}", "req/a.yaml:2 [priority]", "priority '9' is not 1-4 or Must/Should/Could/Won't"),
        ("  - {id: X1, colour: red}", "req/a.yaml:2:14 [requirements[0].colour]", "unknown field 'colour'"),
        ("  - {id: X1\n", "req/a.yaml:4:1", "YAML syntax"),
        ("  - just a string", "req/a.yaml:2:5 [requirements[0]]", "each requirement is a mapping"),
    ],
)
def test_yaml_problems(tmp_path: Path, row: str, where: str, phrase: str) -> None:
    write(tmp_path, "req/a.yaml", "requirements:\n" + row + "\n")
    _, problems = load_requirements(tmp_path / "req", tmp_path)
    assert phrase in one(problems, where)


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    write(tmp_path, "req/a.yaml", CATALOGUE)
    write(tmp_path, "req/b.csv", "id,title\nIF-099,new\nIF-031,again\n")
    found, problems = load_requirements(tmp_path / "req", tmp_path)
    assert "duplicate requirement id IF-031: also at req/a.yaml:4" in one(problems, "req/b.csv:3 [id]")
    assert found["IF-031"].title == "Supplier Service Provider Appointment Request" and "IF-099" in found


def test_csv_problems_are_at_their_row(tmp_path: Path) -> None:
    write(tmp_path, "req/r.csv", "id,title,source,priority\nA1,ok,bp,2\n,no id,bp,\nA2,x,bpp,Maybe\n")
    _, problems = load_requirements(tmp_path / "req", tmp_path)
    assert "needs an id" in one(problems, "req/r.csv:3 [id]")
    assert "unknown source 'bpp'" in one(problems, "req/r.csv:4 [source]")
    assert "'Maybe' is not 1-4" in one(problems, "req/r.csv:4 [priority]")


def test_a_csv_without_an_id_column_says_which_column_is_missing(tmp_path: Path) -> None:
    write(tmp_path, "req/r.csv", "Title,Source,Stage\nChange of Meter,bp,sit-functional\n")
    _, problems = load_requirements(tmp_path / "req", tmp_path)
    message = one(problems, "req/r.csv:1 [id]")
    assert "names title, source, stage but no requirement id column" in message and "'Requirement ID'" in message
    write(tmp_path, "req/r.csv", "Colour,Size\nred,1\n")
    assert "no header row" in one(load_requirements(tmp_path / "req", tmp_path)[1], "req/r.csv")


def test_xlsx_problems_name_the_row_and_the_sheet(tmp_path: Path) -> None:
    rttm_workbook(tmp_path / "req" / "rttm.xlsx", last_priority="Sometimes")
    write(tmp_path, "req/junk.xlsx", "not a workbook")
    _, problems = load_requirements(tmp_path / "req", tmp_path)
    assert one(problems, "req/rttm.xlsx:10 [priority]").startswith("sheet 'Requirements': IF-020: priority 'Sometimes'")
    assert "not an .xlsx workbook" in one(problems, "req/junk.xlsx")


def test_an_xlsx_without_a_requirements_table_or_the_named_sheet(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["Notes"])
    book.save(tmp_path / "empty.xlsx")
    assert "no sheet has a requirements table" in one(
        load_requirements(tmp_path / "empty.xlsx", tmp_path)[1], "empty.xlsx"
    )
    rttm_workbook(tmp_path / "rttm.xlsx")
    _, problems = load_requirements(tmp_path / "rttm.xlsx", tmp_path, sheet="Requirement")
    assert "no sheet 'Requirement' (did you mean 'Requirements'?)" in one(problems, "rttm.xlsx")
    _, problems = load_requirements(tmp_path / "rttm.xlsx", tmp_path, sheet="Cover")
    assert "sheet 'Cover': no header row" in one(problems, "rttm.xlsx")


# --------------------------------------------------------------------------- the requirements commands


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``mhhs-sit ARGS`` in ``tmp_path``: (exit code, stdout + stderr), never a traceback."""

    def go(*args: str) -> tuple[int, str]:
        monkeypatch.chdir(tmp_path)
        rc = cli.main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return rc, out + err

    return go


def test_import_round_trip_xlsx_to_csv(tmp_path: Path, run) -> None:
    rttm_workbook(tmp_path / "RTTM.xlsx")
    rc, out = run("requirements", "import", "RTTM.xlsx", "--out", "test_data/requirements/imported.csv")
    assert rc == 0, out
    assert "imported 4 requirements from RTTM.xlsx into test_data/requirements/imported.csv" in out
    imported, problems = load_requirements(tmp_path / "test_data/requirements", tmp_path)
    assert problems == []
    assert summary(imported) == summary(load_requirements(tmp_path / "RTTM.xlsx", tmp_path)[0])
    rc, out = run("requirements", "check")
    assert rc == 0 and out.startswith("OK: 4 requirements in test_data/requirements")


def test_import_leaves_out_and_reports_every_bad_row(tmp_path: Path, run) -> None:
    rttm_workbook(tmp_path / "RTTM.xlsx", last_priority="Sometimes")
    rc, out = run("requirements", "import", "RTTM.xlsx", "--sheet", "Requirements", "--out", "out.csv")
    assert rc == 1
    assert "RTTM.xlsx:10 [priority]: sheet 'Requirements': IF-020: priority 'Sometimes'" in out
    assert "imported 3 requirements" in out and "fix them in RTTM.xlsx" in out
    assert set(load_requirements(tmp_path / "out.csv", tmp_path)[0]) == {"BP009", "IF-019", "E2E1009"}
    rc, out = run("requirements", "import", "RTTM.xlsx", "--sheet", "Sheet9", "--out", "other.csv")
    assert rc == 1 and "no sheet 'Sheet9'" in out and "nothing imported" in out
    assert not (tmp_path / "other.csv").exists()


def test_list_and_check(tmp_path: Path, run) -> None:
    write(tmp_path, "test_data/requirements/a.yaml", CATALOGUE)
    rc, out = run("requirements", "list", "--roles", "SDS")
    ids = [line.split()[0] for line in out.splitlines()]
    assert rc == 0 and ids == ["BP003", "IF-031", "IF-035"]  # the interfaces apply to every role
    write(tmp_path, "test_data/requirements/a.yaml", CATALOGUE.replace("roles: [SUP, REGS, SDS]", "roles: [SUP]"))
    rc, out = run("requirements", "list", "--roles", "SDS", "--stage", "sit-functional")
    assert [line.split()[0] for line in out.splitlines()] == ["IF-031", "IF-035"]
    rc, out = run("requirements", "list", "--roles", "SDX")
    assert rc == 2 and "unknown role 'SDX' (did you mean 'SDS'?)" in out
    write(tmp_path, "test_data/requirements/b.csv", "id,title\nBP003,again\n")
    rc, out = run("requirements", "check")
    assert rc == 1 and "test_data/requirements/b.csv:2 [id]: duplicate requirement id BP003" in out
    rc, out = run("requirements", "check", "nowhere")
    assert rc == 2 and "nowhere: no such file or directory" in out


# --------------------------------------------------------------------------- scenarios' ids: validate


def project(root: Path, scenario_text: str, catalogue: str | None = CATALOGUE) -> Path:
    copy_project(root, themes=False)
    write(root, X, scenario_text)
    if catalogue is not None:
        write(root, "test_data/requirements/catalogue.yaml", catalogue)
    return root


def test_validate_reports_an_unknown_id_at_its_list_entry_with_a_suggestion(tmp_path: Path, run) -> None:
    project(tmp_path, scenario("[BP003, IF-31]", "\n      - IF-031\n      - BP0003"))
    rc, out = run("validate")
    assert rc == 1, out
    assert f"{X}:5:23 [requirements[1]]: unknown requirement IF-31 (did you mean 'IF-031'?)" in out
    assert f"{X}:12:9 [cases[0].requirements[1]]: unknown requirement BP0003 (did you mean 'BP003'?)" in out
    assert "add it to the requirements catalogue (test_data/requirements/catalogue.yaml) or correct the id" in out
    assert out.splitlines()[-1] == "2 problems in 1 file"


def test_validate_says_how_many_requirements_it_checked_or_that_it_did_not(tmp_path: Path, run) -> None:
    project(tmp_path, scenario("[BP003, IF-031]"))
    rc, out = run("validate")
    assert rc == 0 and out.rstrip().endswith("; 3 requirements checked against test_data/requirements"), out
    shutil.rmtree(tmp_path / "test_data")
    project(tmp_path, scenario("[BP003, NOT-IN-ANY-CATALOGUE]"), catalogue=None)
    rc, out = run("validate")
    assert rc == 0 and out.rstrip().endswith("requirements not checked: no catalogue at test_data/requirements")


def test_validate_takes_another_catalogue_and_reports_its_problems(tmp_path: Path, run) -> None:
    project(tmp_path, scenario("[BP003, IF-031]"), catalogue=None)
    write(tmp_path, "elsewhere/reqs.csv", "id,title,priority\nBP003,x,1\nIF-031,y,high\n")
    rc, out = run("validate", "--requirements", "elsewhere/reqs.csv")
    assert rc == 1 and "elsewhere/reqs.csv:3 [priority]: IF-031: priority 'high' is not 1-4" in out
    write(tmp_path, "elsewhere/reqs.csv", "id,title,priority\nBP003,x,1\nIF-031,y,2\n")
    rc, out = run("validate", "--requirements", "elsewhere/reqs.csv")
    assert rc == 0 and "2 requirements checked against elsewhere/reqs.csv" in out


def test_the_repository_catalogue_is_clean_and_covers_every_scenario(tmp_path: Path, run) -> None:
    found, problems = load_requirements(REPO / "test_data/requirements", REPO)
    assert problems == []
    referenced = set()
    for path in (REPO / "test_themes").rglob("*.yaml"):
        for line in path.read_text().splitlines():
            if line.strip().startswith("requirements:"):
                referenced |= set(re.findall(r"[A-Z][\w-]*\d", line.split(":", 1)[1]))
    assert referenced and referenced <= set(found)
    assert {"BP003", "IF-031", "E2E1009"} <= set(found)
    copy_project(tmp_path)
    shutil.copytree(REPO / "test_data/requirements", tmp_path / "test_data/requirements")
    rc, out = run("validate")
    assert rc == 0 and f"{len(found)} requirements checked against test_data/requirements" in out


# --------------------------------------------------------------------------- scenarios' ids: pytest


def collect(pytester: pytest.Pytester, *, subprocess: bool = False) -> tuple[pytest.RunResult, str]:
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    result = runner("--collect-only", "-q")
    out = result.stdout.str()
    assert "Traceback" not in out
    return result, out


def test_collection_error_for_a_file_with_an_unknown_id(pytester: pytest.Pytester) -> None:
    project(pytester.path, scenario("[BP003, IF-31]"))
    write(pytester.path, "test_themes/y.yaml", scenario("[IF-035]").replace("SC-REQ", "SC-OK"))
    result, out = collect(pytester)
    result.assert_outcomes(errors=0)  # not pytest's error: a definition error, as the reports say
    assert "1 test collected, 1 definition error" in out
    assert f"{X}:5:23 [requirements[1]]: unknown requirement IF-31 (did you mean 'IF-031'?)" in out
    assert "DEFINITION ERROR test_themes/x.yaml" in out and "ERROR test_themes/y.yaml" not in out


def test_collection_reports_catalogue_problems_and_reads_the_ini_option(pytester: pytest.Pytester) -> None:
    project(pytester.path, scenario("[BP003]"), catalogue=None)
    write(pytester.path, "reqs/r.csv", "id,title,roles\nBP003,x,SUPP\n")
    with (pytester.path / "pytest.ini").open("a") as ini:
        ini.write("mhhs_requirements = reqs\n")
    result, out = collect(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "reqs/r.csv:2 [roles]: BP003: unknown role 'SUPP' (did you mean 'SUP'?)" in out


def test_no_catalogue_means_no_check_at_collection(pytester: pytest.Pytester) -> None:
    project(pytester.path, scenario("[ANYTHING-1]"), catalogue=None)
    result, _ = collect(pytester)
    assert result.ret == pytest.ExitCode.OK


def test_a_cache_never_hides_a_newly_unknown_id(pytester: pytest.Pytester) -> None:
    with_new = CATALOGUE + "  - {id: NEW-1, title: added for a while}\n"
    project(pytester.path, scenario("[BP003, NEW-1]"), catalogue=with_new)
    result, out = collect(pytester)
    assert result.ret == pytest.ExitCode.OK, out
    assert os.listdir(pytester.path / ".mhhs-sit-cache"), "the scenario must be cached on disk"
    write(pytester.path, "test_data/requirements/catalogue.yaml", CATALOGUE)
    expected = f"{X}:5:23 [requirements[1]]: unknown requirement NEW-1"
    for subprocess in (False, True):  # in this process: the memory cache; in a new one: the disk cache
        result, out = collect(pytester, subprocess=subprocess)
        assert result.ret == pytest.ExitCode.INTERRUPTED and expected in out, out
