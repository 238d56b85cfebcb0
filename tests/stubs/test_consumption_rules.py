"""The central consumption simulators and the meter data retriever over real loopback HTTP: the
MDS rejects consumption with the ECS code of the first failing check (IF-014), the LSS answers
with load-shape values (IF-022/IF-023), the MDR provides consumption and readings only while it
retrieves for an MPAN (IF-065 -> IF-064 / IF-065). Of the shipped cohorts only C9 simulates the MDS
and none the LSS, so these rules are exercised with the test cohorts of test_participant_simulators
(C44 simulates LSS, MDS and MDR for a smart data service the test plays)."""

from __future__ import annotations

import copy

import pytest

from mhhs_sit.definitions.payloads import check_message
from tests.stubs import test_participant_simulators as simulators
from tests.stubs.test_participant_simulators import (
    LDSO,
    LSS,
    LSS_W,
    MDS,
    MDS_W,
    MIDNIGHT,
    REGS,
    SDS,
    SDS_W,
    SPEC,
    SUP,
    b071,
    consumption,
    journal,
    notes,
    r0_texts,
    send,
    sent,
)

# the module-scoped simulator fixtures (one per spec version) and the MPAN pool of those tests
sim = simulators.sim
pool = simulators.pool

MDR_W = "3800004404"


def _period(message: dict, i: int = 0) -> dict:
    return message["B900"]["settlementDayConsumptionPeriods"][0]["consumptionPeriods"][i]


def _reactive(c: dict) -> None:
    c["B900"]["MQID"]["measurementQuantityID"] = "RI"


def _five_am(c: dict) -> None:
    c["B900"]["settlementDayConsumptionPeriods"][0]["settlementDay"]["settlementDayDate"] = "2026-01-01T05:00:00+00:00"


def _negative(c: dict) -> None:
    _period(c)["v"] = "-0.120"


def _duplicated(c: dict) -> None:
    c["B900"]["settlementDayConsumptionPeriods"][0]["consumptionPeriods"].append(dict(_period(c), v="0.500"))


def _estimate_without_reason(c: dict) -> None:
    _period(c)["q"] = "E"


def _zero_estimate_with_value(c: dict) -> None:
    _period(c).update(q="ZE", e="1")


def _negative_and_duplicated(c: dict) -> None:
    _negative(c)
    _duplicated(c)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_reactive, "ECS1002 - MQID Invalid for Event Type"),
        (_five_am, "ECS1014 - UTC Settlement Date/Time is not 00:00:00"),
        (_negative, "ECS1010 - Consumption Value cannot be negative"),
        (_duplicated, "ECS1006 - SP End Date/Time duplicated with SP in same message"),
        (_estimate_without_reason, "ECS1015 - Estimation Reason Code Cannot be Null"),
        (_zero_estimate_with_value, "ECS1011 - Consumption Value must be Zero if Estimation Code is Type 'ZE'"),
        (_negative_and_duplicated, "ECS1010 - Consumption Value cannot be negative"),  # the first failing check
    ],
)
def test_mds_rejects_consumption_with_the_ecs_code_of_the_first_failing_check(sim, pool, change, code):
    custom = copy.deepcopy(consumption())
    change(custom)
    message = send(sim, SDS_W, "SDS", "IF-021", "ActivePower", custom, mpan=pool.draw("mpan"), to=[MDS_W])
    [rejected] = sent(sim, message, "IF-014", "ActivePowerRejected")
    assert r0_texts(rejected) == [code] and rejected["CommonBlock"]["R0"]["responseCode"] == "R"
    assert rejected["CustomBlock"] == custom  # the rejected consumption is echoed
    assert rejected["CommonBlock"]["A0"]["primaryRecipients"] == [SDS_W]


def test_mds_accepts_valid_consumption_silently_and_keeps_nothing_of_it(sim, pool):
    mpan = pool.draw("mpan")
    custom = consumption()
    custom["B900"]["settlementDayConsumptionPeriods"][0]["consumptionPeriods"] += [
        {"sp": "2026-01-01T01:00:00+00:00", "v": "0.000", "q": "ZE", "e": "1", "arc": None},
        {"sp": "2026-01-01T01:30:00+00:00", "v": "0.300", "q": "E", "e": "2", "arc": None},
    ]
    message = send(sim, SDS_W, "SDS", "IF-021", "ActivePower", custom, mpan=mpan, to=[MDS_W])
    assert sent(sim, message, "IF-014") == []
    assert any(f"ActivePower accepted for {mpan}" in n for n in notes(sim, MDS_W))
    assert sim.sim.participants.recall(MDS_W, f"IN:{mpan}") is None


def test_lss_answers_consumption_with_load_shape_values_for_its_group(sim, pool):
    message = send(sim, SDS_W, "SDS", "IF-021", "ActivePower", consumption(), mpan=pool.draw("mpan"), to=[LSS_W])
    gsp = message["CommonBlock"]["M0"]["GSPGroupID"]
    [period] = sent(sim, message, "IF-022", "LSSPeriodData")
    [totals] = sent(sim, message, "IF-023", "LSSTotalsData")
    group = {
        "loadShapeGSPGroupID": gsp,
        "connectionTypeIndicator": "W",
        "marketSegmentIndicator": "S",
        "loadShapeDomesticPremiseIndicator": None,
        "measurementQuantityID": "AI",
    }
    [shape] = period["CustomBlock"]["B903List"]
    assert shape["settlementDay"] == {"settlementDayDate": "2026-01-01T00:00:00+00:00", "periodDuration": 30}
    assert shape["LSGSettlementPeriods"] == [
        {
            "LSGroup": group,
            "LSGroupSettlementPeriods": [
                {"sp": "2026-01-01T00:30:00+00:00", "loadShapePeriodValue": "0.021", "defaultLoadShapeFlag": "A"}
            ],
        }
    ]
    [total] = totals["CustomBlock"]["B912List"][0]["LSGTotals"]
    assert total["LSGroup"] == group and total["LSAnnualConsumption"] == {"annualLoadShapeTotal": "365.000"}
    day = total["LSTTotals"][0]
    assert float(day["loadShapeDayPeakTotal"]) + float(day["loadShapeDayOffPeakTotal"]) == float(
        day["loadShapeDayTotal"]
    )


