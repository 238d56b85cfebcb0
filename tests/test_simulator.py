"""The embedded DIP simulator over real HTTP on loopback: refusals, routing, deliveries."""

import time

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_sit.dip.receiver import Receiver
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import REPO
from tests.stubs.messages import B071


@pytest.fixture(scope="module")
def sim():
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    with EmbeddedSimulator(config_from_cohorts(cohorts.values(), version="1.8.2")) as s:
        yield s


def message(**kw):
    args = dict(interface_id="IF-031", event="DSApp", sender=Sender("2300000101", "SUP"), environment_tag="DEV",
                refs=ReferenceSource(), custom={"B071": B071}, recipients=["2200000101"], mpan="1000000000011",
                distributor_dip_id="2500000101")  # fmt: skip
    args.update(kw)
    return build_message(**args)


def post(sim, body, key_of="2300000101", interface="IF-031", **kw):
    headers = {"X-API-Key": sim.config.api_keys[key_of]} if key_of else {}
    return requests.post(f"{sim.url}/dip-channel/{interface}", json=body, headers=headers, timeout=5, **kw)


def codes(response):
    return [item["message"].split(" ")[0] for item in response.json()["messageArray"]]


def test_accepts_a_valid_batch_and_stamps_it(sim):
    r = post(sim, [{"payload": message()}])
    assert r.status_code == 201 and codes(r) == ["MSG0000"]
    assert r.json()["messageArray"][0]["transactionID"].startswith("T-IF-031-2300000101-SUP-")


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no key", 401, "MSG1000"),
        ("wrong interface", 404, "MSG1002"),
        ("not json", 400, "MSG1001"),
        ("empty batch", 400, "MSG1001"),
        ("other sender", 400, "MSG1009"),
        ("short timestamp", 400, "MSG1007"),
    ],
)
def test_refusals_carry_the_real_codes(sim, case, status, code):
    if case == "no key":
        r = post(sim, [{"payload": message()}], key_of=None)
    elif case == "wrong interface":
        r = post(sim, [{"payload": message()}], interface="IF-999")
    elif case == "not json":
        headers = {"X-API-Key": sim.config.api_keys["2300000101"], "Content-Type": "application/json"}
        r = requests.post(f"{sim.url}/dip-channel/IF-031", data=b"{oops", timeout=5, headers=headers)
    elif case == "empty batch":
        r = post(sim, [])
    elif case == "other sender":
        r = post(sim, [{"payload": message(sender=Sender("2300000202", "SUP"))}])
    else:
        m = message()
        m["CommonBlock"]["S1"]["senderTimestamp"] = "2026-01-01T00:00:00Z"
        r = post(sim, [{"payload": m}])
    assert r.status_code == status and codes(r)[0] == code


def test_a_batch_is_refused_whole_listing_every_violation(sim):
    bad = message(custom={"B071": {**B071, "appointmentScenario": "XYZ", "proposedDataServiceMPID": "x"}})
    r = post(sim, [{"payload": message()}, {"payload": bad}])
    assert r.status_code == 400
    violations = r.json()["violations"]
    assert {v["index"] for v in violations} == {1}
    pointers = {v["pointer"] for v in violations}
    assert "/1/payload/CustomBlock/B071/appointmentScenario" in pointers
    assert "/1/payload/CustomBlock/B071/proposedDataServiceMPID" in pointers
    # nothing of the batch was accepted: the valid first message can still be sent once
    first = r.request.body
    assert post(sim, __import__("json").loads(first)[:1]).status_code == 201


def test_a_repeated_unique_reference_is_never_delivered_twice(sim):
    m = message()
    assert post(sim, [{"payload": m}]).status_code == 201
    again = post(sim, [{"payload": m}])
    assert again.status_code == 400 and codes(again) == ["MSG1006"]


def test_webhooks_must_be_loopback_and_belong_to_the_caller(sim):
    key = {"X-API-Key": sim.config.api_keys["2300000101"]}
    url = f"{sim.url}/dip-channel/IF-032/pubconfig"
    assert requests.post(f"{url}/2300000101", json={"callbackURL": "https://example.com/h"}, headers=key,
                         timeout=5).status_code == 400  # fmt: skip
    assert requests.post(f"{url}/2300000202", json={"callbackURL": "http://127.0.0.1:1/h"}, headers=key,
                         timeout=5).status_code == 403  # fmt: skip


def test_the_registration_simulator_answers_and_the_journal_shows_the_route(sim):
    receiver = Receiver()
    try:
        key = {"X-API-Key": sim.config.api_keys["2300000101"]}
        cb = receiver.callback_url("2300000101", "IF-032")
        requests.post(f"{sim.url}/dip-channel/IF-032/pubconfig/2300000101", json={"callbackURL": cb}, headers=key,
                      timeout=5).raise_for_status()  # fmt: skip
        m = message(mpan="1000000000012")
        assert post(sim, [{"payload": m}]).status_code == 201
        got = receiver.inbox.wait_for(lambda i: i.payload["CommonBlock"]["M0"]["MPANCore"] == "1000000000012",
                                      since=0, timeout=5)  # fmt: skip
        assert got is not None and got.payload["CommonBlock"]["D0"]["publicationID"] == "PUB-032"
        corr = m["CommonBlock"]["S1"]["senderCorrelationID"]
        time.sleep(0.2)
        journal = requests.get(
            f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"correlation_id": corr}, timeout=5
        ).json()
        interfaces = [e["interface"] for e in journal["messages"]]
        assert interfaces[:3] == ["IF-031", "IF-032", "IF-033"]
        assert journal["messages"][0]["deliveries"][0]["recipient"] == "2200000101"
    finally:
        receiver.close()
