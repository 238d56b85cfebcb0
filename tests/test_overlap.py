"""Overlapped waits (--mhhs-concurrency): cases in flight together, reported as a serial run reports
them; against the real embedded simulator, whose simulated parties answer a second late."""

from __future__ import annotations

import itertools
import json

import pytest

from tests.helpers import appointment_scenario, copy_project, write

ANSWERED = """
- expect:
    at: SUP
    interface: IF-035
    event: DSAppAccepted
    within: 10s
    where: {M0.MPANCore: "{{ mpan }}", B007.responseCode: A}
"""


def many_cases(sid: str, count: int, extra: str = ANSWERED) -> str:
    head, case = appointment_scenario(sid, extra).split("cases:\n", 1)
    return head + "cases:\n" + "".join(case.replace(f"{sid}-TC01", f"{sid}-TC{i:02d}") for i in range(1, count + 1))


@pytest.fixture
def project(pytester):
    root = copy_project(pytester.path, themes=False)
    write(
        root,
        "environments/late.yaml",
        """
        environment: late
        environment_tag: DEV
        stubs: embedded
        timeouts: {connect: 2s, read: 10s, expect: 10s}
        retries: 1
        faults:
          - {id: late-answers, kind: delay, seconds: 1}
    """,
    )
    return root


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mhhs-env", "late", "--cohort", "C1", *args,
                                         timeout=180)  # fmt: skip


def cases_of(path):
    return json.loads(path.read_text())["cases"]


def comparable(case):
    """A case's record without its clock: what must be the same whatever the concurrency."""
    steps = [{k: v for k, v in s.items() if k != "ms"} for s in case["steps"]]
    return {**{k: v for k, v in case.items() if k not in ("started", "stopped", "duration_s", "steps")}, "steps": steps}


def test_overlapped_cases_wait_together_and_are_recorded_as_a_serial_run_records_them(pytester, project):
    write(project, "test_themes/late.yaml", many_cases("T-20-001", 6))
    serial = run(pytester, "-q", "--mhhs-seed", "7", "--mhhs-results", "serial/results.json")
    serial.assert_outcomes(passed=6)
    overlapped = run(
        pytester, "-q", "--mhhs-seed", "7", "--mhhs-concurrency", "6", "--mhhs-results", "ovl/results.json"
    )
    overlapped.assert_outcomes(passed=6)
    one, many = cases_of(project / "serial" / "results.json"), cases_of(project / "ovl" / "results.json")
    assert [comparable(c) for c in one] == [comparable(c) for c in many]  # same order, data, steps, outcomes
    # serially each case starts after the one before ends; overlapped, the later ones start first
    assert all(b["started"] >= a["stopped"] for a, b in itertools.pairwise(one))
    assert all(c["started"] < many[0]["stopped"] for c in many[1:])
    lines = [line for line in overlapped.outlines if line.startswith("test_themes/")]
    assert lines == [line for line in serial.outlines if line.startswith("test_themes/")]


def test_a_case_with_a_fault_step_runs_with_no_other_in_flight(pytester, project):
    write(project, "test_themes/a_before.yaml", many_cases("T-20-002", 2))
    faulty = appointment_scenario("T-20-003", ANSWERED).replace(
        "    steps:\n", "    steps:\n      - fault: {kind: latency, seconds: 1ms}\n", 1
    )
    write(project, "test_themes/b_fault.yaml", faulty)
    write(project, "test_themes/c_after.yaml", many_cases("T-20-004", 2))
    result = run(pytester, "-q", "--mhhs-concurrency", "8", "--mhhs-results", "out/results.json")
    result.assert_outcomes(passed=5)
    cases = cases_of(project / "out" / "results.json")
    fault = next(c for c in cases if c["case"] == "T-20-003-TC01")
    others = [c for c in cases if c is not fault]
    assert all(c["stopped"] <= fault["started"] or c["started"] >= fault["stopped"] for c in others)
    before = [c for c in others if c["case"].startswith("T-20-002")]
    assert before[1]["started"] < before[0]["stopped"]  # the cases around it still overlap


