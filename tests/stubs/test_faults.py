"""Faults on demand: the plan's decisions, and inbound faults as a real HTTP client sees them."""

from __future__ import annotations

import asyncio
import copy
import errno
import json
import logging
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import requests
import uvicorn

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.environments import load_environment
from mhhs_sit.definitions.faults import FaultSpecError
from mhhs_sit.dip.client import DipClient
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import SimulatorApp, config_from_cohorts
from mhhs_stubs.config import CONTROL_HEADER
from mhhs_stubs.fault_routes import OPENAPI_PATHS
from mhhs_stubs.faults import FaultPlan, OutboundAction, journal_sink, plan_from_config
from mhhs_stubs.journal import Journal
from mhhs_stubs.server import free_port
from tests.helpers import REPO, write
from tests.stubs.messages import b071

SUP, OTHER_SUP, SDS = "2300000101", "2300000202", "1400000101"


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def recording_plan(seed: int | str = 0, clock: Clock | None = None) -> tuple[FaultPlan, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    plan = FaultPlan(seed, lambda fault, event: events.append(event), clock=clock or Clock())
    return plan, events


def hit(plan: FaultPlan, interface: str = "IF-031", sender: str = SUP, **kw: Any) -> Any:
    return plan.inbound("POST", f"/dip-channel/{interface}", interface, sender, **kw)


# --------------------------------------------------------------------------- the plan


def test_count_applies_to_the_first_n_matches_then_the_fault_switches_itself_off():
    plan, events = recording_plan()
    fault = plan.add({"kind": "status", "status": 503, "count": 2})
    results = [hit(plan) for _ in range(4)]
    assert [r.status if r else None for r in results] == [503, 503, None, None]
    assert plan.get(fault.id) is None and not plan.has_inbound
    assert [(e["event"], e.get("reason")) for e in events] == [
        ("added", None),
        ("applied", None),
        ("applied", None),
        ("expired", "count-used"),
    ]
    assert events[1]["interface"] == "IF-031" and events[1]["sender"] == SUP and events[1]["status"] == 503


def test_after_skips_the_first_k_matches():
    plan, _ = recording_plan()
    plan.add({"kind": "reset", "after": 2, "count": 1})
    assert [bool(hit(plan)) for _ in range(4)] == [False, False, True, False]


def decisions(seed: int | str, n: int = 200) -> list[bool]:
    plan, _ = recording_plan(seed)
    plan.add({"id": "flaky", "kind": "status", "status": 500, "probability": 0.3})
    return [hit(plan) is not None for _ in range(n)]


def test_seeded_probability_repeats_exactly_and_depends_on_the_seed():
    first, again, other = decisions(42), decisions(42), decisions(43)
    assert first == again
    assert first != other
    assert 40 <= sum(first) <= 80  # ~30% of 200


def test_each_fault_draws_from_its_own_stream():
    """Adding a second fault does not change the first one's decisions (one Random per fault)."""
    plan, _ = recording_plan(42)
    plan.add({"id": "flaky", "kind": "status", "status": 500, "probability": 0.3})
    plan.add({"id": "slow", "kind": "latency", "min": 0, "max": 0.01, "probability": 0.5})
    assert [bool(a and a.status) for a in (hit(plan) for _ in range(200))] == decisions(42)


def test_probability_with_count_caps_the_applications():
    plan, _ = recording_plan(1)
    plan.add({"kind": "status", "status": 503, "probability": 0.5, "count": 3})
    assert sum(hit(plan) is not None for _ in range(100)) == 3


def test_a_time_window_ends_the_fault_and_says_when():
    clock = Clock()
    plan, events = recording_plan(clock=clock)
    fault = plan.add({"kind": "latency", "seconds": 0.1, "for_seconds": "2s"})
    assert hit(plan).latency_s == pytest.approx(0.1)
    clock.now += 1.9
    assert hit(plan) is not None
    clock.now += 0.2
    assert hit(plan) is None
    assert events[-1] == {
        "fault": fault.id,
        "kind": "latency",
        "side": "inbound",
        "tag": None,
        "event": "expired",
        "reason": "window-ended",
        "ended_at": round(fault.ends_at, 6),
    }


def test_until_takes_an_iso_time_with_a_zone():
    clock = Clock(1_700_000_000.0)  # 2023-11-14T22:13:20Z
    plan, _ = recording_plan(clock=clock)
    plan.add({"kind": "reset", "until": "2023-11-14T22:13:30Z"})
    assert hit(plan) is not None
    clock.now += 10
    assert plan.list() == []


def test_scope_matches_interface_sender_message_method_and_path():
    plan, _ = recording_plan()
    plan.add({"kind": "status", "status": 503, "scope": {"interface": ["if-031", "IF-033"], "sender": SUP}})
    assert hit(plan, "IF-031") and hit(plan, "IF-033")
    assert not hit(plan, "IF-032") and not hit(plan, "IF-031", OTHER_SUP) and not hit(plan, "IF-031", None)
    plan.clear_all()
    plan.add({"kind": "status", "status": 503, "scope": {"message": "SUR-7"}})
    assert plan.inbound_needs_body
    assert hit(plan, references=("SUR-1", "SUR-7")) and not hit(plan, references=("SUR-1",)) and not hit(plan)
    plan.clear_all()
    plan.add({"kind": "status", "status": 503, "scope": {"method": "delete", "path": "/dip-channel/IF-032/pubconfig"}})
    assert plan.inbound("DELETE", "/dip-channel/IF-032/pubconfig/2300000101", "IF-032", SUP)
    assert not plan.inbound("POST", "/dip-channel/IF-032/pubconfig/2300000101", "IF-032", SUP)
    assert not plan.inbound("DELETE", "/dip-channel/IF-032", "IF-032", SUP)


def test_outbound_scope_matches_recipient_and_transaction_or_reference():
    plan, _ = recording_plan()
    plan.add({"kind": "drop", "scope": {"recipient": SDS, "message": "T-1"}})
    assert plan.outbound("IF-031", SDS, "T-1", "SUR-1").drop
    assert plan.outbound("IF-031", SDS, None, "T-1").drop  # a senderUniqueReference matches too
    assert plan.outbound("IF-031", SUP, "T-1", "SUR-1") is None
    assert plan.outbound("IF-031", SDS, "T-2", "SUR-2") is None
    assert not plan.has_inbound and hit(plan) is None  # outbound faults never touch inbound requests


def test_clear_by_tag_ends_only_that_tests_faults():
    plan, events = recording_plan()
    mine = plan.add({"kind": "reset", "tag": "TC01"})
    theirs = plan.add({"kind": "drop", "tag": "TC02"})
    env = plan.add({"kind": "latency", "seconds": 0})
    assert plan.clear("TC01") == [mine.id]
    assert {f["id"] for f in plan.list()} == {theirs.id, env.id}
    assert events[-1] == {"fault": mine.id, "kind": "reset", "side": "inbound", "tag": "TC01", "event": "expired",
                          "reason": "tag-cleared"}  # fmt: skip
    assert plan.remove(theirs.id) and not plan.remove(theirs.id)
    assert events[-1]["reason"] == "removed"


def test_several_inbound_faults_combine_latency_with_the_first_terminal_fault():
    plan, _ = recording_plan()
    plan.add({"id": "a", "kind": "latency", "seconds": 0.2})
    plan.add({"id": "b", "kind": "status", "status": 429, "retry_after": 3, "count": 1})
    plan.add({"id": "c", "kind": "reset", "count": 1})
    first = hit(plan)
    assert (first.latency_s, first.status, first.retry_after_s, first.reset, first.faults) == (0.2, 429, 3.0, False,
                                                                                               ("a", "b"))  # fmt: skip
    assert plan.get("c").matched == 0  # not consulted while b answered, so its count is intact
    second = hit(plan)
    assert second.reset and second.faults == ("a", "c")


def test_latency_distributions_fixed_uniform_and_long_tailed():
    plan, _ = recording_plan(5)
    plan.add({"id": "u", "kind": "latency", "min": "10ms", "max": "30ms"})
    uniform = [hit(plan).latency_s for _ in range(500)]
    assert min(uniform) >= 0.010 and max(uniform) <= 0.030 and statistics.mean(uniform) == pytest.approx(0.02, 0.1)
    plan.clear_all()
    plan.add({"id": "t", "kind": "latency", "median": "20ms", "p99": "200ms"})
    tail = sorted(hit(plan).latency_s for _ in range(4000))
    assert tail[2000] == pytest.approx(0.020, rel=0.15)
    assert tail[3960] == pytest.approx(0.200, rel=0.3)
    assert tail[-1] <= 2.0  # capped at 10 x p99 unless 'max' says otherwise


def test_drop_duplicate_and_delay_act_once_per_delivery_not_per_attempt():
    plan, events = recording_plan(3)
    plan.add({"kind": "duplicate", "copies": 2, "count": 1})
    plan.add({"kind": "delay", "seconds": 0.5, "count": 1})
    action = plan.outbound("IF-032", SUP, "T-1", "SUR-1", 1)
    assert action == OutboundAction(duplicates=2, delay_s=0.5, faults=("f1", "f2"))
    assert plan.outbound("IF-032", SUP, "T-2", "SUR-2", 1) is None
    plan.add({"kind": "drop", "count": 1})
    assert plan.outbound("IF-032", SUP, "T-3", "SUR-3", 2) is None  # a retry is not a new delivery
    assert plan.outbound("IF-032", SUP, "T-3", "SUR-3", 1).drop
    applied = [e for e in events if e["event"] == "applied"]
    assert applied[0]["recipient"] == SUP and applied[0]["transactionID"] == "T-1" and applied[0]["attempt"] == 1


def test_reorder_releases_a_window_in_reverse_order_of_arrival():
    clock = Clock()
    plan, _ = recording_plan(clock=clock)
    plan.add({"kind": "reorder", "window": "1s"})
    releases = []
    for i, at in enumerate((0.0, 0.1, 0.5, 0.9)):
        clock.now = 1_000_000.0 + at
        action = plan.outbound("IF-032", SUP, f"T-{i}", None)
        assert action.reorder_window_s == 1.0
        releases.append(at + action.delay_s)
    assert releases == sorted(releases, reverse=True)
    clock.now = 1_000_001.5  # a new window opens with the next delivery
    assert plan.outbound("IF-032", SUP, "T-9", None).delay_s == pytest.approx(2.0)


def test_fail_first_fails_n_tries_of_each_chosen_delivery_then_lets_it_through():
    plan, events = recording_plan()
    plan.add({"kind": "fail_first", "tries": 3, "status": 429, "retry_after": "1s", "count": 1})
    tries = [plan.outbound("IF-032", SUP, "T-1", "SUR-1", attempt) for attempt in (1, 2, 3, 4)]
    assert [(a.fail_status, a.retry_after_s) if a else None for a in tries] == [(429, 1.0)] * 3 + [None]
    assert plan.outbound("IF-032", SUP, "T-2", "SUR-2", 1) is None
    assert events[-1]["event"] == "expired" and events[-1]["reason"] == "count-used"
    plan.add({"kind": "fail_first", "error": "connection"})
    assert plan.outbound("IF-032", SUP, "T-3", None, 1).connection_error
    assert plan.outbound("IF-032", SUP, "T-3", None, 2) is None  # tries defaults to 1


def test_fail_first_does_not_fail_retries_of_deliveries_it_did_not_choose():
    plan, _ = recording_plan()
    plan.add({"kind": "fail_first", "tries": 2, "after": 1})
    assert plan.outbound("IF-032", SUP, "T-1", None, 1) is None  # skipped by 'after'
    assert plan.outbound("IF-032", SUP, "T-1", None, 2) is None
    assert plan.outbound("IF-032", SUP, "T-2", None, 1).fail_status == 503


def test_a_recipient_is_down_for_its_window():
    clock = Clock()
    plan, events = recording_plan(clock=clock)
    plan.add({"kind": "down", "scope": {"recipient": SDS}, "for_seconds": 5})
    for attempt in (1, 2, 3):
        action = plan.outbound("IF-031", SDS, "T-1", None, attempt)
        assert action.connection_error and action.down_until == 1_000_005.0
    assert plan.outbound("IF-031", SUP, "T-1", None, 1) is None
    clock.now += 5
    assert plan.outbound("IF-031", SDS, "T-1", None, 4) is None
    assert events[-1]["reason"] == "window-ended"


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ({}, ("kind",), "is required; valid: latency, status"),
        ({"kind": "latncy"}, ("kind",), "did you mean 'latency'"),
        ({"kind": "latency"}, ("seconds",), "'min' and 'max' (uniform)"),
        ({"kind": "latency", "median": 1, "p99": 0.5}, ("p99",), "more than median"),
        ({"kind": "latency", "seconds": "fast"}, ("seconds",), "not a duration"),
        ({"kind": "status"}, ("status",), "500-599 or 429"),
        ({"kind": "status", "status": 404}, ("status",), "500-599 or 429, not 404"),
        ({"kind": "status", "status": 503, "retry_afer": 1}, ("retry_afer",), "did you mean 'retry_after'"),
        ({"kind": "drop", "count": 0}, ("count",), "at least 1"),
        ({"kind": "drop", "probability": 1.5}, ("probability",), "at most 1"),
        ({"kind": "drop", "after": -1}, ("after",), "at least 0"),
        ({"kind": "drop", "scope": {"recipent": SDS}}, ("scope", "recipent"), "did you mean 'recipient'"),
        ({"kind": "drop", "scope": {"interface": "031"}}, ("scope", "interface"), "not an interface id"),
        ({"kind": "drop", "scope": {"recipient": [SDS, "x"]}}, ("scope", "recipient", 1), "not a DIP ID"),
        ({"kind": "reset", "scope": {"recipient": SDS}}, ("scope", "recipient"), "outbound only"),
        ({"kind": "drop", "side": "inbound"}, ("side",), "is outbound"),
        ({"kind": "down"}, ("for_seconds",), "needs its window"),
        ({"kind": "reset", "until": "2026-11-23T16:00:00"}, ("until",), "time zone"),
        ({"kind": "reset", "for_seconds": 1, "until": 5}, ("until",), "not both"),
        ({"kind": "reset", "until": "1970-01-01T00:00:05Z"}, ("until",), "already past"),
        ({"kind": "reorder"}, ("window",), "is required"),
        ({"kind": "fail_first", "error": "timeout"}, ("error",), "must be 'connection'"),
        ({"kind": "duplicate", "copies": True}, ("copies",), "whole number"),
        ({"kind": "empty", "status": 503}, ("status",), "from 200 to 299"),
        ({"kind": "drop", "id": "a b"}, ("id",), "letters, digits"),
        ("drop", (), "must be a mapping"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field_and_the_valid_values(spec, field, words):
    plan, events = recording_plan()
    with pytest.raises(FaultSpecError) as info:
        plan.add(spec)
    assert info.value.field == field
    assert words in str(info.value)
    if field:
        assert str(info.value).startswith(".".join(map(str, field)) + ": ")
    assert plan.list() == [] and events == []


def test_a_repeated_id_is_refused():
    plan, _ = recording_plan()
    plan.add({"id": "x", "kind": "drop"})
    with pytest.raises(FaultSpecError, match="id: a fault with id 'x' is already active"):
        plan.add({"id": "x", "kind": "reset"})


def test_fault_events_are_journal_entries():
    journal = Journal()
    plan = FaultPlan(0, journal_sink(journal))
    plan.add({"kind": "drop", "count": 1})
    plan.outbound("IF-032", SUP, "T-1", "SUR-1", sender=OTHER_SUP)
    entries = journal.query(kind="fault")
    assert [e.response["event"] for e in entries] == ["added", "applied", "expired"]
    applied = entries[1]
    assert (applied.interface_id, applied.sender, applied.transaction_id) == ("IF-032", OTHER_SUP, "T-1")
    assert applied.note == "fault f1 (drop) applied"


# --------------------------------------------------------------------------- environment files


def test_environment_file_faults_reach_the_simulator_config(tmp_path):
    write(tmp_path, "environments/flaky.yaml", """
        environment: flaky
        environment_tag: DEV
        stubs: embedded
        fault_seed: 7
        faults:
          - kind: status
            status: 503
            probability: 0.1
          - kind: latency
            median: 20ms
            p99: 300ms
            scope: {interface: IF-031}
          - kind: down
            until: 2099-01-01T00:00:00Z
            scope: {recipient: "1400000101"}
    """)  # fmt: skip
    env, problems = load_environment("flaky", tmp_path / "environments")
    assert problems == [] and env is not None
    assert json.loads(json.dumps(plan_from_config(env).list()))[2]["spec"]["until"] == "2099-01-01T00:00:00+00:00"
    assert env.fault_seed == 7 and [f["kind"] for f in env.faults] == ["status", "latency", "down"]
    cohorts, _ = load_cohorts(REPO / "cohorts")
    config = config_from_cohorts(cohorts.values(), faults=env.faults, fault_seed=env.fault_seed)
    plan = plan_from_config(config)
    assert plan.seed == 7 and [f["kind"] for f in plan.list()] == ["status", "latency", "down"]


def test_a_bad_fault_in_an_environment_file_is_located_by_file_line_and_path(tmp_path):
    write(tmp_path, "environments/flaky.yaml", """
        environment: flaky
        environment_tag: DEV
        stubs: embedded
        faults:
          - kind: drop
          - kind: status
            status: 404
          - kind: reorder
    """)  # fmt: skip
    env, problems = load_environment("flaky", tmp_path / "environments")
    assert env is None
    rendered = sorted(p.render() for p in problems)
    assert rendered[0].endswith("flaky.yaml:7:13 [faults[1].status]: must be an HTTP status 500-599 or 429, not 404")
    by_path = {p.path: p for p in problems}
    assert by_path["faults[1].status"].line == 7 and "500-599 or 429, not 404" in by_path["faults[1].status"].message
    assert by_path["faults[2].window"].line == 8 and "is required for reorder" in by_path["faults[2].window"].message
    assert len(problems) == 2


# --------------------------------------------------------------------------- over the wire

B071 = b071(SDS)
REFS = ReferenceSource()


def message() -> dict[str, Any]:
    return build_message(interface_id="IF-031", event="DSApp", sender=Sender(SUP, "SUP"), environment_tag="DEV",
                         refs=REFS, custom={"B071": copy.deepcopy(B071)}, recipients=["2200000101"],
                         mpan="1000000000011", distributor_dip_id="2500000101")  # fmt: skip


def sur(m: dict[str, Any]) -> str:
    return m["CommonBlock"]["S1"]["senderUniqueReference"]


class Served:
    """The simulator behind the fault middleware, served by a real uvicorn on loopback."""

    def __init__(self, http: str = "h11") -> None:
        cohorts, problems = load_cohorts(REPO / "cohorts")
        assert not problems
        self.config = config_from_cohorts(cohorts.values(), version="1.8.2", fault_seed=11, check_responses=True)
        self.sim = SimulatorApp(self.config)  # serves /_sim/faults and wraps itself in the fault middleware
        self.plan = self.sim.dip.faults
        app = self.sim.app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # log_config=None: uvicorn's loggers propagate, so a test sees any error it logs
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False,
                                lifespan="on", http=http)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def key(self, dip_id: str = SUP) -> dict[str, str]:
        return {"X-API-Key": self.config.api_keys[dip_id]}

    @property
    def control_headers(self) -> dict[str, str]:
        return {CONTROL_HEADER: self.config.control_key}

    def post(self, body: Any, *, session: Any = requests, dip_id: str = SUP, interface: str = "IF-031") -> Any:
        return session.post(f"{self.url}/dip-channel/{interface}", json=body, headers=self.key(dip_id), timeout=5)

    def client(self, **kw: Any) -> DipClient:
        return DipClient(self.url, api_key_for=self.config.api_keys.get, backoff=0.01, **kw)


@pytest.fixture(scope="module", params=["h11", "httptools"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """Both of uvicorn's HTTP implementations: resets and truncation reach into the connection."""
    if request.param == "httptools":
        pytest.importorskip("httptools", reason="uvicorn uses httptools only when it is installed")
    with Served(request.param) as s:
        yield s


@pytest.fixture
def wire(served: Served, caplog: pytest.LogCaptureFixture) -> Iterator[Served]:
    """One test's faults, tagged and cleared at its end; the server must log no error meanwhile."""
    caplog.set_level(logging.WARNING, logger="uvicorn")
    yield served
    served.plan.clear_all()
    assert [r.getMessage() for r in caplog.records if r.name.startswith("uvicorn")] == []


def code(response: Any) -> str:
    return response.json()["messageArray"][0]["message"].split(" ")[0]


def test_inbound_latency_delays_the_answer_and_the_message_is_accepted(wire):
    wire.plan.add({"kind": "latency", "seconds": "300ms", "count": 1, "tag": "TC-latency"})
    start = time.perf_counter()
    r = wire.post([{"payload": message()}])
    assert r.status_code == 201 and time.perf_counter() - start >= 0.3
    start = time.perf_counter()
    assert wire.post([{"payload": message()}]).status_code == 201 and time.perf_counter() - start < 0.3


def test_a_503_is_a_standard_response_and_nothing_was_accepted(wire):
    wire.plan.add({"kind": "status", "status": 503, "count": 1})
    m = message()
    r = wire.post([{"payload": m}])
    assert r.status_code == 503 and code(r) == "MSG1000"
    assert set(r.json()) == {"messageArray", "timestamp"} and "f" in r.json()["messageArray"][0]["help"]
    assert wire.post([{"payload": m}]).status_code == 201  # the same message again: not a duplicate


def test_a_429_carries_retry_after(wire):
    wire.plan.add({"kind": "status", "status": 429, "retry_after": 2, "count": 1})
    r = wire.post([{"payload": message()}])
    assert r.status_code == 429 and r.headers["Retry-After"] == "2" and code(r) == "MSG1000"


def test_a_reset_is_a_real_tcp_reset(wire):
    wire.plan.add({"kind": "reset", "count": 2})
    with pytest.raises(ConnectionResetError) as info:  # not an answer, not a FIN (recv would return b"")
        raw_post(wire, json.dumps([{"payload": message()}]).encode())
    assert info.value.errno == errno.ECONNRESET
    with requests.Session() as session:
        assert (
            session.get(f"{wire.url}/_sim/health", headers=wire.control_headers, timeout=5).status_code == 200
        )  # a kept-alive connection
        with pytest.raises(requests.ConnectionError, match="reset by peer"):
            wire.post([{"payload": message()}], session=session)
        assert wire.post([{"payload": message()}], session=session).status_code == 201


def test_an_empty_answer_after_the_message_was_accepted(wire):
    wire.plan.add({"kind": "empty", "count": 1})
    m = message()
    r = wire.post([{"payload": m}])
    assert r.status_code == 201 and r.content == b"" and r.headers["Content-Length"] == "0"
    again = wire.post([{"payload": m}])
    assert again.status_code == 400 and code(again) == "MSG1006"  # it was accepted


def test_a_truncated_answer_breaks_the_read_after_the_message_was_accepted(wire):
    wire.plan.add({"kind": "truncated", "keep_bytes": 10, "count": 1})
    m = message()
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        wire.post([{"payload": m}])
    with requests.get(
        f"{wire.url}/_sim/messages",
        headers=wire.control_headers,
        params={"kind": "accepted", "limit": 100000},
        timeout=5,
    ) as r:
        accepted = [e["payload"]["CommonBlock"]["S1"]["senderUniqueReference"] for e in r.json()["messages"]]
    assert sur(m) in accepted
    again = wire.post([{"payload": m}])
    assert again.status_code == 400 and code(again) == "MSG1006"


def raw_post(wire: Served, body: bytes) -> bytes:
    """One request on a fresh socket; everything the server sends until it closes the connection."""
    request = (f"POST /dip-channel/IF-031 HTTP/1.1\r\nHost: x\r\nX-API-Key: {wire.config.api_keys[SUP]}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body  # fmt: skip
    with socket.create_connection(("127.0.0.1", wire.port), timeout=5) as raw:
        raw.sendall(request)
        chunks = []
        while chunk := raw.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_truncated_body_is_the_promised_length_cut_short_then_the_connection_closes(wire):
    wire.plan.add({"kind": "truncated", "keep_bytes": 10, "count": 1})
    answer = raw_post(wire, json.dumps([{"payload": message()}]).encode())  # returns: the server closed
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201")
    headers = dict(line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:])
    promised = int(headers[b"content-length"])
    assert promised > 10 and len(body) == 10


def test_control_paths_are_never_faulted(wire):
    fault = wire.plan.add({"kind": "reset"})  # any request, any interface, any number of times
    assert requests.get(f"{wire.url}/_sim/health", headers=wire.control_headers, timeout=5).status_code == 200
    assert (
        requests.get(
            f"{wire.url}/_sim/messages", headers=wire.control_headers, params={"kind": "fault"}, timeout=5
        ).status_code
        == 200
    )
    assert requests.get(f"{wire.url}/openapi.json", timeout=5).status_code in (200, 404)
    assert requests.post(f"{wire.url}/_sim/idle", headers=wire.control_headers, timeout=5).status_code == 200
    assert wire.plan.get(fault.id).matched == 0
    with pytest.raises(requests.ConnectionError):
        wire.post([{"payload": message()}])


def test_scoped_faults_touch_only_their_interface_sender_or_message(wire):
    wire.plan.add({"kind": "status", "status": 502, "scope": {"interface": "IF-032"}})
    wire.plan.add({"kind": "status", "status": 504, "scope": {"sender": OTHER_SUP}})
    target, other = message(), message()
    wire.plan.add({"kind": "status", "status": 500, "scope": {"message": sur(target)}})
    assert wire.post([{"payload": other}]).status_code == 201
    assert wire.post([{"payload": target}]).status_code == 500
    assert wire.post([{"payload": message()}], dip_id=OTHER_SUP).status_code == 504
    pubconfig = requests.delete(f"{wire.url}/dip-channel/IF-032/pubconfig/{SUP}", headers=wire.key(), timeout=5)
    assert pubconfig.status_code == 502


def test_every_injected_fault_is_in_the_simulators_journal(wire):
    fault = wire.plan.add({"kind": "status", "status": 503, "count": 1, "tag": "TC-journal"})
    wire.post([{"payload": message()}])
    r = requests.get(
        f"{wire.url}/_sim/messages", headers=wire.control_headers, params={"kind": "fault", "limit": 100000}, timeout=5
    )
    mine = [e for e in r.json()["messages"] if e["response"]["fault"] == fault.id]
    assert [e["response"]["event"] for e in mine] == ["added", "applied", "expired"]
    assert mine[1]["interface"] == "IF-031" and mine[1]["sender"] == SUP and mine[1]["response"]["status"] == 503


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "status", "status": 503, "count": 1},
        {"kind": "status", "status": 429, "retry_after": 0.05, "count": 1},
        {"kind": "reset", "count": 1},
        {"kind": "truncated", "count": 1},
    ],
    ids=["503", "429", "reset", "truncated"],
)
def test_the_dip_client_recovers_and_the_message_is_accepted_once(wire, spec):
    wire.plan.add(spec)
    m = message()
    client = wire.client()
    try:
        exchange = client.send("IF-031", [m], dip_id=SUP)
    finally:
        client.close()
    assert exchange.attempts == 2
    if spec["kind"] == "truncated":  # the retry's own answer (MSG1006) is kept, marked as accepted earlier
        assert exchange.status == 400 and exchange.recovered
        assert "accepted by an earlier attempt" in exchange.note
    else:
        assert exchange.status == 201 and not exchange.recovered
    r = requests.get(
        f"{wire.url}/_sim/messages",
        headers=wire.control_headers,
        params={"kind": "accepted", "limit": 100000},
        timeout=5,
    )
    accepted = [e["payload"]["CommonBlock"]["S1"]["senderUniqueReference"] for e in r.json()["messages"]]
    assert accepted.count(sur(m)) == 1


# --------------------------------------------------------------------------- the control API


def conforms(response: Any, path: str, method: str) -> Any:
    """The answer matches what OPENAPI_PATHS says of it (status and body schema)."""
    documented = OPENAPI_PATHS[path][method.lower()]["responses"]
    assert str(response.status_code) in documented, response.status_code
    schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]
    jsonschema.validate(response.json(), schema)
    return response.json()


def test_faults_are_added_listed_and_removed_through_the_control_api(wire):
    url = f"{wire.url}/_sim/faults"
    spec = {"id": "api-reset", "kind": "reset", "count": 1, "scope": {"interface": "IF-031"}, "tag": "TC-api"}
    added = conforms(requests.post(url, headers=wire.control_headers, json=spec, timeout=5), "/_sim/faults", "POST")
    assert added["id"] == "api-reset" and added["scope"] == {"interface": ["IF-031"]} and added["remaining"] == 1
    with pytest.raises(requests.ConnectionError):
        wire.post([{"payload": message()}])  # the fault acts on the DIP path ...
    assert wire.plan.get("api-reset") is None  # ... and its count is used up
    requests.post(
        url, headers=wire.control_headers, json={"kind": "drop", "tag": "TC-api"}, timeout=5
    ).raise_for_status()
    requests.post(
        url, headers=wire.control_headers, json={"id": "keep", "kind": "drop", "tag": "TC-other"}, timeout=5
    ).raise_for_status()
    listed = conforms(
        requests.get(url, headers=wire.control_headers, params={"tag": "TC-api"}, timeout=5), "/_sim/faults", "GET"
    )
    assert listed["count"] == 1 and listed["faults"][0]["kind"] == "drop"
    cleared = conforms(
        requests.delete(url, headers=wire.control_headers, params={"tag": "TC-api"}, timeout=5),
        "/_sim/faults",
        "DELETE",
    )
    assert cleared["removed"] == [listed["faults"][0]["id"]]
    one = f"{url}/keep"
    assert conforms(
        requests.delete(one, headers=wire.control_headers, timeout=5), "/_sim/faults/{fault_id}", "DELETE"
    ) == {"removed": ["keep"]}
    gone = conforms(requests.delete(one, headers=wire.control_headers, timeout=5), "/_sim/faults/{fault_id}", "DELETE")
    assert gone["error"] == "no active fault 'keep'"
    assert requests.get(url, headers=wire.control_headers, timeout=5).json() == {"count": 0, "faults": []}


