"""A scenario file that cannot be loaded is a definition error, end to end, as a user sees it.

One project, one good file and one with a schema error, run by `mhhs-sit run` in a cycle: the
terminal, results.json, the store, junit.xml, the Allure results, the completion report and the
RTTM all say *definition error*; the store and the RTTM still know that it is the *file* that failed
(its cases show as not run because of it), a definition error is never a product defect, and the run
after the file is mended drops it everywhere.
"""

import csv
import json
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.helpers import appointment_scenario, copy_project, write

pytest_plugins = ["pytester"]

CLI = [sys.executable, "-m", "mhhs_sit.cli.app"]
CATALOGUE = """
requirements:
  - {id: IF-031, title: "Appointment of a data service", source: interface, stage: sit-functional}
  - {id: BP003, title: "Change of Service - Data Service", source: business process, stage: sit-functional}
"""
BAD = "test_themes/theme_03_x/SITFT-03-902.yaml"
GOOD_SCENARIO = appointment_scenario("SITFT-03-901").replace("theme: 3\n", "theme: 3\nrequirements: [IF-031]\n")
MENDED = appointment_scenario("SITFT-03-902").replace("theme: 3\n", "theme: 3\nrequirements: [BP003]\n")
BROKEN = MENDED.replace("stage: sit-functional", "stage: sit-funtional")  # valid YAML, a schema error


@pytest.fixture
def project(tmp_path, monkeypatch):
    copy_project(tmp_path, themes=False)
    write(tmp_path, "test_themes/theme_03_x/SITFT-03-901.yaml", GOOD_SCENARIO)
    write(tmp_path, BAD, BROKEN)
    write(tmp_path, "test_data/requirements/requirements.yaml", CATALOGUE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(project, out):
    argv = [*CLI, "run", "--out", out, "--no-subdir", "--no-report", "--cycle", "CY1"]
    return subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=240)


