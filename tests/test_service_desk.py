"""The simulator's service desk over real loopback HTTP: a participant raises an incident with its
own signed key and gets a reference; the desk logs it (its store and the journal), prioritises it,
acknowledges it and answers it on the market's clock; only the raiser and the desk read it."""

import datetime as dt
import json

import pytest
import requests

from tests.helpers import FIXTURES, simulating
from tests.stubs.messages import appointment

SUP1, SUP2 = "2300000101", "2300000202"
INCIDENTS = "/_sim/service-desk/incidents"


@pytest.fixture(scope="module")
def sim():
    with simulating(FIXTURES / "cohorts", signing="required") as s:
        yield s


def signed(sim, method, path, dip_id, body=None, *, params=None):
    """A request as ``dip_id``, signed with its key (the simulator requires signatures here)."""
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    prepared = requests.Request(method, sim.url + path, params=params).prepare()
    headers = sim.config.credentials.participant(dip_id).signer().headers(method, prepared.url, raw)
    headers |= {"X-API-Key": sim.config.api_keys[dip_id], "Content-Type": "application/json"}
    return requests.request(method, prepared.url, data=raw, headers=headers, timeout=10)


def desk(sim, method, path, body=None, **kw):
    """The control client, playing the DIP Manager's service desk."""
    return requests.request(method, sim.url + path, headers=sim.control_headers, json=body, timeout=10, **kw)


def raised(sim, dip_id=SUP1, **fields):
    body = {"category": "message-processing", "summary": "IF-032 responses arrive late"} | fields
    r = signed(sim, "POST", INCIDENTS, dip_id, body)
    assert r.status_code == 201, r.text
    return r.json()


def stamp(text):
    return dt.datetime.fromisoformat(text)


def test_an_incident_is_logged_prioritised_and_acknowledged_with_a_reference(sim):
    incident = raised(sim, description="since 09:00, every response is minutes late")
    assert incident["reference"].startswith("INC") and incident["raisedBy"] == SUP1
    assert (incident["priority"], incident["status"]) == ("P2", "acknowledged")
    assert stamp(incident["resolveBy"]) - stamp(incident["raisedAt"]) == dt.timedelta(hours=10)
    assert incident["resolutionHours"] == 10
    assert incident["acknowledgedAt"] == incident["raisedAt"] and incident["overdue"] is False
    first = incident["updates"][0]
    assert first["by"] == "DIP service desk" and incident["reference"] in first["message"]
    assert raised(sim, category="outage")["priority"] == "P1"
    again = signed(sim, "GET", f"{INCIDENTS}/{incident['reference']}", SUP1)
    assert again.status_code == 200 and again.json()["description"] == "since 09:00, every response is minutes late"
    journal = desk(sim, "GET", "/_sim/messages", params={"interface": "SERVICE-DESK", "kind": "event"}).json()
    assert any(incident["reference"] in e["note"] and e["sender"] == SUP1 for e in journal["messages"])


def test_another_participant_can_neither_read_nor_answer_it(sim):
    ref = raised(sim)["reference"]
    r = signed(sim, "GET", f"{INCIDENTS}/{ref}", SUP2)
    assert r.status_code == 403 and "another participant" in r.json()["error"], r.text
    r = signed(sim, "POST", f"{INCIDENTS}/{ref}/updates", SUP2, {"message": "me too"})
    assert r.status_code == 403
    assert all(i["raisedBy"] == SUP2 for i in signed(sim, "GET", INCIDENTS, SUP2).json()["incidents"])
    assert ref in {i["reference"] for i in signed(sim, "GET", INCIDENTS, SUP1).json()["incidents"]}
    assert ref in {i["reference"] for i in desk(sim, "GET", INCIDENTS).json()["incidents"]}  # the desk reads all
    assert signed(sim, "GET", f"{INCIDENTS}/INC9999999", SUP1).status_code == 404


