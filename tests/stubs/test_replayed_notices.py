"""The DIP's consumption replay carries the market-wide data service's notices too: an advanced
data service asking for an MPAN's history (IF-015) gets the MDS's rejection (IF-014) and defaults
(IF-013) back as IF-016 [ActivePowerRejected] and [ActivePowerDefaulted], event and custom block
kept, the MDS as original sender (S2). The library carries these pairs in cohorts C9 and C10
(SITFT-07-017, SITFT-07-018); this test plays both roles over real loopback HTTP."""

from __future__ import annotations

import pytest
import requests

from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import written_cohorts

SUP, ADS, MDS, REGS, LDSO = "2300004501", "1100004501", "3100004501", "2200004501", "2500004501"
COHORT = f"""
    cohort: C45
    participants:
      SUP:  {{mpid: SUPQ, dip_id: "{SUP}"}}
      ADS:  {{mpid: ADSQ, dip_id: "{ADS}"}}
      MDS:  {{mpid: MDSQ, dip_id: "{MDS}"}}
      REGS: {{mpid: EELC, dip_id: "{REGS}", distributor: "10"}}
      LDSO: {{mpid: EELC, dip_id: "{LDSO}", distributor: "10"}}
    simulated: [REGS, LDSO]
"""
DAY = "2026-12-01T00:00:00+00:00"
PERIODS = {
    "MQID": {"measurementQuantityID": "AI"},
    "settlementDayConsumptionPeriods": [
        {
            "settlementDay": {"settlementDayDate": DAY, "periodDuration": 30},
            "consumptionPeriods": [
                {"sp": "2026-12-01T00:30:00+00:00", "v": "-1.250", "q": "A", "e": None, "arc": None}
            ],
        }
    ],
}
REJECTED = {
    "B044": {"issuingDataServiceDIPID": ADS},
    "B067": {"connectionTypeIndicator": "H", "connectionTypeEffectiveFromDate": DAY},
    "B900": PERIODS,
}
DEFAULTED = {
    "B043": {"settlementImpactedDataServiceDIPID": ADS, "settlementImpactedSupplierDIPID": SUP},
    "B049": {"settlementRunExecutionDate": DAY, "settlementCode": "SF", "runNumber": 1},
    "B067": {"connectionTypeIndicator": "H", "connectionTypeEffectiveFromDate": DAY},
    "B920List": [
        {
            "MQID": {
                "measurementQuantityID": "AI",
                "marketSegmentIndicator": "A",
                "domesticPremiseIndicator": False,
                "consumptionComponentClassID": 101,
                "consumptionComponentIndicator": "C",
            },
            "settlementDayConsumptionPeriods": [
                {
                    "settlementDay": {"settlementDayDate": DAY, "periodDuration": 30},
                    "defaultedConsumptionPeriods": [
                        {
                            "settlementPeriodEffectiveToDateTime": "2026-12-01T00:30:00+00:00",
                            "defaultedSPConsumption": "0.180",
                            "defaultLoadShapeFlag": "D",
                        }
                    ],
                }
            ],
        }
    ],
}
REFS = ReferenceSource("replayednotices")


@pytest.fixture(scope="module", params=["1.8.2", "2.1.0"])
def sim(request, tmp_path_factory):
    cohorts = written_cohorts(tmp_path_factory.mktemp("cohorts"), {"C45": COHORT})
    config = config_from_cohorts(cohorts, version=request.param, check_responses=True)
    with EmbeddedSimulator(config) as s:
        s.keys = {p.dip_id: p.api_key for p in config.participants.values()}  # type: ignore[attr-defined]
        yield s


def send(sim, sender: tuple[str, str], interface: str, event: str, mpan: str, **kw) -> None:
    message = build_message(
        interface_id=interface, event=event, sender=Sender(*sender), environment_tag="DEV", refs=REFS,
        mpan=mpan, distributor_dip_id=LDSO, **kw,
    )  # fmt: skip
    answer = requests.post(
        f"{sim.url}/dip-channel/{interface}", json=[{"payload": message}], headers={"X-API-Key": sim.keys[sender[0]]},
        timeout=5,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text


def replayed(sim, mpan: str) -> list[dict]:
    requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, timeout=10)
    messages = requests.get(
        f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"interface": "IF-016", "mpan": mpan}, timeout=5
    ).json()["messages"]
    return [m["payload"] for m in messages if m["kind"] == "accepted"]


def test_the_mds_rejection_and_defaults_are_replayed_to_the_advanced_data_service(sim):
    mpan = "1000000000031" if sim.config.version == "1.8.2" else "1000000000049"
    rejection = {"R0": {"responseCode": "R", "responseMessages": ["ECS1010 - Consumption Value cannot be negative"]}}
    send(sim, (MDS, "MDS"), "IF-014", "ActivePowerRejected", mpan, custom=REJECTED, recipients=[SUP],
         extra_common=rejection)  # fmt: skip
    send(sim, (MDS, "MDS"), "IF-013", "ActivePowerDefaulted", mpan, custom=DEFAULTED, recipients=[SUP])
    send(sim, (ADS, "ADS"), "IF-015", "ConsumptionReplay", mpan, custom_block=False)
    by_event = {p["CommonBlock"]["S0"]["eventCode"]: p for p in replayed(sim, mpan)}
    assert set(by_event) == {"[ActivePowerRejected]", "[ActivePowerDefaulted]"}
    for payload, custom in (
        (by_event["[ActivePowerRejected]"], REJECTED),
        (by_event["[ActivePowerDefaulted]"], DEFAULTED),
    ):
        common = payload["CommonBlock"]
        assert common["A0"]["primaryRecipients"] == [ADS] and common["S1"]["senderRoleID"] == "DIP"
        assert common["S2"]["senderDIPID"] == MDS and common["R1"]["responseCode"] == "A"
        assert payload["CustomBlock"] == custom
    # the rejection keeps the MDS's own response (IF-016 [ActivePowerRejected] requires R0)
    assert by_event["[ActivePowerRejected]"]["CommonBlock"]["R0"] == rejection["R0"]
    assert "R0" not in by_event["[ActivePowerDefaulted]"]["CommonBlock"]
