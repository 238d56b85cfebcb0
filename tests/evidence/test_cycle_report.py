"""``mhhs-sit report --cycle C``: two real runs of the fixture project (cohorts C1 and C2) into one
SQLite store, the second run's folder moved elsewhere (as a CI job downloads shards' artefacts),
then one RTTM, completion report and Allure report of the cycle; without Allure the RTTM and the
completion report are still written and the command says why there is no Allure report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mhhs_sit.evidence.report import find_allure
from tests.helpers import REPO, copy_project


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
    )


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cycle C7: run one in cohort C1 (its folder stays), run two in C2 (moved to elsewhere/)."""
    root = copy_project(tmp_path_factory.mktemp("cycle"))
    shutil.copytree(REPO / "test_data" / "requirements", root / "test_data" / "requirements")
    store = f"sqlite:///{root / 'store.sqlite'}"
    for cohort, out in (("C1", "runs/one"), ("C2", "runs/two")):
        done = cli(root, "run", "--cycle", "C7", "--cohort", cohort, "--store", store, "--out", out, "--no-subdir",
                   "--no-report")  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (root / "elsewhere").mkdir()
    (root / "runs" / "two").rename(root / "elsewhere" / "shard-2")
    return root


def _no_allure(tmp: Path) -> dict[str, str]:
    """An environment in which no Allure is found: no cached install, none on PATH."""
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "allure").exists()]
    return {"XDG_CACHE_HOME": str(tmp / "cache"), "PATH": os.pathsep.join(path), "MHHS_SIT_ALLURE": ""}


def _cases(results: Path) -> set[tuple[str, str]]:
    return {(c["case"], c["cohort"]) for c in json.loads(results.read_text())["cases"]}


def test_without_allure_the_cycle_s_rttm_and_completion_report_cover_both_runs(cycle, tmp_path):
    out = tmp_path / "merged"
    store = f"sqlite:///{cycle / 'store.sqlite'}"
    done = cli(cycle, "report", "--cycle", "C7", "--store", store, "--evidence", "elsewhere", "--out", str(out),
               env=_no_allure(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cycle: 2 runs in the store, evidence of 2 here" in done.stdout
    assert "elsewhere/shard-2" in done.stdout  # found by its run id, not where the store says
    assert "mhhs-sit: no Allure report. Allure is not installed." in done.stdout
    assert "Traceback" not in done.stderr
    assert {p.name for p in out.iterdir()} >= {
        "rttm.xlsx",
        "rttm.html",
        "completion-report.md",
        "completion-report.html",
    }
    assert not (out / "report").exists()

    report = (out / "completion-report.md").read_text()
    assert "cycle C7 (2 of 2 runs)" in report and "| **Cohorts** | C1, C2 |" in report
    ran = _cases(cycle / "runs" / "one" / "results.json") | _cases(cycle / "elsewhere" / "shard-2" / "results.json")
    assert {cohort for _, cohort in ran} == {"C1", "C2"}
    page = (out / "rttm.html").read_text()
    assert all(case in page for case, _ in ran)
    # both runs' Allure results are gathered, each file once
    one, two = (len(list((d / "allure-results").glob("*-result.json"))) for d in
                (cycle / "runs" / "one", cycle / "elsewhere" / "shard-2"))  # fmt: skip
    assert one and two and len(list((out / "allure-results").glob("*-result.json"))) == one + two


def test_a_run_whose_folder_is_not_here_is_named_and_the_reports_say_what_they_cover(cycle, tmp_path):
    out = tmp_path / "partial"
    store = f"sqlite:///{cycle / 'store.sqlite'}"
    done = cli(cycle, "report", "--cycle", "C7", "--store", store, "--out", str(out), env=_no_allure(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "evidence of 1 here" in done.stdout and "give --evidence DIR" in done.stdout
    assert "cycle C7 (1 of 2 runs)" in (out / "completion-report.md").read_text()


def test_with_allure_one_report_of_the_whole_cycle(cycle, tmp_path):
    if find_allure(REPO) is None:
        if os.environ.get("MHHS_SIT_REQUIRE_TOOLS") == "1":
            pytest.fail("Allure is required here (MHHS_SIT_REQUIRE_TOOLS=1) but was not found")
        pytest.skip("Allure is not installed (mhhs-sit report --install)")
    out = tmp_path / "merged"
    store = f"sqlite:///{cycle / 'store.sqlite'}"
    done = cli(cycle, "report", "--cycle", "C7", "--store", store, "--evidence", "elsewhere", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "report/index.html" in done.stdout.splitlines()[-1]
    assert (out / "report" / "index.html").is_file()
    results = [cycle / "runs" / "one" / "results.json", cycle / "elsewhere" / "shard-2" / "results.json"]
    executed = sum(1 for r in results for c in json.loads(r.read_text())["cases"] if c["status"] != "not run")
    summary = out / "report" / "summary.json"  # Allure 3's; Allure 2 writes none
    if summary.is_file():
        assert json.loads(summary.read_text())["stats"]["total"] == executed > 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "give a run directory (mhhs-sit report RESULTS) or --cycle C, not both or neither"),
        (("runs/one", "--cycle", "C7"), "not both or neither"),
        (("--cycle", "C9"), "no run of cycle 'C9'"),
        (("runs/one", "--evidence", "elsewhere"), "--evidence goes with --cycle"),
    ],
)
def test_wrong_options_are_one_clear_line(cycle, args, says):
    done = cli(cycle, "report", *args, "--store", f"sqlite:///{cycle / 'store.sqlite'}")
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr
