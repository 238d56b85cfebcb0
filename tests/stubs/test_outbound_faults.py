"""Outbound faults through the real delivery engine: every kind observed at a real webhook."""

from __future__ import annotations

import time

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_stubs import DeliveryPolicy, EmbeddedSimulator, config_from_cohorts
from tests.helpers import REPO
from tests.stubs.test_delivery_engine import SDS2, advisory, send, status_of, subscribe, unsubscribe
from tests.stubs.webhook_sink import WebhookSink


@pytest.fixture(scope="module")
def sim():
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    policy = DeliveryPolicy(attempts=4, backoff=0.05, factor=2.0, max_backoff=0.5, timeout=2.0)
    config = config_from_cohorts(cohorts.values(), delivery=policy, check_responses=True, fault_seed=7)
    with EmbeddedSimulator(config) as s:
        yield s
        assert s.sim.defects == []


@pytest.fixture
def hook(sim):
    sink = WebhookSink()
    path = "/faulty"
    subscribe(sim, sink.url + path, maxMessageCount=1)
    yield sink, path
    unsubscribe(sim)
    requests.delete(f"{sim.url}/_sim/faults", headers=sim.control_headers, timeout=5)
    sink.close()


def fault(sim, **spec):
    r = requests.post(
        f"{sim.url}/_sim/faults", headers=sim.control_headers, json={"scope": {"recipient": SDS2}, **spec}, timeout=5
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def fault_events(sim, fault_id):
    entries = requests.get(
        f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"kind": "fault"}, timeout=5
    ).json()["messages"]
    return [e["response"]["event"] for e in entries if e["response"].get("fault") == fault_id or fault_id in e["note"]]


def txs(sink, path):
    return [m["CommonBlock"]["D0"]["transactionID"] for m in sink.delivered(path)]


def test_drop_loses_the_delivery_and_says_so(sim, hook):
    sink, path = hook
    fid = fault(sim, kind="drop", count=1)
    dropped, kept = send(sim, advisory(), advisory())
    assert status_of(sim, kept)["status"] == "delivered"
    assert status_of(sim, dropped, until=("dropped",))["status"] == "dropped"
    assert txs(sink, path) == [kept]
    assert "applied" in fault_events(sim, fid)


def test_duplicate_delivers_twice(sim, hook):
    sink, path = hook
    fault(sim, kind="duplicate", copies=2, count=1)
    (tx,) = send(sim, advisory())
    sink.wait_calls(path, 3)
    assert txs(sink, path) == [tx, tx, tx]


def test_reorder_releases_a_window_in_reverse(sim, hook):
    sink, path = hook
    fault(sim, kind="reorder", window=0.4, count=3)
    sent = send(sim, advisory(), advisory(), advisory())
    sink.wait_calls(path, 3)
    assert txs(sink, path) == list(reversed(sent))


def test_delay_holds_a_delivery(sim, hook):
    sink, path = hook
    fault(sim, kind="delay", seconds=0.5, count=1)
    started = time.time()
    (tx,) = send(sim, advisory())
    calls = sink.wait_calls(path, 1)
    assert txs(sink, path) == [tx] and calls[0]["at"] - started >= 0.45


def test_fail_first_then_succeed(sim, hook):
    sink, path = hook
    fault(sim, kind="fail_first", tries=2, status=503, count=1)
    (tx,) = send(sim, advisory())
    d = status_of(sim, tx)
    assert d["status"] == "delivered"
    assert [a.get("status") for a in d["attempts"]] == [503, 503, 201]
    assert len(sink.wait_calls(path, 1)) == 1  # the failed tries never reached the webhook


def test_fail_first_beyond_the_attempts_ends_in_a_dead_letter(sim, hook):
    sink, _ = hook
    fault(sim, kind="fail_first", tries=9, error="connection", count=1)
    (tx,) = send(sim, advisory())
    d = status_of(sim, tx)
    assert d["status"] == "dead-letter" and len(d["attempts"]) == 4
    assert all(a["error"].startswith("connection refused") for a in d["attempts"])
    assert sink.calls == []


@pytest.mark.usefixtures("hook")
def test_a_recipient_down_for_a_window_gets_its_messages_after(sim):
    fault(sim, kind="down", for_seconds=0.3)
    (tx,) = send(sim, advisory())
    d = status_of(sim, tx)
    assert d["status"] == "delivered"
    assert d["attempts"][0]["error"].startswith("connection refused") and d["attempts"][-1]["status"] == 201
