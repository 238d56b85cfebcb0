"""The progress line of a long cycle: counted from the reports as they arrive."""

from __future__ import annotations

import re

import pytest

from mhhs_sit.collection.progress import Progress
from tests.test_overlap import many_cases, project, run  # noqa: F401 -- the fixture and helpers of those runs


def report(nodeid: str, outcome: str = "passed", when: str = "call") -> pytest.TestReport:
    return pytest.TestReport(nodeid, ("x", 1, "x"), {}, outcome, None, when)


def test_the_line_counts_cases_and_troubles_and_estimates_what_is_left():
    now = [0.0]
    lines: list[str] = []
    progress = Progress(10, lines.append, lambda: 4, clock=lambda: now[0])
    progress.total = 10
    for i, (outcome, seconds) in enumerate([("passed", 2), ("failed", 4), ("passed", 6), ("passed", 11)]):
        now[0] = seconds
        progress.pytest_runtest_logreport(report(f"t.yaml::C{i}[C1]", outcome))
    progress.pytest_runtest_logreport(report("tests/test_x.py::test_y"))  # not a case: not counted
    assert lines == ["mhhs-sit: 4/10 done (1 failed), 4 in flight, 6 to go, 0.4 cases/s, about 16s left"]


def test_a_case_broken_before_its_call_counts_once_as_broken():
    lines: list[str] = []
    progress = Progress(0, lines.append, lambda: 1)
    progress.total = 3
    progress.pytest_runtest_logreport(report("t.yaml::C1[C1]", "failed", "setup"))
    progress.pytest_runtest_logreport(report("t.yaml::C1[C1]", "passed", "teardown"))
    assert progress.done == 1 and progress.broken == 1 and progress.failed == 0
    assert lines[-1].startswith("mhhs-sit: 1/3 done (1 broken), 1 in flight, 2 to go")


def test_definition_errors_are_counted_apart_from_failures_and_broken_cases():
    from mhhs_sit.results.run import BROKEN, DEFINITION

    lines: list[str] = []
    progress = Progress(0, lines.append, lambda: 0)
    progress.total = 9
    for i, outcome in enumerate([DEFINITION, DEFINITION, BROKEN, None]):
        rep = report(f"t.yaml::C{i}[C1]", "failed")
        rep.user_properties = [outcome] if outcome else []
        progress.pytest_runtest_logreport(rep)
    assert (progress.failed, progress.broken, progress.definition) == (1, 1, 2)
    assert lines[-1].startswith("mhhs-sit: 4/9 done (1 failed, 1 broken, 2 definition errors)")


def test_a_run_shows_the_line_every_so_often_with_what_is_in_flight(pytester, project):  # noqa: F811
    (project / "test_themes").mkdir(exist_ok=True)
    (project / "test_themes" / "late.yaml").write_text(many_cases("T-21-001", 8))
    result = run(pytester, "-q", "--mhhs-concurrency", "4", "--mhhs-progress", "0.3")
    result.assert_outcomes(passed=8)
    lines = [line for line in result.outlines if line.startswith("mhhs-sit: ") and " done" in line]
    assert lines, result.stdout.str()
    assert all(" to go, " in line and "cases/s, about " in line for line in lines)
    figures = [re.match(r"mhhs-sit: (\d+)/8 done, (\d+) in flight, (\d+) to go", line) for line in lines]
    assert all(f is not None and int(f[1]) + int(f[3]) == 8 for f in figures)
    assert any(f is not None and int(f[1]) < 8 and int(f[2]) >= 2 for f in figures)  # cases overlapping
