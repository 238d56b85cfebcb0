"""xdist work units: a cohort stays on one worker when its cases share its state, else it is spread."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from mhhs_sit.collection.scheduling import CaseBindings, make_scheduler, plan_scopes
from mhhs_sit.core.yamlsrc import parse_yaml
from mhhs_sit.definitions.model import Scenario
from mhhs_sit.definitions.scenario_build import build_scenario
from mhhs_sit.execution.steps import STEP_KINDS
from tests.helpers import write

GROUPS = {"C1": "C1", "C2": "C2"}


def test_a_cohort_any_of_whose_cases_binds_is_one_unit() -> None:
    ids = [f"a.yaml::T-{i}[C1]" for i in range(6)] + [f"a.yaml::T-{i}[C2]" for i in range(6)]
    plan = plan_scopes(ids, GROUPS, lambda nodeid: nodeid == "a.yaml::T-3[C1]", workers=2)
    assert {plan[n] for n in ids if n.endswith("[C1]")} == {"cohort:C1"}
    spread = [plan[n] for n in ids if n.endswith("[C2]")]
    assert len(set(spread)) == 6 and all(s.startswith("cohort:C2/") for s in spread)  # 6 cases, 8 chunks at most


def test_a_spread_cohort_is_cut_into_a_few_chunks_in_order() -> None:
    ids = [f"a.yaml::T-{i:04d}[C1]" for i in range(1000)]
    plan = plan_scopes(ids, GROUPS, lambda nodeid: False, workers=2)
    sizes = Counter(plan[n] for n in ids)
    assert len(sizes) == 8 and set(sizes.values()) == {125}
    assert plan[ids[0]] == plan[ids[124]] != plan[ids[125]]


def test_tests_that_are_not_cases_keep_their_own_unit() -> None:
    plan = plan_scopes(["tests/test_x.py::test_one", "a.yaml::T-1[C1]"], GROUPS, lambda nodeid: False, workers=2)
    assert plan["tests/test_x.py::test_one"] == "tests/test_x.py::test_one"


SCENARIO = """\
scenario: S-1
title: bindings
stage: sit-functional
theme: 1
roles: [SUP]
cases:
  - id: LISTENS
    title: listens
    steps:
      - expect: {at: SUP, interface: IF-032, within: 1s}
  - id: FAULTS
    title: injects a fault
    steps:
      - fault: {kind: latency, seconds: 1}
  - id: CALLS
    title: only calls an API
    steps:
      - http: {url: /health}
"""


class _Worker:
    """What the scheduler sees of a worker: the indices it was sent, and whether it shut down."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def _scheduled(ahead: int) -> _Worker:
    config = SimpleNamespace(
        getvalue=lambda name: ["popen"] if name == "tx" else None, option=SimpleNamespace(loadscopereorder=False)
    )
    ids = [f"t{u}.yaml::T{i}[C{u}]" for u in range(1, 5) for i in range(3)]  # four bound cohorts of three
    scheduler = make_scheduler(config, None, {f"C{u}": f"C{u}" for u in range(1, 5)}, lambda n: True, ahead)
    worker = _Worker()
    scheduler.add_node(worker)
    scheduler.add_node_collection(worker, ids)
    scheduler.schedule()
    return worker


def test_a_worker_that_overlaps_n_cases_is_handed_enough_to_start_n() -> None:
    alone = _scheduled(ahead=1)
    assert alone.sent == [0, 1, 2]  # xdist's own rule: another unit only when two or fewer are left
    overlapping = _scheduled(ahead=8)
    assert overlapping.sent == list(range(9))  # whole units, in order
    assert not overlapping.shutting_down


def test_case_bindings_come_from_the_step_kinds(tmp_path: Path) -> None:
    scenario, problems = build_scenario(parse_yaml(SCENARIO, "s.yaml"), STEP_KINDS)
    assert not problems
    loaded: list[Path] = []

    def load(path: Path) -> Scenario | None:
        loaded.append(path)
        return scenario if path.name == "s.yaml" else None

    binds = CaseBindings(tmp_path, load, STEP_KINDS)
    assert binds("s.yaml::LISTENS[C1]") and binds("s.yaml::FAULTS[C1]")
    assert not binds("s.yaml::CALLS[C2]")
    assert binds("s.yaml::GONE[C1]")  # a case the file no longer has: kept with its cohort
    assert binds("broken.yaml::CALLS[C1]")  # an unreadable file: kept with its cohort
    assert loaded == [tmp_path / "s.yaml", tmp_path / "broken.yaml"]  # each file read once


def test_case_bindings_read_ahead_what_they_will_be_asked_and_stop_once_planned(tmp_path: Path) -> None:
    scenario, _ = build_scenario(parse_yaml(SCENARIO, "s.yaml"), STEP_KINDS)
    loaded: list[Path] = []
    release = threading.Event()

    def load(path: Path) -> Scenario | None:
        loaded.append(path)
        if path.name == "b.yaml":
            release.wait(5)  # the plan is made while this file is read
        return scenario

    binds = CaseBindings(tmp_path, load, STEP_KINDS)
    files = [tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml", Path("/elsewhere/d.yaml")]
    thread = binds.prefetch(files)
    while len(loaded) < 2:
        time.sleep(0.001)
    binds.planned()
    release.set()
    thread.join(5)
    assert loaded == [tmp_path / "a.yaml", tmp_path / "b.yaml"]  # c.yaml: the plan was made first
    assert binds("a.yaml::LISTENS[C1]") and not binds("a.yaml::CALLS[C2]")
    assert loaded == [tmp_path / "a.yaml", tmp_path / "b.yaml"]  # asked about a file read ahead: not read again


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


CALLS = """\
  - id: CALL-{i:02d}
    title: call {i}
    steps:
      - http: {{url: /health, expect: {{json: {{ok: true}}}}}}
"""


WAITS = """\
  - id: WAITS
    title: waits
    steps:
      - expect: {at: SUP, interface: IF-032, within: 0s}
"""


def _project(root: Path, url: str, *, listening: bool) -> None:
    write(root, "pytest.ini", "[pytest]\nmhhs_env = api\n")
    write(root, "cohorts/C1.yaml", 'cohort: C1\nparticipants:\n  SUP: {mpid: SUPA, dip_id: "2300000101"}\n')
    write(root, "environments/api.yaml", f"environment: api\nenvironment_tag: DEV\nstubs: none\ndip_url: {url}\n")
    cases = "".join(CALLS.format(i=i) for i in range(12))
    if listening:  # one case that waits at SUP's webhook: the cohort must stay on one worker
        cases += WAITS
    write(
        root,
        "test_themes/calls.yaml",
        f"scenario: CALLS\ntitle: calls\nstage: sit-functional\ntheme: 1\nroles: [SUP]\ncases:\n{cases}",
    )


def _workers(out: str) -> Counter[str]:
    return Counter(m.group(1) for m in re.finditer(r"\[(gw\d)\] \[\s*\d+%\] PASSED", out))


def test_a_cohort_of_cases_that_share_nothing_runs_on_both_workers(pytester: pytest.Pytester, api: str) -> None:
    _project(pytester.path, api, listening=False)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "-v", timeout=120)
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert set(_workers(result.stdout.str())) == {"gw0", "gw1"}


def test_a_cohort_with_a_listening_case_stays_on_one_worker(pytester: pytest.Pytester, api: str) -> None:
    _project(pytester.path, api, listening=True)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "-v", timeout=120)
    out = result.stdout.str()
    assert len(_workers(out)) == 1, out[-3000:]
    assert sum(_workers(out).values()) == 12  # the calls passed; the listening case failed on its own
