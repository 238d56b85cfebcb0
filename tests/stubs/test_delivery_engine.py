"""The delivery engine over real loopback HTTP: retries, Retry-After, dead letters, batches,
the pull inbox, replay and requeue, status messages and the blocking wait."""

from __future__ import annotations

import copy
import threading
import time
from contextlib import contextmanager

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import DeliveryPolicy, EmbeddedSimulator, config_from_cohorts
from tests.helpers import REPO
from tests.stubs.messages import appointment
from tests.stubs.webhook_sink import WebhookSink

SUP2, SDS2 = "2300000202", "1400000202"  # cohort C2: both played from outside (not simulated)
REFS = ReferenceSource("t")


@pytest.fixture(scope="module")
def sim():
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    policy = DeliveryPolicy(attempts=3, backoff=0.05, factor=2.0, max_backoff=1.0, timeout=2.0)
    with EmbeddedSimulator(config_from_cohorts(cohorts.values(), delivery=policy, check_responses=True)) as s:
        yield s
        assert s.sim.defects == []  # every answer matched /openapi.json


@pytest.fixture
def sink():
    s = WebhookSink()
    yield s
    s.close()


def key(sim, dip_id):
    return {"X-API-Key": sim.config.api_keys[dip_id]}


def advisory(mpan="1000000000011", **kw):
    return build_message(
        interface_id="IF-024", event="SupplierAdvisory", sender=Sender(SUP2, "SUP"), environment_tag="DEV",
        refs=REFS, custom={"B999": {"note": "test"}}, recipients=[SDS2], mpan=mpan, **kw,
    )  # fmt: skip


def send(sim, *messages, interface="IF-024", sender=SUP2):
    r = requests.post(
        f"{sim.url}/dip-channel/{interface}",
        json=[{"payload": m} for m in messages],
        headers=key(sim, sender),
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return [item["transactionID"] for item in r.json()["messageArray"]]


def subscribe(sim, url, interface="IF-024", dip_id=SDS2, **extra):
    r = requests.post(
        f"{sim.url}/dip-channel/{interface}/pubconfig/{dip_id}",
        json={"callbackURL": url, **extra},
        headers=key(sim, dip_id),
        timeout=5,
    )
    assert r.status_code == 201, r.text


@contextmanager
def subscribed(sim, url, interface="IF-024", dip_id=SDS2, **extra):
    """The recipient's webhook for the duration of a ``with`` block."""
    subscribe(sim, url, interface, dip_id, **extra)
    try:
        yield
    finally:
        unsubscribe(sim, interface, dip_id)


def unsubscribe(sim, interface="IF-024", dip_id=SDS2):
    r = requests.delete(f"{sim.url}/dip-channel/{interface}/pubconfig/{dip_id}", headers=key(sim, dip_id), timeout=5)
    assert r.status_code == 204


def status_of(sim, tx, timeout=10.0, until=("delivered", "failed", "dead-letter")):
    deadline = time.monotonic() + timeout
    while True:
        entry = requests.get(f"{sim.url}/_sim/messages/{tx}", headers=sim.control_headers, timeout=5).json()
        deliveries = [d for d in entry["deliveries"] if d["recipient"] == SDS2]
        if (deliveries and deliveries[-1]["status"] in until) or time.monotonic() > deadline:
            return deliveries[-1]
        time.sleep(0.02)


def test_a_flaky_webhook_gets_the_message_after_retries(sim, sink):
    path = "/flaky"
    sink.script[path] = [(503, {}, 0.0), (500, {}, 0.0)]
    with subscribed(sim, sink.url + path):
        (tx,) = send(sim, advisory())
        d = status_of(sim, tx)
    assert d["status"] == "delivered"
    assert [a.get("status") for a in d["attempts"]] == [503, 500, 201]
    assert [m["CommonBlock"]["D0"]["transactionID"] for m in sink.delivered(path)] == [tx]


def test_retry_after_is_honoured(sim, sink):
    path = "/busy"
    sink.script[path] = [(429, {"Retry-After": "1"}, 0.0)]
    with subscribed(sim, sink.url + path):
        (tx,) = send(sim, advisory())
        d = status_of(sim, tx)
    calls = sink.wait_calls(path, 2)
    assert d["status"] == "delivered" and [c["status"] for c in calls] == [429, 201]
    assert calls[1]["at"] - calls[0]["at"] >= 0.9  # the 0.05 s backoff gave way to Retry-After: 1


def test_a_dead_webhook_ends_in_a_dead_letter(sim, sink):
    path = "/down"
    sink.script[path] = [(500, {}, 0.0)] * 5
    with subscribed(sim, sink.url + path):
        (tx,) = send(sim, advisory())
        d = status_of(sim, tx)
    assert d["status"] == "dead-letter" and len(d["attempts"]) == 3
    dead = requests.get(
        f"{sim.url}/_sim/deliveries", headers=sim.control_headers, params={"status": "dead-letter"}, timeout=5
    ).json()
    assert tx in [row["transactionID"] for row in dead["deliveries"]]
    events = requests.get(
        f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"kind": "event"}, timeout=5
    ).json()["messages"]
    assert any("dead letter" in e["note"] and e["transactionID"] == tx for e in events)


