"""`mhhs-sit run` end to end, as a user sees it: the reports in a run folder cover that run (or its
--cycle) and say so; the cohorts named everywhere are the ones selected; a run is *finished* in the
store only once its reports are written (killed while writing them, it reads *interrupted*); and
--rerun with nothing to re-run says so and exits 0."""

import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import appointment_scenario, copy_project, write

CLI = [sys.executable, "-m", "mhhs_sit.cli.app"]
CATALOGUE = """
requirements:
  - {id: IF-031, title: "Appointment of a data service", source: interface, stage: sit-functional}
  - {id: BP003, title: "Change of Service - Data Service", source: business process, stage: sit-functional}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    copy_project(tmp_path, themes=False)
    scenario = appointment_scenario("SITFT-03-901").replace("theme: 3\n", "theme: 3\nrequirements: [IF-031]\n")
    write(tmp_path, "test_themes/theme_03_x/SITFT-03-901.yaml", scenario)
    write(tmp_path, "test_data/requirements/requirements.yaml", CATALOGUE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(project, *args, code=None):
    """`mhhs-sit run` in its own process; ``code`` runs first in it (to stand in for a kill)."""
    argv = ["run", "--out", "results", "--no-subdir", "--no-report", *args]
    if code is None:
        command = [*CLI, *argv]
    else:
        boot = f"import sys\n{textwrap.dedent(code)}\nfrom mhhs_sit.cli.app import main\nsys.exit(main({argv!r}))"
        command = [sys.executable, "-c", boot]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=240)


def runs_table(project):
    with sqlite3.connect(project / "results" / "mhhs-sit.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM mhhs_runs ORDER BY started")]


def test_a_cohort_run_names_only_its_cohort_and_its_reports_cover_only_it(project):
    first = run(project, "--cohort", "C1")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "cohorts C1, run" in first.stdout and "cohorts C1, C2" not in first.stdout
    results = json.loads((project / "results" / "results.json").read_text())
    assert results["cohorts"] == ["C1"]
    environment = (project / "results" / "allure-results" / "environment.properties").read_text()
    assert "cohorts = C1\n" in environment or "cohorts=C1\n" in environment
    completion = (project / "results" / "completion-report.md").read_text()
    assert f"# MHHS test completion report — run {results['run_id']}" in completion
    assert "| **Cohorts** | C1 |" in completion

    second = run(project, "--cohort", "C1")  # the store now holds two runs; the folder's reports cover one
    assert second.returncode == 0, second.stdout[-3000:]
    latest = json.loads((project / "results" / "results.json").read_text())
    assert f"RTTM (run {latest['run_id']}): 1 of 2 requirements covered" in second.stdout
    whole = subprocess.run([*CLI, "rttm", "--format", "json", "--out", "all.json"], cwd=project, capture_output=True)
    assert whole.returncode == 0
    rttm = json.loads((project / "all.json").read_text())
    assert rttm["covers"] == "every run in the store" and len(rttm["runs"]) == 2
    html = (project / "results" / "rttm.html").read_text()
    assert f"Requirements-to-Test Traceability Matrix — run {latest['run_id']}" in html
    assert results["run_id"] not in html  # the first run is in the store, not in this run's matrix
    assert [r["state"] for r in runs_table(project)] == ["finished", "finished"]
    assert all(r["finished"] and r["heartbeat"] for r in runs_table(project))


def test_mhhs_sit_rttm_names_the_runs_it_combined(project):
    assert run(project, "--cycle", "CY1").returncode == 0
    done = subprocess.run(
        [*CLI, "rttm", "--cycle", "CY1", "--format", "csv", "--out", "o"], cwd=project, capture_output=True, text=True
    )
    [row] = runs_table(project)
    assert done.returncode == 0, done.stderr
    assert f"combined 1 run (cycle CY1): {row['run_id']} ({row['started'][:19]}, finished)" in done.stdout


def test_a_run_killed_while_writing_its_reports_is_never_finished(project):
    kill = """
    import os
    import mhhs_sit.cli.app as app
    app._run_completion = lambda *a: os._exit(9)  # the process dies where the reports are written
    """
    killed = run(project, code=kill)
    assert killed.returncode == 9
    [row] = runs_table(project)
    assert row["state"] == "running" and row["finished"] is None  # as the dead process left it
    listed = subprocess.run([*CLI, "cycle"], cwd=project, capture_output=True, text=True)
    assert listed.returncode == 0
    from mhhs_sit.store.store import ResultsStore

    store = ResultsStore.open("results/mhhs-sit.sqlite", project)
    try:
        [seen] = store.runs()
        assert seen.state == "interrupted"  # every reader: its process is gone
    finally:
        store.close()
    assert not (project / "results" / "completion-report.md").exists()


def test_rerun_with_nothing_to_rerun_says_so_and_exits_0(project):
    assert run(project, "--cycle", "CY1").returncode == 0
    again = run(project, "--cycle", "CY1", "--rerun", "failed")
    assert again.returncode == 0, again.stdout[-3000:]
    assert "nothing to re-run: no case × cohort of cycle CY1 has a latest status of failed" in again.stdout


def test_outcomes_of_a_case_no_longer_collected_are_stale_and_count_for_nothing(project):
    assert run(project, "--cycle", "CY1").returncode == 0
    (project / "test_themes" / "theme_03_x" / "SITFT-03-901.yaml").unlink()  # the case is gone
    write(project, "test_themes/theme_03_x/SITFT-03-902.yaml", appointment_scenario("SITFT-03-902"))
    done = subprocess.run(
        [*CLI, "rttm", "--cycle", "CY1", "--format", "json,csv", "--out", "o"], cwd=project, capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads((project / "o" / "rttm-CY1.json").read_text())
    [case] = next(r for r in doc["requirements"] if r["id"] == "IF-031")["cases"]
    assert case["case"] == "SITFT-03-901-TC01" and case["cohorts"]["C1"]["status"] == "passed"
    assert case["cohorts"]["C1"]["stale"] is True and case["verdict"] == "not executed"
    assert doc["summary"]["covered"] == 0  # a stale pass covers nothing
    assert "passed (stale)" in (project / "o" / "rttm-CY1.csv").read_text()


def test_the_run_folders_reports_share_one_denominator_and_relative_links_that_survive_packing(project, tmp_path):
    import re
    import zipfile

    done = run(project)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "RTTM (run " in done.stdout and "1 of 2 requirements covered" in done.stdout
    line = "the 2 requirements of the catalogue"
    completion = (project / "results" / "completion-report.html").read_text()
    rttm = (project / "results" / "rttm.html").read_text()
    assert "1 of 2 requirements are covered" in completion and line in completion and "as the RTTM counts" in completion
    assert line in rttm and "as the completion report counts" in rttm
    assert "file://" not in rttm  # the run's evidence link is relative to the RTTM's folder
    assert 'href="report/index.html"' in rttm and 'href="completion-report.html"' in rttm
    assert 'href="rttm.html"' in completion and 'href="results.json"' in completion

    packed = subprocess.run([*CLI, "evidence", "pack", "results", "--out", tmp_path / "p.zip"], cwd=project,
                            capture_output=True, text=True)  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    moved = tmp_path / "elsewhere"
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        zf.extractall(moved)
    for page in ("rttm.html", "completion-report.html"):
        hrefs = set(re.findall(r'href="([^"#]+)"', (moved / "results" / page).read_text()))
        siblings = {h for h in hrefs if h in {"rttm.html", "completion-report.html", "results.json"}}
        assert siblings and all((moved / "results" / h).is_file() for h in siblings), (page, hrefs)
