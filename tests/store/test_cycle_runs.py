"""A cycle's runs through the plugin: the store written as a run goes, --rerun, killed runs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from tests.helpers import copy_project, write


def slow_scenario(sid: str, cases: int, *, wait: str = "0s", value: int = 1) -> str:
    text = f"scenario: {sid}\ntitle: t {sid}\nstage: sit-functional\ntheme: 1\nroles: [REGS]\n"
    text += "requirements: [REQ-1]\ncases:\n"
    for n in range(1, cases + 1):
        text += (
            f"  - id: {sid}-TC{n:02d}\n    title: case {n}\n    steps:\n      - wait: {wait}\n"
            f"      - assert:\n          - {{value: {value}, eq: 1}}\n"
        )
    return text


def counts(db):
    try:
        with sqlite3.connect(db) as conn:
            return dict(conn.execute("select status, count(*) from mhhs_results group by status").fetchall())
    except sqlite3.OperationalError:  # the tables are being created
        return {}


def test_fail_fix_pass_rerun_selects_exactly_what_the_cycle_needs(pytester):
    copy_project(pytester.path, themes=False)
    write(pytester.path, "test_themes/a.yaml", slow_scenario("A-01-001", 2, value=2))
    write(pytester.path, "test_themes/b.yaml", slow_scenario("B-01-001", 1))
    first = pytester.runpytest_subprocess("--cycle", "C2", "--sprint", "1", "--cohort", "C1", timeout=180)
    first.assert_outcomes(passed=1, failed=2)

    write(pytester.path, "test_themes/a.yaml", slow_scenario("A-01-001", 2))  # the fix
    second = pytester.runpytest_subprocess("--cycle", "C2", "--sprint", "2", "--rerun", "failed", timeout=180)
    # exactly the two failed items of C1; C2's never-run items are not "failed"
    second.assert_outcomes(passed=2, deselected=4)
    second.stdout.fnmatch_lines(["*re-running the cases whose latest status in cycle C2 is failed*"])

    third = pytester.runpytest_subprocess("--cycle", "C2", "--rerun", "failed,broken", "-n", "2", timeout=180)
    assert "no tests ran" in third.stdout.str() or "6 deselected" in third.stdout.str()
    fourth = pytester.runpytest_subprocess("--cycle", "C2", "--rerun", "not-run", timeout=180)
    fourth.assert_outcomes(passed=3, deselected=3)  # cohort C2 never ran in this cycle
    listed = pytester.runpytest_subprocess("--cycle", "C2", "--collect-only", timeout=180)
    listed.stdout.fnmatch_lines(["*6 tests collected*"])  # listing the cases is not a run of them

    other = pytester.runpytest_subprocess("--cycle", "C3", "--rerun", "not-run", "--cohort", "C1", timeout=180)
    other.assert_outcomes(passed=3, deselected=3)  # another cycle has its own history

    shown = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "cycle", "--cycle", "C2"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "cycle C2: 3 runs" in lines[0]  # a run that selected nothing recorded nothing
    assert any("A-01-001-TC01[C1]" in line and "failed (#1) → passed (#2)" in line for line in lines), lines
    assert any("B-01-001-TC01[C2]" in line and line.strip().startswith("PASSED") for line in lines), lines


def test_rerun_definition_error_runs_the_cases_of_a_file_the_cycle_could_not_load(pytester):
    copy_project(pytester.path, themes=False)
    write(pytester.path, "test_themes/a.yaml", slow_scenario("A-01-001", 2).replace("roles:", "roles: [REGS\nbad:"))
    write(pytester.path, "test_themes/b.yaml", slow_scenario("B-01-001", 1))
    first = pytester.runpytest_subprocess(
        "--cycle", "C4", "--cohort", "C1", "--continue-on-collection-errors", timeout=180
    )
    first.stdout.fnmatch_lines(["*1 passed*1 definition error*"])  # a.yaml could not be loaded: none of its cases ran

    write(pytester.path, "test_themes/a.yaml", slow_scenario("A-01-001", 2))  # the fix
    again = pytester.runpytest_subprocess("--cycle", "C4", "--cohort", "C1", "--rerun", "definition-error", timeout=180)
    again.assert_outcomes(passed=2, deselected=4)  # a.yaml's two cases in C1; not b.yaml's passed one
    again.stdout.fnmatch_lines(["test_themes/a.yaml ..*"])
    done = pytester.runpytest_subprocess("--cycle", "C4", "--cohort", "C1", "--rerun", "definition-error", timeout=180)
    done.stdout.fnmatch_lines(["*nothing to re-run*"])  # the file loaded since: its error is history


def test_a_run_killed_mid_way_leaves_a_store_the_next_run_reads(pytester):
    copy_project(pytester.path, themes=False)
    write(pytester.path, "test_themes/slow.yaml", slow_scenario("S-01-001", 12, wait="300ms"))
    db = pytester.path / "results" / "mhhs-sit.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "--cycle", "K", "--cohort", "C1"],
        cwd=pytester.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists() and counts(db).get("passed", 0) >= 3:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the run recorded nothing within 60 s")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    recorded = counts(db)
    assert sum(recorded.values()) == 12 and recorded["passed"] >= 3 and recorded.get("not run", 0) >= 1
    assert set(recorded) <= {"passed", "not run"}  # nothing half-written, nothing claimed that did not happen

    rerun = pytester.runpytest_subprocess("--cycle", "K", "--cohort", "C1", "--rerun", "not-run", timeout=180)
    # exactly the cases the killed run did not record; C2 is deselected by --cohort
    rerun.assert_outcomes(passed=recorded["not run"], deselected=recorded["passed"] + 12)
    with sqlite3.connect(db) as conn:
        states = [s for (s,) in conn.execute("select state from mhhs_runs order by started")]
    assert states == ["interrupted", "finished"]  # the next run closed the killed one


def test_a_session_of_plain_tests_leaves_no_store(pytester):
    """Only scenario items are a cycle's outcomes: the framework's own tests never write into results/."""
    copy_project(pytester.path, themes=False)
    plain = "import pytest\n\ndef test_a():\n    pass\n\n"
    plain += "@pytest.mark.parametrize('x', [1])\ndef test_b(x):\n    assert x\n"  # named like a case: test_b[1]
    write(pytester.path, "test_plain.py", plain)
    pytester.runpytest_subprocess("test_plain.py", "--mhhs-results", "r.json", timeout=180).assert_outcomes(passed=2)
    assert not (pytester.path / "results").exists()
    write(pytester.path, "test_themes/a.yaml", slow_scenario("A-01-001", 1))
    pytester.runpytest_subprocess("test_plain.py", "test_themes", "--cohort", "C1", timeout=180).assert_outcomes(
        passed=3
    )
    assert counts(pytester.path / "results" / "mhhs-sit.sqlite") == {"passed": 1}  # the scenario's case, not the tests