def test_refused_connections_are_retried_then_dead_lettered(sim):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with subscribed(sim, f"http://127.0.0.1:{port}/nobody"):
        (tx,) = send(sim, advisory())
        d = status_of(sim, tx)
    assert d["status"] == "dead-letter"
    assert all(a["error"].startswith("connection refused: 127.0.0.1") for a in d["attempts"])


def test_a_4xx_from_the_recipient_is_not_retried(sim, sink):
    path = "/reject"
    sink.script[path] = [(400, {}, 0.0)]
    with subscribed(sim, sink.url + path):
        (tx,) = send(sim, advisory())
        d = status_of(sim, tx)
    assert d["status"] == "failed" and len(d["attempts"]) == 1


def test_messages_queued_behind_a_slow_push_go_together_and_in_order(sim, sink):
    path = "/slow"
    sink.script[path] = [(201, {}, 0.5)]  # the first push takes 0.5 s; the rest queue meanwhile
    with subscribed(sim, sink.url + path, maxMessageCount=5):
        first = send(sim, advisory())
        time.sleep(0.1)
        rest = send(sim, *[advisory() for _ in range(7)])
        for tx in first + rest:
            assert status_of(sim, tx)["status"] == "delivered"
    calls = sink.wait_calls(path, 3)
    assert [len(c["body"]) for c in calls] == [1, 5, 2]  # maxMessageCount is respected
    assert [m["CommonBlock"]["D0"]["transactionID"] for m in sink.delivered(path)] == first + rest


def test_without_a_webhook_messages_wait_in_an_inbox_until_acknowledged(sim):
    (tx,) = send(sim, advisory(mpan="1000000000022"))
    url = f"{sim.url}/_sim/inbox/{SDS2}"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers=key(sim, SUP2), timeout=5).status_code == 403
    got = requests.get(url, params={"lease": 0.3, "interface": "IF-024"}, headers=key(sim, SDS2), timeout=5).json()
    txs = [m["payload"]["CommonBlock"]["D0"]["transactionID"] for m in got["messages"]]
    assert tx in txs
    leased = requests.get(url, params={"interface": "IF-024"}, headers=key(sim, SDS2), timeout=5).json()
    assert tx not in [m["payload"]["CommonBlock"]["D0"]["transactionID"] for m in leased["messages"]]
    time.sleep(0.35)  # the lease ran out without an ack: the message is offered again
    again = requests.get(url, params={"interface": "IF-024"}, headers=key(sim, SDS2), timeout=5).json()
    assert tx in [m["payload"]["CommonBlock"]["D0"]["transactionID"] for m in again["messages"]]
    acked = requests.post(f"{url}/ack", json={"transactionIDs": [tx, "T-nope"]}, headers=key(sim, SDS2), timeout=5)
    assert acked.json() == {"acknowledged": [tx], "unknown": ["T-nope"]}
    assert status_of(sim, tx)["status"] == "delivered"


def test_a_long_poll_pull_returns_as_soon_as_a_message_arrives(sim):
    url = f"{sim.url}/_sim/inbox/{SDS2}"
    requests.get(url, params={"limit": 10000, "lease": 3600}, headers=key(sim, SDS2), timeout=5)  # clear the view
    result = {}

    def pull():
        result["r"] = requests.get(
            url, params={"wait": 10, "interface": "IF-024", "lease": 3600}, headers=key(sim, SDS2), timeout=15
        ).json()

    t = threading.Thread(target=pull)
    started = time.monotonic()
    t.start()
    time.sleep(0.2)
    (tx,) = send(sim, advisory())
    t.join(10)
    assert [m["payload"]["CommonBlock"]["D0"]["transactionID"] for m in result["r"]["messages"]] == [tx]
    assert time.monotonic() - started < 5


