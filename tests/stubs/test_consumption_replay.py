"""The DIP's own consumption replay over real loopback HTTP: an advanced data service's IF-015
gets the MPAN's published consumption back as IF-016 (event, custom block and original sender
kept), and a rejection when nothing was published for it; a replay never fails the request."""

from __future__ import annotations

import pytest
import requests

from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import written_cohorts

SUP, ADS, REGS, LDSO = "2300004401", "1100004401", "2200004401", "2500004401"
COHORT = f"""
    cohort: C44
    participants:
      SUP:  {{mpid: SUPR, dip_id: "{SUP}"}}
      ADS:  {{mpid: ADSR, dip_id: "{ADS}"}}
      REGS: {{mpid: EELC, dip_id: "{REGS}", distributor: "10"}}
      LDSO: {{mpid: EELC, dip_id: "{LDSO}", distributor: "10"}}
    simulated: [REGS, LDSO]
"""
CONSUMPTION = {
    "B044": {"issuingDataServiceDIPID": ADS},
    "B067": {"connectionTypeIndicator": "H", "connectionTypeEffectiveFromDate": "2026-12-01T00:00:00+00:00"},
    "B900": {
        "MQID": {"measurementQuantityID": "AI"},
        "settlementDayConsumptionPeriods": [
            {
                "settlementDay": {"settlementDayDate": "2026-12-01T00:00:00+00:00", "periodDuration": 30},
                "consumptionPeriods": [
                    {"sp": "2026-12-01T00:30:00+00:00", "v": "1.250", "q": "A", "e": None, "arc": None}
                ],
            }
        ],
    },
}
REFS = ReferenceSource("replay-test")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    cohorts = written_cohorts(tmp_path_factory.mktemp("cohorts"), {"C44": COHORT})
    config = config_from_cohorts(cohorts, version="1.8.2", check_responses=True)
    with EmbeddedSimulator(config) as s:
        s.keys = {p.dip_id: p.api_key for p in config.participants.values()}  # type: ignore[attr-defined]
        yield s


def send(sim, interface: str, event: str, mpan: str, **kw) -> None:
    message = build_message(
        interface_id=interface, event=event, sender=Sender(ADS, "ADS"), environment_tag="DEV", refs=REFS,
        mpan=mpan, distributor_dip_id=LDSO, **kw,
    )  # fmt: skip
    answer = requests.post(
        f"{sim.url}/dip-channel/{interface}",
        json=[{"payload": message}],
        headers={"X-API-Key": sim.keys[ADS]},
        timeout=5,
    )
    assert answer.status_code == 201, answer.text


def published(sim, mpan: str) -> list[dict]:
    requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, timeout=10)
    messages = requests.get(
        f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"interface": "IF-016", "mpan": mpan}, timeout=5
    ).json()["messages"]
    return [m for m in messages if m["kind"] != "event"]


def test_published_consumption_is_replayed_to_the_asking_data_service(sim):
    mpan = "1000000000015"
    send(sim, "IF-021", "ActivePower", mpan, custom=CONSUMPTION, recipients=[SUP])
    send(sim, "IF-015", "ConsumptionReplay", mpan, custom_block=False)
    [replay] = published(sim, mpan)
    assert replay["kind"] == "accepted", replay
    common = replay["payload"]["CommonBlock"]
    assert common["S0"]["eventCode"] == "[ActivePower]"
    assert common["S1"]["senderRoleID"] == "DIP" and common["A0"]["primaryRecipients"] == [ADS]
    assert common["S2"]["senderDIPID"] == ADS and common["R1"]["responseCode"] == "A"
    assert replay["payload"]["CustomBlock"] == CONSUMPTION


def test_nothing_published_is_a_rejection_without_an_original_sender(sim):
    mpan = "1000000000023"
    send(sim, "IF-015", "ConsumptionReplay", mpan, custom_block=False)
    [replay] = published(sim, mpan)
    common = replay["payload"]["CommonBlock"]
    assert common["S0"]["eventCode"] == "[ConsumptionRequestRejected]" and "S2" not in common
    assert common["R1"] == {
        "responseCode": "R",
        "responseMessages": ["No half-hourly consumption history is held for the MPAN"],
    }
    assert "CustomBlock" not in replay["payload"]