def test_a_failure_in_an_overlapped_case_is_reported_in_its_turn(pytester, project):
    wrong = (
        ANSWERED
        + """- assert:
    - {value: "{{ mpan }}", eq: "not this MPAN"}
"""
    )
    write(project, "test_themes/a.yaml", many_cases("T-20-005", 2))
    write(project, "test_themes/b.yaml", many_cases("T-20-006", 1, wrong))
    write(project, "test_themes/c.yaml", many_cases("T-20-007", 2))
    result = run(pytester, "-q", "--mhhs-concurrency", "5", "--mhhs-results", "out/results.json")
    result.assert_outcomes(passed=4, failed=1)
    assert "not this MPAN" in result.stdout.str()
    statuses = [(c["case"], c["status"]) for c in cases_of(project / "out" / "results.json")]
    assert statuses == [
        ("T-20-005-TC01", "passed"),
        ("T-20-005-TC02", "passed"),
        ("T-20-006-TC01", "failed"),
        ("T-20-007-TC01", "passed"),
        ("T-20-007-TC02", "passed"),
    ]


def test_a_wait_that_names_no_mpan_takes_only_its_own_cases_answer_while_cases_overlap(pytester, project):
    loose = """
- expect:
    at: SUP
    interface: IF-035
    event: DSAppAccepted
    within: 10s
  save: {answered: M0.MPANCore}
- assert:
    - {value: "{{ answered }}", eq: "{{ mpan }}"}
"""
    write(project, "test_themes/loose.yaml", many_cases("T-20-008", 6, loose))
    result = run(pytester, "-q", "--mhhs-concurrency", "6")
    result.assert_outcomes(passed=6)


def test_the_environment_sets_the_concurrency_when_the_option_does_not(pytester, project):
    env = (project / "environments" / "late.yaml").read_text()
    (project / "environments" / "late.yaml").write_text(env + "concurrency: 3\n")
    write(project, "test_themes/late.yaml", many_cases("T-20-009", 3))
    result = run(pytester, "-q", "--mhhs-results", "out/results.json")
    result.assert_outcomes(passed=3)
    cases = cases_of(project / "out" / "results.json")
    assert all(c["started"] < cases[0]["stopped"] for c in cases[1:])
    serial = run(pytester, "-q", "--mhhs-concurrency", "1", "--mhhs-results", "one/results.json")
    serial.assert_outcomes(passed=3)
    one = cases_of(project / "one" / "results.json")
    assert all(b["started"] >= a["stopped"] for a, b in itertools.pairwise(one))


def test_a_run_stopped_early_leaves_the_cases_started_ahead_not_run_and_cleaned_up(pytester, project):
    wrong = (
        ANSWERED
        + """- assert:
    - {value: "{{ mpan }}", eq: "not this MPAN"}
"""
    )
    write(project, "test_themes/a.yaml", many_cases("T-20-010", 1, wrong))
    write(project, "test_themes/b.yaml", many_cases("T-20-011", 3))
    result = run(pytester, "-q", "-x", "--mhhs-concurrency", "4", "--mhhs-results", "out/results.json")
    result.assert_outcomes(failed=1)
    statuses = [(c["case"], c["status"]) for c in cases_of(project / "out" / "results.json")]
    assert statuses[0] == ("T-20-010-TC01", "failed")
    assert [s for _, s in statuses[1:]] == ["not run"] * 3


def test_a_wrong_answer_that_came_is_a_product_defect_even_while_faults_act(pytester, project):
    """The delay fault held the answer back, but it came, about the case's MPAN, with the wrong
    code: the product's doing (failed), not the environment's (broken)."""
    wrong = ANSWERED.replace("within: 10s", "within: 3s").replace("B007.responseCode: A", "B007.responseCode: R")
    write(project, "test_themes/wrong.yaml", many_cases("T-20-012", 1, wrong))
    result = run(pytester, "-q")
    result.assert_outcomes(failed=1)
    assert "B007.responseCode is 'A', expected 'R'" in result.stdout.str()
    assert "classified as: product behaviour (failed)" in result.stdout.str()


C3 = """
cohort: C3
title: A second supplier with simulated smart agents, Eastern (_A)
participants:
  SUP:  {mpid: SUPC, dip_id: "2300000303", name: Charlie Supply}
  REGS: {mpid: EELC, dip_id: "2200000303", name: Eastern Registration Service, distributor: "10"}
  LDSO: {mpid: EELC, dip_id: "2500000303", name: Eastern Distribution, distributor: "10"}
  SDS:  {mpid: SDSC, dip_id: "1400000303", name: Charlie Smart Data}
  MSS:  {mpid: MSSC, dip_id: "1200000303", name: Charlie Smart Metering}
simulated: [REGS, LDSO, SDS, MSS]
"""


def without_mpan(case):
    return json.loads(json.dumps(comparable(case)).replace(case["data"]["mpan"], "MPAN"))