def test_replay_returns_published_messages_marked_as_replays(sim, sink):
    with subscribed(sim, sink.url + "/replay"):
        _tx_a, tx_b = send(sim, advisory(mpan="1000000000033"), advisory(mpan="1000000000044"))
        assert status_of(sim, tx_b)["status"] == "delivered"
    body = {"datetimeFrom": None, "datetimeTo": None, "eventCode": "[SupplierAdvisory]", "MPAN": "1000000000044",
            "version": None}  # fmt: skip
    r = requests.post(f"{sim.url}/dip-channel/IF-024/replay/{SDS2}", json=body, headers=key(sim, SDS2), timeout=5)
    assert r.status_code == 200
    replays = r.json()
    assert [m["payload"]["CommonBlock"]["D0"]["transactionID"] for m in replays] == [tx_b]
    assert replays[0]["payload"]["CommonBlock"]["D0"]["replayIndicator"] is True
    bad = requests.post(
        f"{sim.url}/dip-channel/IF-024/replay/{SDS2}", json={"MPAN": 1}, headers=key(sim, SDS2), timeout=5
    )
    assert bad.status_code == 400
    help_text = bad.json()["messageArray"][0]["help"]
    for missing in ("datetimeFrom", "datetimeTo", "eventCode", "version"):
        assert f"{missing}: required" in help_text
    other = requests.post(f"{sim.url}/dip-channel/IF-024/replay/{SDS2}", json=body, headers=key(sim, SUP2), timeout=5)
    assert other.status_code == 403


def test_requeue_pushes_selected_messages_again(sim, sink):
    path = "/requeue"
    with subscribed(sim, sink.url + path):
        (tx,) = send(sim, advisory(mpan="1000000000055"))
        assert status_of(sim, tx)["status"] == "delivered"
        body = {"datetimeFrom": None, "datetimeTo": None, "eventCode": None, "MPAN": None, "version": None,
                "transactionIDs": [tx]}  # fmt: skip
        r = requests.post(f"{sim.url}/dip-channel/IF-024/requeue/{SDS2}", json=body, headers=key(sim, SDS2), timeout=5)
        assert r.status_code == 200 and len(r.json()["messageArray"]) == 1
        sink.wait_calls(path, 2)
    pushed = [m for m in sink.delivered(path) if m["CommonBlock"]["D0"]["transactionID"] == tx]
    assert [m["CommonBlock"]["D0"]["replayIndicator"] for m in pushed] == [False, True]


def test_a_status_message_reaches_the_original_sender(sim, sink):
    path = "/status"
    r = requests.post(
        f"{sim.url}/statusmessage/config/{SUP2}",
        json={"callbackURL": sink.url + path},
        headers=key(sim, SUP2),
        timeout=5,
    )
    assert r.status_code == 201
    try:
        (tx,) = send(sim, advisory(mpan="1000000000066"))
        item = {"transactionID": tx, "senderUniqueReference": None, "correlationID": None,
                "sentTimestamp": "2026-01-01T00:00:00+00:00", "senderID": SDS2, "recipientID": SUP2,
                "DIPConnectionProviderID": None, "message": "RCP0000 - Message Success", "help": None,
                "serviceTicketURL": None}  # fmt: skip
        r = requests.post(f"{sim.url}/statusmessage", json=[item], headers=key(sim, SDS2), timeout=5)
        assert r.status_code == 201, r.text
        calls = sink.wait_calls(path, 1)
    finally:
        requests.delete(f"{sim.url}/statusmessage/config/{SUP2}", headers=key(sim, SUP2), timeout=5)
    assert calls and calls[0]["body"][0]["transactionID"] == tx and calls[0]["body"][0]["senderID"] == SDS2
    bad = requests.post(f"{sim.url}/statusmessage", json=[{"message": "x"}], headers=key(sim, SDS2), timeout=5)
    assert bad.status_code == 400 and "/0/transactionID: required" in bad.json()["messageArray"][0]["help"]


def status(tx, sender, recipient=SUP2, **fields):
    return {"transactionID": tx, "senderUniqueReference": None, "correlationID": None,
            "sentTimestamp": "2026-01-01T00:00:00+00:00", "senderID": sender, "recipientID": recipient,
            "DIPConnectionProviderID": None, "message": "RCP0000 - Message Success", "help": None,
            "serviceTicketURL": None, **fields}  # fmt: skip


