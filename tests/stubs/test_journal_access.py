"""A participant reads the journal with its own signed X-API-Key, over real loopback HTTP: only the
messages it sent or that were delivered to it, and of those only its own deliveries; the control
client reads everything. Every other ``/_sim`` path still needs the control key."""

import json

import pytest
import requests

from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from tests.helpers import FIXTURES, simulating
from tests.stubs.messages import b071

SUP1, SUP2, SDS1 = "2300000101", "2300000202", "1400000101"


def appointment(sender, regs, ds, ds_mpid, distributor):
    message = build_message(
        interface_id="IF-031", event="DSApp", sender=Sender(sender, "SUP"), environment_tag="DEV",
        refs=ReferenceSource(f"journal-access-{sender}"), custom={"B071": b071(ds, ds_mpid)}, recipients=[regs],
        mpan="1000000000011", distributor_dip_id=distributor,
    )  # fmt: skip
    return json.dumps([{"payload": message}]).encode()


@pytest.fixture(scope="module")
def sim():
    with simulating(FIXTURES / "cohorts", signing="required") as s:
        for sender, body in (
            (SUP1, appointment(SUP1, "2200000101", SDS1, "SDSA", "2500000101")),
            (SUP2, appointment(SUP2, "2200000202", "1400000202", "SDSB", "2500000202")),
        ):
            sent = signed(s, "POST", "/dip-channel/IF-031", sender, body)
            assert sent.status_code == 201, sent.text
        assert control(s, "POST", "/_sim/idle", params={"timeout": 10}).json()["idle"] is True
        yield s  # every answer, a participant's view included, is one /openapi.json documents


def signed(sim, method, path, dip_id, body=b"", *, params=None, key_of=None):
    """A request as ``dip_id``, signed with its key (the simulator requires signatures here)."""
    prepared = requests.Request(method, sim.url + path, params=params).prepare()
    headers = sim.config.credentials.participant(dip_id).signer().headers(method, prepared.url, body)
    headers |= {"X-API-Key": sim.config.api_keys[key_of or dip_id], "Content-Type": "application/json"}
    return requests.request(method, prepared.url, data=body, headers=headers, timeout=10)


def control(sim, method, path, **kw):
    return requests.request(method, sim.url + path, headers=sim.control_headers, timeout=10, **kw)


def everything(sim):
    return control(sim, "GET", "/_sim/messages").json()["messages"]


def test_a_participant_sees_only_what_it_sent_or_was_delivered_to_it(sim):
    r = signed(sim, "GET", "/_sim/messages", SUP1)
    assert r.status_code == 200, r.text
    mine, all_entries = r.json()["messages"], everything(sim)
    assert {e["interface"] for e in mine} == {"IF-031", "IF-032"}  # its own, and the answer to it
    assert len(mine) < len(all_entries)
    for e in mine:
        assert e["sender"] == SUP1 or e["deliveries"], e
        assert all(d["recipient"] == SUP1 for d in e["deliveries"]), e  # nobody else's delivery
        assert "route" not in e  # nor whom else the DIP sent it to
        if e["sender"] != SUP1:
            assert e["response"] is None  # the DIP's answer went to its sender, not to SUP1
    others = [
        e["transactionID"] for e in all_entries if SUP2 in (e["sender"], *(d["recipient"] for d in e["deliveries"]))
    ]
    assert len(others) == 2 and not set(others) & {e["transactionID"] for e in mine}
    own = next(e for e in all_entries if e["interface"] == "IF-031" and e["sender"] == SUP1)
    assert own["deliveries"] and own["route"]  # the control client sees the whole entry


def test_another_participant_sees_none_of_it(sim):
    r = signed(sim, "GET", "/_sim/messages", SUP2)
    assert r.status_code == 200 and r.json()["messages"]
    assert all(SUP1 not in (e["sender"], *(d["recipient"] for d in e["deliveries"])) for e in r.json()["messages"])
    tx = next(e["transactionID"] for e in everything(sim) if e["interface"] == "IF-031" and e["sender"] == SUP1)
    assert signed(sim, "GET", f"/_sim/messages/{tx}", SUP2).status_code == 404  # as if there were none
    one = signed(sim, "GET", f"/_sim/messages/{tx}", SUP1)
    assert one.status_code == 200 and one.json()["sender"] == SUP1 and one.json()["deliveries"] == []
    assert control(sim, "GET", f"/_sim/messages/{tx}").json()["deliveries"]