def rttm(project):
    done = subprocess.run(
        [*CLI, "rttm", "--cycle", "CY1", "--format", "json,csv", "--out", "o"], cwd=project, capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((project / "o" / "rttm-CY1.json").read_text())
    with (project / "o" / "rttm-CY1.csv").open(encoding="utf-8") as fh:
        return done, doc, list(csv.DictReader(fh))


def history(project):
    done = subprocess.run([*CLI, "cycle", "--cycle", "CY1"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def stored(project):
    with sqlite3.connect(project / "results" / "mhhs-sit.sqlite") as db:  # the project's store
        query = "SELECT run_id, nodeid, cohort, status, category FROM mhhs_results ORDER BY recorded"
        return db.execute(query).fetchall()


def test_a_file_that_cannot_be_loaded_is_a_definition_error_everywhere_until_it_is_mended(project):
    done = run(project, "results/one")
    out = done.stdout
    assert done.returncode == 1, out[-3000:] + done.stderr[-2000:]  # the run is not clean: a test file is wrong
    first = project / "results" / "one"
    assert "DEFINITION ERRORS (the test files are wrong, not the product)" in out
    assert f"DEFINITION ERROR {BAD} - {BAD}:3:8 [stage]: 'sit-funtional'" in out
    assert re.search(r"^=+ 1 passed, 1 definition error in ", out, re.M)
    assert "ERROR collecting" not in out and not re.search(r"^ERROR ", out, re.M)  # not pytest's "error"

    results = json.loads((first / "results.json").read_text())
    assert results["totals"] == {"passed": 1, "definition error": 1}
    [file] = [c for c in results["cases"] if c["nodeid"] == BAD]
    assert (file["status"], file["category"], file["cohort"], file["location"]) == (
        "definition error", "test definition error", "", BAD,
    )  # fmt: skip
    assert "'sit-funtional' is not allowed here" in file["message"]
    run_id = results["run_id"]
    assert (run_id, BAD, "", "definition error", "test definition error") in stored(project)

    [testcase] = [t for t in ET.parse(first / "junit.xml").iter("testcase") if "902" in t.get("name")]
    assert testcase.find("error").get("message") == "definition error: the scenario file could not be loaded"
    assert {p.get("name"): p.get("value") for p in testcase.iter("property")} == {"mhhs_outcome": "definition error"}

    allure = first / "allure-results"
    found = [json.loads(p.read_text()) for p in allure.glob("*-result.json")]
    [unloaded] = [r for r in found if r["fullName"] == BAD]
    categories = json.loads((allure / "categories.json").read_text())
    matching = [c["name"] for c in categories if unloaded["status"] in c["matchedStatuses"]
                and re.fullmatch(c.get("messageRegex", ".*"), unloaded["statusDetails"]["message"], re.S)]  # fmt: skip
    assert matching[0] == "Test definition errors"  # Allure files it under the first category it matches
    assert {"name": "parentSuite", "value": "Scenario files that could not be loaded"} in unloaded["labels"]

    report = (first / "completion-report.md").read_text()
    assert "| **2** | **50%** | **1** | **0** | **0** | **1** | **0** | **0** |" in report
    [ec2] = [line for line in report.splitlines() if line.startswith("| EC2 | No open product defects |")]
    assert "| 0 found (max 0) | ✅ PASS |" in ec2  # a definition error is never a product defect
    assert "| test definition error | 0 | 0 | 1 | ❌ 1 | 1 |" in report
    assert "the scenario file could not be loaded: none of its cases ran" in report
    assert "| error |" not in report

    listed, doc, rows = rttm(project)
    assert f"its cases show as 'definition error (file)': {BAD}:3:8" in listed.stderr
    bp003 = next(r for r in doc["requirements"] if r["id"] == "BP003")
    assert bp003["verdict"] == "definition error (file)" and bp003["cases"][0]["case"] == "SITFT-03-902-TC01"
    assert doc["summary"]["by_verdict"]["definition error (file)"] == 1 and doc["schema"] == 2
    assert bp003["cases"][0]["unloaded"].startswith(f"{BAD}:3:8 [stage]: 'sit-funtional' is not allowed here")
    [row] = [r for r in rows if r["Requirement ID"] == "BP003"]
    assert (row["Case"], row["Verdict"]) == ("SITFT-03-902-TC01", "definition error (file)")
    assert row["History"].startswith(f"file not loaded: {BAD}:3:8 [stage]")
    assert f"  DEFINITION ERROR (file) {BAD} (#1): {BAD}:3:8 [stage]" in history(project)
    html = (first / "rttm.html").read_text()
    assert "definition error (file)" in html and "collection error" not in html
    assert f"file not loaded: {BAD}:3:8 [stage]" in html

    write(project, BAD, MENDED)  # the file mended: the next run loads it, and the definition error is gone
    again = run(project, "results/two")
    assert again.returncode == 0, again.stdout[-3000:]
    assert "definition error" not in again.stdout.split("test session starts")[-1].split("EXIT CRITERIA")[0]
    _, doc, _ = rttm(project)
    assert doc["summary"]["by_verdict"]["definition error (file)"] == 0
    assert next(r for r in doc["requirements"] if r["id"] == "BP003")["verdict"] == "covered"
    assert (run_id, BAD, "", "definition error", "test definition error") in stored(project)  # history kept
    assert "DEFINITION ERROR" not in history(project) and "PASSED   SITFT-03-902-TC01[C1]" in history(project)
    cycle = subprocess.run(
        [*CLI, "completion-report", "results/one", "results/two", "--format", "md", "--out", "cycle"], cwd=project,
        capture_output=True, text=True,
    )  # fmt: skip
    assert cycle.returncode == 0, cycle.stdout + cycle.stderr  # the later run loaded the file: it is superseded
    combined = (project / "cycle" / "completion-report.md").read_text()
    assert "| **2** | **100%** | **2** | **0** | **0** | **0** | **0** | **0** |" in combined
    assert BAD.replace("_", "\\_") not in combined.split("## All results", 1)[1].split("::")[0]


def test_only_scenario_files_become_definition_errors_a_broken_python_file_stays_pytests_error(pytester):
    copy_project(pytester.path, themes=False)
    write(pytester.path, "test_themes/theme_03_x/SITFT-03-901.yaml", GOOD_SCENARIO)
    write(pytester.path, BAD, BROKEN)
    write(pytester.path, "test_themes/test_plain.py", "def test_x(:\n    pass\n")  # not a scenario: pytest's error
    result = pytester.runpytest("--continue-on-collection-errors", "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert re.search(r"^=+ 1 passed, (\d+ warnings?, )?1 error, 1 definition error in ", out, re.M), out[-2000:]
    assert "ERROR collecting test_themes/test_plain.py" in out and f"ERROR collecting {BAD}" not in out
    assert f"DEFINITION ERROR {BAD} - {BAD}:3:8 [stage]" in out