def test_only_a_recipient_reports_on_a_transaction_the_dip_published(sim, sink):
    path = "/status-owner"
    r = requests.post(f"{sim.url}/statusmessage/config/{SUP2}", json={"callbackURL": sink.url + path},
                      headers=key(sim, SUP2), timeout=5)  # fmt: skip
    assert r.status_code == 201
    try:
        (tx,) = send(sim, advisory(mpan="1000000000073"))
        refusals = {
            "the sender itself": (key(sim, SUP2), [status(tx, SUP2)], 403, "MSG1009", f"{SUP2} did not receive {tx}"),
            "an unknown transaction": (key(sim, SDS2), [status("T-IF-024-NOPE", SDS2)], 400, "MSG1030",
                                       "T-IF-024-NOPE is not a transaction the DIP published"),
            "one bad item of two": (key(sim, SDS2), [status(tx, SDS2), status("T-X", SDS2)], 400, "MSG1030",
                                    "/1/transactionID"),
            "a numeric transaction ID": (key(sim, SDS2), [status(7, SDS2)], 400, "MSG1001",
                                         "/0/transactionID: must be a string or null, not int"),
        }  # fmt: skip
        for what, (headers, body, code, dip_code, help_text) in refusals.items():
            r = requests.post(f"{sim.url}/statusmessage", json=body, headers=headers, timeout=5)
            item = r.json()["messageArray"][0]
            assert r.status_code == code and item["message"].startswith(dip_code), what
            assert help_text in item["help"], what
        time.sleep(0.2)
        assert sink.delivered(path) == []  # nothing refused was pushed, not even the good half of a batch
        ok = requests.post(f"{sim.url}/statusmessage", json=[status(tx, SDS2)], headers=key(sim, SDS2), timeout=5)
        assert ok.status_code == 201 and sink.wait_calls(path, 1)
    finally:
        requests.delete(f"{sim.url}/statusmessage/config/{SUP2}", headers=key(sim, SUP2), timeout=5)


def test_the_blocking_wait_returns_when_the_message_reaches_the_recipient(sim, sink):
    path = "/wait"
    sink.script[path] = [(503, {}, 0.0)]
    mpan = "1000000000077"
    result = {}

    def wait():
        result["r"] = requests.get(
            f"{sim.url}/_sim/wait",
            headers=sim.control_headers,
            params={"mpan": mpan, "recipient": SDS2, "timeout": 10},
            timeout=15,
        ).json()

    with subscribed(sim, sink.url + path):
        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.2)
        (tx,) = send(sim, advisory(mpan=mpan))
        t.join(12)
    assert result["r"]["found"] is True
    message = result["r"]["message"]
    assert message["transactionID"] == tx
    assert [d["status"] for d in message["deliveries"]] == ["delivered"]  # not before the retry succeeded
    nothing = requests.get(
        f"{sim.url}/_sim/wait", headers=sim.control_headers, params={"mpan": "1999999999999", "timeout": 0.3}, timeout=5
    )
    assert nothing.json()["found"] is False
    bad = requests.get(
        f"{sim.url}/_sim/wait", headers=sim.control_headers, params={"mpan": mpan, "bogus": 1}, timeout=5
    )
    assert bad.status_code == 400 and "bogus" in bad.json()["error"]


def test_a_webhook_off_loopback_is_refused_in_the_local_environment(sim):
    r = requests.post(
        f"{sim.url}/dip-channel/IF-024/pubconfig/{SDS2}",
        json={"callbackURL": "https://example.com/hook"},
        headers=key(sim, SDS2),
        timeout=5,
    )
    assert r.status_code == 400 and "loopback" in r.json()["messageArray"][0]["help"]
    r = requests.post(
        f"{sim.url}/dip-channel/IF-024/pubconfig/{SDS2}",
        json={"callbackURL": "http://127.0.0.1:9/x"},
        headers=key(sim, SUP2),
        timeout=5,
    )
    assert r.status_code == 403


def test_the_validate_endpoint_answers_json_strings_to_a_participant(sim):
    k = key(sim, SUP2)
    refused = requests.post(f"{sim.url}/validate/IF-031/DSApp", json=[{"payload": appointment()}], timeout=5)
    assert refused.status_code == 401  # the spec's global security: the API key
    good = appointment()
    r = requests.post(f"{sim.url}/validate/IF-031/DSApp", json=[{"payload": good}], headers=k, timeout=5)
    assert (r.status_code, r.json()) == (201, "Message OK")
    bad = copy.deepcopy(good)
    bad["CustomBlock"]["B071"]["appointmentScenario"] = 42
    del bad["CustomBlock"]["B071"]["contractReferenceDataService"]
    r = requests.post(
        f"{sim.url}/validate/IF-031/DSApp", json=[{"payload": good}, {"payload": bad}], headers=k, timeout=5
    )
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    lines = r.json().splitlines()
    assert any(line.startswith("/1/payload/CustomBlock/B071/appointmentScenario") for line in lines), lines
    assert any("contractReferenceDataService" in line for line in lines), lines
    assert not any(line.startswith("/0/") for line in lines)
    wrong = requests.post(f"{sim.url}/validate/IF-031/OtherEvent", json=[{"payload": good}], headers=k, timeout=5)
    assert wrong.status_code == 400 and "eventCode" in wrong.text
    empty = requests.post(f"{sim.url}/validate/IF-031/DSApp", json=[], headers=k, timeout=5)
    assert empty.status_code == 400
