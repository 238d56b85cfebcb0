"""The MDS defaults consumption that has not come by the II run (IF-013, market_data.yaml) and
refuses estimates for a de-energised MPAN (IF-014 ECS1008), over real loopback HTTP, off the
simulation clock: the test plays the registration service and the data service; only the MDS is
simulated."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from mhhs_sit.data import CohortPool
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.consumption_classes import ccc_id
from mhhs_stubs.registry import site_of
from tests.helpers import official_spec_args, written_cohorts
from tests.stubs.test_participant_simulators import consumption, journal, r0_texts, send, sent
from tests.stubs.test_sds_mdr import scaffold

COHORT = """
    cohort: C46
    title: Market-wide data service simulated
    participants:
      REGS: {mpid: REGD, dip_id: "2200004606", distributor: "10"}
      SUP:  {mpid: SUPD, dip_id: "2300004606"}
      LDSO: {mpid: LDSD, dip_id: "2500004606", distributor: "10"}
      SDS:  {mpid: SDSD, dip_id: "1400004606"}
      MDS:  {mpid: MDSD, dip_id: "3100004606"}
    simulated: [MDS]
"""
REGS, SUP, LDSO, SDS, MDS = "2200004606", "2300004606", "2500004606", "1400004606", "3100004606"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    cohorts = written_cohorts(tmp_path_factory.mktemp("cohorts"), {"C46": COHORT})
    spec = official_spec_args()
    with EmbeddedSimulator(config_from_cohorts(cohorts, version="2.1.0", **spec)) as s:
        yield s


def clock(sim, body: dict) -> None:
    answer = requests.post(f"{sim.url}/_sim/clock", json=body, headers=sim.control_headers, timeout=30)
    assert answer.status_code == 200, answer.text


def activate(sim, mpan: str, day: str) -> None:
    """REGS tells the MDS the data service is active for ``mpan`` from ``day`` (UK clock midnight)."""
    start = f"{day}T00:00:00+0{1 if '2026-03-29' <= day < '2026-10-25' else 0}:00"
    b012 = {"serviceProviderAppointmentRequestingSupplierDIPID": SUP}
    b012["serviceProviderAppointmentRequestingSupplierMPID"] = "SUPD"
    b015 = {**scaffold("IF-036", "DSAppActive")["B015"], "incomingDataServiceDIPID": SDS}
    b015 |= {"incomingDataServiceMPID": "SDSD", "incomingDataServiceEffectiveFromDate": start}
    b023 = {"connectionTypeIndicator": "L", "connectionTypeEffectiveFromDate": start}
    b023 |= {"energyDirection": "I", "meteredIndicator": True}
    custom = scaffold("IF-036", "DSAppActive", B012=b012, B015=b015, B023=b023)
    send(sim, REGS, "REGS", "IF-036", "DSAppActive", custom, mpan=mpan, to=[MDS])


def defaults(sim) -> list[dict]:
    return [e for e in journal(sim, kind="accepted", interface="IF-013", limit=1000) if e["sender"] == MDS]


def test_consumption_missing_at_the_ii_run_is_defaulted_on_the_autumn_clock_change_day(sim):
    pool = CohortPool("C46", cohort_index=46, distributor_ids=["10"], seed=4)
    silent, reported = str(pool.draw("mpan")), str(pool.draw("mpan"))
    clock(sim, {"set": "2026-10-24T09:00:00+01:00"})
    for mpan in (silent, reported):
        activate(sim, mpan, "2026-10-25")  # a Sunday, 50 settlement periods
    c = consumption("2026-10-25")
    c["B044"]["issuingDataServiceDIPID"] = SDS
    send(sim, SDS, "SDS", "IF-021", "ActivePower", c, mpan=reported, to=[MDS])
    clock(sim, {"advance": "4d"})  # Wed 28th: before the II run (4 working days on: Thu 29th)
    assert defaults(sim) == []
    clock(sim, {"advance": "3d"})
    [entry] = defaults(sim)
    payload = entry["payload"]
    assert payload["CommonBlock"]["M0"]["MPANCore"] == silent
    assert sorted(d["recipient"] for d in entry["deliveries"]) == sorted([SDS, SUP, LDSO])
    custom = payload["CustomBlock"]
    assert custom["B043"] == {"settlementImpactedDataServiceDIPID": SDS, "settlementImpactedSupplierDIPID": SUP}
    assert custom["B049"] == {
        "settlementRunExecutionDate": "2026-10-29T00:00:00+00:00",
        "settlementCode": "II",
        "runNumber": 1,
    }
    assert custom["B067"]["connectionTypeIndicator"] == "L"
    [b920] = custom["B920List"]
    site = site_of(silent)
    assert b920["MQID"]["consumptionComponentClassID"] == ccc_id(str(site["segment"]), "I", bool(site["domestic"]))
    [day] = b920["settlementDayConsumptionPeriods"]
    rows = day["defaultedConsumptionPeriods"]
    assert len(rows) == 50 and {r["defaultLoadShapeFlag"] for r in rows} == {"D"}
    # period 1 ends 00:30 BST (23:30 UTC the day before); the last ends at midnight GMT
    assert rows[0]["settlementPeriodEffectiveToDateTime"] == "2026-10-24T23:30:00+00:00"
    assert rows[-1]["settlementPeriodEffectiveToDateTime"] == "2026-10-26T00:00:00+00:00"
    assert dt.datetime.fromisoformat(rows[-1]["settlementPeriodEffectiveToDateTime"]) - dt.datetime.fromisoformat(
        rows[0]["settlementPeriodEffectiveToDateTime"]
    ) == dt.timedelta(hours=24, minutes=30)


def energisation(sim, mpan: str, status: str) -> None:
    b025 = {"energisationStatus": status, "energisationStatusEffectiveFromDate": "2026-06-01T00:00:00+01:00"}
    common = {"R0": {"responseCode": "A", "responseMessages": []}}
    send(
        sim,
        REGS,
        "REGS",
        "IF-008",
        "EnergisationStatusChange",
        {"B025": b025},
        mpan=mpan,
        to=[MDS],
        extra_common=common,
    )


def test_non_actual_consumption_of_a_de_energised_mpan_is_rejected_with_ecs1008(sim):
    pool = CohortPool("C46", cohort_index=46, distributor_ids=["10"], seed=5)
    mpan = str(pool.draw("mpan"))

    def submit(second_quality: str) -> list[dict]:
        c = consumption("2026-06-02")
        c["B044"]["issuingDataServiceDIPID"] = SDS
        periods = c["B900"]["settlementDayConsumptionPeriods"][0]["consumptionPeriods"]
        periods.append({**periods[0], "sp": "2026-06-02T01:00:00+00:00", "q": second_quality, "e": "1"})
        message = send(sim, SDS, "SDS", "IF-021", "ActivePower", c, mpan=mpan, to=[MDS])
        return sent(sim, message, "IF-014")

    assert submit("E") == []  # energised (the register's default): estimates are taken
    energisation(sim, mpan, "D")
    [rejected] = submit("E")  # the second period is estimated
    assert rejected["CommonBlock"]["S0"]["eventCode"] == "[ConsumptionOnDeEnergisedMPAN]"
    assert r0_texts(rejected) == [
        "ECS1008 - SP End Date/Time contains non-Actual Consumption for ECS De-Energised MPAN"
    ]
    assert submit("A") == []  # actual consumption of a de-energised MPAN is taken
    energisation(sim, mpan, "E")
    assert submit("E") == []


def test_an_activation_after_the_days_ii_run_defaults_nothing(sim):
    pool = CohortPool("C46", cohort_index=46, distributor_ids=["10"], seed=6)
    mpan = str(pool.draw("mpan"))
    clock(sim, {"set": "2026-12-01T09:00:00+00:00"})
    activate(sim, mpan, "2026-11-02")  # its II run was on 2026-11-06
    clock(sim, {"advance": "30d"})
    assert [e for e in defaults(sim) if e["payload"]["CommonBlock"]["M0"]["MPANCore"] == mpan] == []
    assert any(f"no default for {mpan}" in e["note"] for e in journal(sim, kind="event", participant=MDS))