def test_mdr_provides_consumption_and_readings_only_while_it_retrieves(sim, pool):
    mpan = pool.draw("mpan")

    def request(event: str) -> dict:
        custom: dict = {"B060": {"additionalInformation": None}}
        if event != "MDRInstantaneous":  # an instantaneous reading has no reference time
            custom["B077"] = {"MDRReferenceDateTime": "2026-01-02T00:00:00+00:00"}
        return send(sim, SDS_W, "SDS", "IF-065", event, custom, mpan=mpan, to=[MDR_W])

    early = request("MDRConsumption")
    assert sent(sim, early, "IF-064") == []
    assert any(f"no retrieval started for {mpan}" in n for n in notes(sim, MDR_W))
    start = {
        "B019": {"assignedMDRDIPID": MDR_W, "assignedMDRMPID": "MDRW", "assignedMDREffectiveFromDate": MIDNIGHT},
        "B078": {"energyDirection": "I"},
        "B025": {"energisationStatus": "E", "energisationStatusEffectiveFromDate": MIDNIGHT},
        "B068": {"consentGranularity": "H", "consentGranularityEffectiveFromDate": MIDNIGHT},
    }
    send(sim, SDS_W, "SDS", "IF-061", "MDRStart", start, mpan=mpan, to=[MDR_W])
    [provided] = sent(sim, request("MDRConsumption"), "IF-064", "MDRConsumption")
    [day] = provided["CustomBlock"]["B941List"]
    assert day["settlementDay"]["settlementDayDate"] == "2026-01-01T00:00:00+00:00"
    assert [p["v"] for p in day["MDRConsumptionPeriods"]] == ["0.210", "0.190"]
    [reading] = sent(sim, request("MDRTOU"), "IF-065", "ReadingRemote")
    assert reading["CustomBlock"]["B076List"][0]["cumulativeRegisterReadingDateTime"] == "2026-01-02T00:00:00+00:00"
    assert sent(sim, request("MDRInstantaneous"), "IF-065", "ReadingRemote")
    stop = {"B083": {"assignedMDRDIPID": MDR_W, "assignedMDRMPID": "MDRW", "assignedMDREffectiveToDate": MIDNIGHT}}
    send(sim, SDS_W, "SDS", "IF-063", "MDRStop", stop, mpan=mpan, to=[MDR_W])
    assert sent(sim, request("MDRTOU"), "IF-065", "ReadingRemote") == []


def test_data_service_resubmits_the_revised_consumption_with_its_amendment_reason(sim, pool):
    mpan = pool.draw("mpan")
    send(sim, SUP, "SUP", "IF-031", "DSApp", {"B071": b071(SDS, "SDSX", "CSP")}, mpan=mpan, to=[REGS])
    journal(sim)
    revision = {
        "consumptionAmendmentSupplierReference": "AMD-1",
        "consumptionAmendmentPeriodStartDate": MIDNIGHT,
        "consumptionAmendmentPeriodEndDate": MIDNIGHT,
        "grossRevisedConsumption": "5.250",
        "arc": "M",
    }
    custom = {
        "B902List": [{"MQID": {"measurementQuantityID": "AI"}, "supplierConsumptionAmendmentRequests": [revision]}]
    }
    amend = send(sim, SUP, "SUP", "IF-027", "ConsumptionAmendment", custom, mpan=mpan, to=[SDS])
    [answer] = sent(sim, amend, "IF-028")
    assert answer["CommonBlock"]["R0"]["responseCode"] == "A" and answer["CustomBlock"] == custom
    [consumed] = sent(sim, amend, "IF-021", "ActivePower")
    assert consumed["CommonBlock"]["A0"]["primaryRecipients"] == [SUP, LDSO, LSS, MDS]
    period = _period(consumed["CustomBlock"])
    assert (period["v"], period["arc"], period["q"]) == ("5.250", "M", "A")


def test_what_these_simulators_sent_passed_the_dips_checks_and_the_official_spec(sim):
    """Runs after the tests above on the same module-scoped simulator."""
    assert journal(sim, kind="refused") == []
    assert [e["note"] for e in journal(sim, kind="event") if "DEFECT" in e["note"]] == []
    if sim.config.version != "2.1.0" or not (SPEC / "SubmitEvents-unresolved.yaml").is_file():
        return
    simulated = {d for d, p in sim.config.participants.items() if p.simulated}
    problems = []
    for e in journal(sim, kind="accepted", limit=100000):
        if e["sender"] in simulated:
            message = {
                **e["payload"],
                "CommonBlock": {k: v for k, v in e["payload"]["CommonBlock"].items() if k != "D0"},
            }
            problems += [f"{e['interface']}: {p}" for p in check_message(message, e["interface"], "2.1.0", str(SPEC))]
    assert problems == []