def test_the_control_api_names_the_wrong_field_and_adds_nothing_from_a_bad_list(wire):
    url = f"{wire.url}/_sim/faults"
    control = wire.control_headers
    bad = conforms(requests.post(url, headers=control, json={"kind": "drop", "scope": {"interface": "31"}}, timeout=5),
                   "/_sim/faults", "POST")  # fmt: skip
    assert bad["field"] == "scope.interface" and "not an interface id" in bad["message"]
    batch = [{"id": "a", "kind": "drop"}, {"kind": "status", "status": 200}, {"id": "a", "kind": "reset"}]
    bad = conforms(requests.post(url, headers=wire.control_headers, json=batch, timeout=5), "/_sim/faults", "POST")
    assert bad["field"] == "[1].status" and bad["error"].startswith("[1] status: must be an HTTP status")
    bad = conforms(
        requests.post(url, headers=wire.control_headers, json=[batch[0], batch[2]], timeout=5), "/_sim/faults", "POST"
    )
    assert bad["field"] == "[1].id" and "already active" in bad["message"]
    not_json = requests.post(
        url, data=b"{kind", headers={**wire.control_headers, "Content-Type": "application/json"}, timeout=5
    )
    assert conforms(not_json, "/_sim/faults", "POST")["error"].startswith("body is not valid JSON")
    assert wire.plan.list() == []
    assert (
        conforms(
            requests.post(url, headers=wire.control_headers, json=batch[:2][:1], timeout=5), "/_sim/faults", "POST"
        )["faults"][0]["id"]
        == "a"
    )