def span(cases):
    """Seconds from the first case's start to the last one's end, per cohort (one worker each)."""
    by_cohort: dict[str, list[dict]] = {}
    for c in cases:
        by_cohort.setdefault(c["cohort"], []).append(c)
    return {cohort: max(c["stopped"] for c in cs) - min(c["started"] for c in cs) for cohort, cs in by_cohort.items()}


def test_under_xdist_each_worker_overlaps_the_cases_it_was_handed(pytester, project):
    """Two bound cohorts, one a worker: with -n 2 alone each worker waits for its cases one after
    another; with --mhhs-concurrency 8 as well, the eight of a worker wait together, and every case
    ends as it ended without."""
    write(project, "cohorts/C3.yaml", C3)
    write(project, "test_themes/late.yaml", many_cases("T-20-013", 8))
    both = ("-q", "-n", "2", "--cohort", "C3", "--mhhs-seed", "7")
    alone = run(pytester, *both, "--mhhs-results", "alone/results.json")
    alone.assert_outcomes(passed=16)
    overlapped = run(pytester, *both, "--mhhs-concurrency", "8", "--mhhs-results", "ovl/results.json")
    overlapped.assert_outcomes(passed=16)
    one, many = cases_of(project / "alone" / "results.json"), cases_of(project / "ovl" / "results.json")
    assert [c["nodeid"] for c in one] == [c["nodeid"] for c in many]
    # the same steps, messages and outcomes; which worker a cohort lands on picks its data slot
    assert [without_mpan(c) for c in one] == [without_mpan(c) for c in many]
    assert len({c["data"]["mpan"] for c in many}) == len(many)
    slow, fast = span(one), span(many)
    assert set(slow) == set(fast) == {"C1", "C3"}
    assert all(slow[cohort] > 8 for cohort in slow)  # eight 1 s waits one after another
    assert all(fast[cohort] < slow[cohort] / 2 for cohort in fast), (slow, fast)
    for cohort in ("C1", "C3"):  # within a worker: all in flight together
        mine = [c for c in many if c["cohort"] == cohort]
        assert all(c["started"] < mine[0]["stopped"] for c in mine[1:])


def test_a_worker_looks_ahead_at_what_it_was_handed_in_the_order_it_will_run_it():
    """xdist's worker takes the next index off its queue before running the current item; the
    indices still queued follow, read under the queue's lock, the end marker not an item."""
    import contextlib
    import enum
    from types import SimpleNamespace

    from mhhs_sit.collection.workers import WorkerQueue

    class Marker(enum.Enum):
        SHUTDOWN = 0

    class Queue:
        def __init__(self, queued):
            self.queued, self.locked = queued, 0

        @contextlib.contextmanager
        def lock(self):
            self.locked += 1
            yield self.queued

    class WorkerInteractor:  # named as xdist names it
        def __init__(self, items, queued):
            self.session, self.torun = SimpleNamespace(items=items), Queue(queued)

    items = [SimpleNamespace(nodeid=f"t::{i}") for i in range(8)]
    interactor = WorkerInteractor(items, [5, 2, 7, Marker.SHUTDOWN])
    plugins = SimpleNamespace(get_plugins=lambda: [object(), interactor])
    ahead = WorkerQueue(plugins)
    assert [i.nodeid for i in ahead(items[0], items[3], 4)] == ["t::0", "t::3", "t::5", "t::2"]
    assert [i.nodeid for i in ahead(items[0], items[3], 10)] == ["t::0", "t::3", "t::5", "t::2", "t::7"]
    assert interactor.torun.locked == 2
    assert ahead(items[7], None, 8) == [items[7]]  # the worker's last item
    alone = WorkerQueue(SimpleNamespace(get_plugins=lambda: []))  # not xdist's worker: two are known
    assert alone(items[0], items[1], 8) == [items[0], items[1]]


def test_a_case_reading_a_shared_simulator_inbox_runs_with_no_other_in_flight():
    """An inbox read takes and acknowledges what is there, other cases' messages included."""
    from mhhs_sit.execution.steps import STEP_KINDS

    http = STEP_KINDS["http"]
    assert http.exclusive({"url": "/_sim/inbox/{{ cohort.SUP.dip_id }}", "params": {"interface": "STATUS"}})
    assert not http.exclusive({"url": "/_sim/messages/{{ transaction }}"})
    assert not http.exclusive({"url": "/_sim/wait", "params": {"mpan": "{{ mpan }}"}})