def test_raising_needs_the_participants_own_signature(sim):
    body = json.dumps({"category": "outage", "summary": "DIP down"}).encode()
    key = {"X-API-Key": sim.config.api_keys[SUP1], "Content-Type": "application/json"}
    unsigned = requests.post(sim.url + INCIDENTS, data=body, headers=key, timeout=5)
    assert unsigned.status_code == 401, unsigned.text
    nobody = requests.post(sim.url + INCIDENTS, data=body, headers={"Content-Type": "application/json"}, timeout=5)
    assert nobody.status_code == 401
    wrong_control = requests.get(sim.url + INCIDENTS, headers={**key, "X-Sim-Control-Key": "x" * 20}, timeout=5)
    assert wrong_control.status_code == 401
    r = desk(sim, "POST", INCIDENTS, {"category": "outage", "summary": "DIP down"})
    assert r.status_code == 403 and "participant raises" in r.json()["error"]  # the desk answers, it does not raise


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"summary": "no category"}, "category", "not one of outage"),
        ({"category": "weather", "summary": "x"}, "category", "'weather'"),
        ({"category": "outage"}, "summary", "required"),
        ({"category": "outage", "summary": "  "}, "summary", "non-empty"),
        ({"category": "outage", "summary": "x" * 201}, "summary", "at most 200"),
        ({"category": "outage", "summary": "x", "priority": "P1"}, "priority", "not a field"),
        ({"category": "outage", "summary": "x", "transactionID": "T-none"}, "transactionID", "not a transaction"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(sim, body, field, says):
    r = signed(sim, "POST", INCIDENTS, SUP1, body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and says in r.json()["error"], r.text


def test_a_body_that_is_not_a_json_object_is_refused(sim):
    for raw in (b"[1, 2]", b"{not json"):
        r = signed(sim, "POST", INCIDENTS, SUP1, raw)
        assert r.status_code == 400 and r.json()["error"], r.text
    r = signed(sim, "GET", INCIDENTS, SUP1, params={"state": "open"})
    assert r.status_code == 400 and r.json()["field"] == "state"


def test_an_incident_about_a_transaction_is_answered_with_what_the_journal_knows(sim):
    sent = signed(sim, "POST", "/dip-channel/IF-031", SUP1, [{"payload": appointment("1000000000029")}])
    assert sent.status_code == 201, sent.text
    tx = sent.json()["messageArray"][0]["transactionID"]
    incident = raised(sim, transactionID=tx)
    assert incident["transactionID"] == tx
    assert f"the DIP accepted {tx} on IF-031 from you" in incident["updates"][0]["message"]
    r = signed(sim, "POST", INCIDENTS, SUP2, {"category": "message-processing", "summary": "x", "transactionID": tx})
    assert r.status_code == 400 and r.json()["field"] == "transactionID"  # not SUP2's to ask about


def test_the_desk_works_and_resolves_it_and_the_raiser_closes_it(sim):
    ref = raised(sim)["reference"]
    moved = desk(sim, "POST", f"{INCIDENTS}/{ref}/updates", {"status": "in-progress", "message": "investigating"})
    assert moved.status_code == 200 and moved.json()["status"] == "in-progress"
    r = signed(sim, "POST", f"{INCIDENTS}/{ref}/updates", SUP1, {"status": "resolved", "message": "fixed it myself"})
    assert r.status_code == 409 and r.json()["field"] == "status"  # the raiser does not resolve
    note = signed(sim, "POST", f"{INCIDENTS}/{ref}/updates", SUP1, {"message": "still late at 10:00"})
    assert note.status_code == 200 and note.json()["updates"][-1] | {"at": None} == {
        "at": None, "by": SUP1, "status": "in-progress", "message": "still late at 10:00",
    }  # fmt: skip
    assert desk(sim, "POST", f"{INCIDENTS}/{ref}/updates", {"status": "resolved"}).json()["field"] == "message"
    done = desk(sim, "POST", f"{INCIDENTS}/{ref}/updates", {"status": "resolved", "message": "queue drained"}).json()
    assert (done["status"], done["withinTarget"], done["overdue"]) == ("resolved", True, False)
    assert desk(sim, "POST", f"{INCIDENTS}/{ref}/updates", {"status": "closed", "message": "x"}).status_code == 409
    closed = signed(sim, "POST", f"{INCIDENTS}/{ref}/updates", SUP1, {"status": "closed"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["withinTarget"] is True
    later = desk(sim, "POST", f"{INCIDENTS}/{ref}/updates", {"message": "one more thing"})
    assert later.status_code == 409 and "closed" in later.json()["error"]
    listed = signed(sim, "GET", INCIDENTS, SUP1, params={"status": "closed"}).json()["incidents"]
    assert [i["reference"] for i in listed] == [ref]


def test_the_raiser_reopens_a_resolution_that_did_not_work(sim):
    ref = raised(sim, category="connectivity")["reference"]
    desk(sim, "POST", f"{INCIDENTS}/{ref}/updates", {"status": "resolved", "message": "certificate renewed"})
    r = signed(sim, "POST", f"{INCIDENTS}/{ref}/updates", SUP1, {"status": "in-progress", "message": "still refused"})
    assert r.status_code == 200 and (r.json()["status"], r.json()["resolvedAt"]) == ("in-progress", None)


def test_the_resolution_target_runs_on_the_market_clock(sim):
    ref = raised(sim, category="outage", summary="no answers to any send")["reference"]
    try:
        assert desk(sim, "POST", "/_sim/clock", {"advance": "5h"}).status_code == 200
        assert signed(sim, "GET", f"{INCIDENTS}/{ref}", SUP1).json()["overdue"] is False  # P1: 6 hours
        desk(sim, "POST", "/_sim/clock", {"advance": "2h"})
        late = signed(sim, "GET", f"{INCIDENTS}/{ref}", SUP1).json()
        assert late["overdue"] is True and late["withinTarget"] is None
        done = desk(sim, "POST", f"{INCIDENTS}/{ref}/updates", {"status": "resolved", "message": "restored"}).json()
        assert (done["overdue"], done["withinTarget"]) == (False, False)
        assert stamp(done["resolvedAt"]) - stamp(done["raisedAt"]) >= dt.timedelta(hours=7)
    finally:
        desk(sim, "POST", "/_sim/clock", {"reset": True})