def test_asking_about_another_participant_is_refused_with_what_to_ask(sim):
    for params, says in (
        ({"participant": SDS1}, f"give participant={SUP1}"),
        ({"recipient": SDS1}, f"give recipient={SUP1}"),
    ):
        r = signed(sim, "GET", "/_sim/messages", SUP1, params=params)
        assert r.status_code == 403 and says in r.json()["error"], r.text
    r = signed(sim, "GET", "/_sim/wait", SUP1, params={"role": "SDS", "timeout": 0})
    assert r.status_code == 403 and "leave role out" in r.json()["error"]
    r = signed(sim, "GET", "/_sim/messages", SUP1, params={"participant": SUP1})
    assert r.status_code == 200 and r.json()["count"] > 0


def test_a_participant_waits_only_on_its_own_entries(sim):
    r = signed(sim, "GET", "/_sim/wait", SUP1, params={"interface": "IF-032", "timeout": 2})
    assert r.status_code == 200 and r.json()["found"] is True
    assert [d["recipient"] for d in r.json()["message"]["deliveries"]] == [SUP1]
    tx = next(e["transactionID"] for e in everything(sim) if e["interface"] == "IF-031" and e["sender"] == SUP2)
    r = signed(sim, "GET", "/_sim/wait", SUP1, params={"transaction_id": tx, "timeout": 0.3})
    assert r.json()["found"] is False  # it exists, but it is SUP2's
    assert control(sim, "GET", "/_sim/wait", params={"transaction_id": tx, "timeout": 1}).json()["found"] is True


def test_a_participant_counts_only_its_own_deliveries(sim):
    r = signed(sim, "GET", "/_sim/deliveries", SUP1)
    assert r.status_code == 200, r.text
    rows, totals = r.json()["deliveries"], r.json()["totals"]
    assert rows and all(row["recipient"] == SUP1 for row in rows)
    assert sum(totals.values()) == len(rows)
    everyone = control(sim, "GET", "/_sim/deliveries").json()
    assert sum(everyone["totals"].values()) > len(rows)


def test_the_participant_is_authenticated_as_on_the_dips_paths(sim):
    unsigned = requests.get(f"{sim.url}/_sim/messages", headers={"X-API-Key": sim.config.api_keys[SUP1]}, timeout=5)
    assert unsigned.status_code == 401  # signing is required here, on the journal as on a send
    # SUP2's signature under SUP1's key: not SUP1's certificate
    assert signed(sim, "GET", "/_sim/messages", SUP2, key_of=SUP1).status_code in (401, 403)
    unknown = requests.get(f"{sim.url}/_sim/messages", headers={"X-API-Key": "not-a-key"}, timeout=5)
    assert unknown.status_code == 401
    for path in ("/_sim/health", "/_sim/clock", "/_sim/appointments/1000000000011"):
        assert signed(sim, "GET", path, SUP1).status_code == 401, path  # the rest is the control client's
    wrong_control = requests.get(
        f"{sim.url}/_sim/messages",
        headers={"X-Sim-Control-Key": "x" * 20, "X-API-Key": sim.config.api_keys[SUP1]},
        timeout=5,
    )
    assert wrong_control.status_code == 401  # a wrong control key is refused, not read as the participant


def test_a_participant_s_inbox_needs_its_signature_as_the_dip_paths_do(sim):
    """With signing required, the inbox (the pull channel) refuses an unsigned pull that carries the
    right key, takes a signed one, and still refuses another participant's signed pull."""
    path = f"/_sim/inbox/{SUP1}"
    unsigned = requests.get(sim.url + path, headers={"X-API-Key": sim.config.api_keys[SUP1]}, timeout=10)
    assert unsigned.status_code == 401, unsigned.text
    assert signed(sim, "GET", path, SUP1).status_code == 200
    assert signed(sim, "GET", path, SUP2).status_code == 403
