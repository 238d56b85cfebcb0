"""Timers on the simulation clock over real loopback HTTP, across both clock changes of 2026.

The framework plays the supplier, a smart metering service that never answers and a smart data
service; the registration service, LDSO and central systems are simulated. An appointment request
left unanswered lapses when the clock passes its response window (IF-035 [MSAppLapsed], and on a
change of supplier the reminder IF-045 [NoMSAppointed]); one answered in time does not. Consumption
the MDS accepts (IF-021) puts its settlement day on the VAS's settlement calendar, and when the clock
passes a run's date ECS's reports (REP-003) reach the supplier, with one row per settlement period of
the local day: 46 on 29 March, 50 on 25 October. Every message validates against the catalogue's
1.8.2, and against the official spec where it is present (else the project's 2.1.0, which equals it).
"""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import pytest
import requests

from mhhs_sit.data import CohortPool
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import official_spec_args, written_cohorts

SPEC = Path(__file__).resolve().parents[3] / "shared" / "dip-api-spec"
SUP, REGS, LDSO, MSS, SDS = "2300004901", "2200004901", "2500004901", "1200004901", "1400004901"
MDS, VAS, ECS = "3100004901", "3400004901", "3500004901"
COHORT = f"""
    cohort: C49
    title: Supplier and services under test, registration and settlement simulated
    participants:
      SUP:  {{mpid: SUPL, dip_id: "{SUP}"}}
      REGS: {{mpid: EELC, dip_id: "{REGS}", distributor: "10"}}
      LDSO: {{mpid: EELC, dip_id: "{LDSO}", distributor: "10"}}
      MSS:  {{mpid: MSSL, dip_id: "{MSS}"}}
      SDS:  {{mpid: SDSL, dip_id: "{SDS}"}}
      MDS:  {{mpid: MDSL, dip_id: "{MDS}"}}
      VAS:  {{mpid: VASL, dip_id: "{VAS}"}}
      ECS:  {{mpid: ECSL, dip_id: "{ECS}"}}
    simulated: [REGS, LDSO, MDS, VAS, ECS]
"""


@pytest.fixture(scope="module", params=["1.8.2", "2.1.0"])
def sim(request, tmp_path_factory):
    """The catalogue's 1.8.2, and 2.1.0 (validating against the official spec where it is)."""
    cohorts = written_cohorts(tmp_path_factory.mktemp("cohorts"), {"C49": COHORT})
    spec = official_spec_args()
    if request.param != "2.1.0":
        spec = {}
    config = config_from_cohorts(cohorts, version=request.param, check_responses=True, **spec)
    with EmbeddedSimulator(config) as s:
        yield s


@pytest.fixture(scope="module")
def pool():
    return CohortPool("C49", cohort_index=49, distributor_ids=["10"], seed=11)


@pytest.fixture(autouse=True)
def real_time_after(sim):
    yield
    requests.post(f"{sim.url}/_sim/clock", json={"reset": True}, headers=sim.control_headers, timeout=5)


def clock(sim, **change) -> dict:
    r = requests.post(f"{sim.url}/_sim/clock", json=change, headers=sim.control_headers, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def journal(sim, **params) -> list[dict]:
    requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, timeout=10)
    answer = requests.get(f"{sim.url}/_sim/messages", headers=sim.control_headers, params=params, timeout=5)
    return answer.json()["messages"]


def send(sim, sender: str, role: str, interface: str, event: str, custom: dict, *, mpan: str, to: list[str]) -> dict:
    message = build_message(
        interface_id=interface, event=event, sender=Sender(sender, role), environment_tag="DEV",
        refs=ReferenceSource(), custom=custom, recipients=to, mpan=mpan, distributor_dip_id=LDSO,
    )  # fmt: skip
    r = requests.post(
        f"{sim.url}/dip-channel/{interface}",
        json=[{"payload": message}],
        headers={"X-API-Key": sim.config.api_keys[sender]},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return message


def in_chain(sim, message: dict, interface: str) -> list[dict]:
    """What was accepted for delivery in the process ``message`` started, on ``interface``."""
    correlation = message["CommonBlock"]["S1"]["senderCorrelationID"]
    return journal(sim, kind="accepted", interface=interface, correlation_id=correlation)


def metering_appointment(sim, mpan: str, scenario: str, effective: str) -> dict:
    custom: dict = {
        "B070": {
            "proposedMeteringServiceDIPID": MSS, "proposedMeteringServiceMPID": "MSSL",
            "proposedMeteringServiceDIPEffectiveFromDate": effective,
            "contractReferenceMeteringService": "MS-1", "appointmentScenario": scenario,
        }
    }  # fmt: skip
    if scenario == "COS":
        custom["B013"] = {"CSSRegistrationID": f"CSS-{mpan}"}
    return send(sim, SUP, "SUP", "IF-031", "MSApp", custom, mpan=mpan, to=[REGS])


def consumption(sim, mpan: str, day: str) -> dict:
    custom = {
        "B044": {"issuingDataServiceDIPID": SDS},
        "B067": {"connectionTypeIndicator": "W", "connectionTypeEffectiveFromDate": f"{day}T00:00:00+00:00"},
        "B900": {
            "MQID": {"measurementQuantityID": "AI"},
            "settlementDayConsumptionPeriods": [
                {
                    "settlementDay": {"settlementDayDate": f"{day}T00:00:00+00:00", "periodDuration": 30},
                    "consumptionPeriods": [
                        {"sp": f"{day}T00:30:00+00:00", "v": "0.250", "q": "A", "e": None, "arc": None}
                    ],
                }
            ],
        },
    }
    return send(sim, SDS, "SDS", "IF-021", "ActivePower", custom, mpan=mpan, to=[MDS])


def reports(sim, message: dict, code: str) -> list[dict]:
    """The REP-003 reports of run ``code`` in the chain of ``message``, each delivered to the supplier."""
    out = []
    for entry in in_chain(sim, message, "REP-003"):
        schema = entry["payload"]["CustomBlock"]["schema"]
        if schema["R002"]["settlementCode"] == code:
            assert [d["recipient"] for d in entry["deliveries"]] == [SUP]
            out.append(entry["payload"])
    return out


def no_defects(sim) -> None:
    assert not [e["note"] for e in journal(sim, kind="event") if "DEFECT" in e["note"]]
    assert [e for e in journal(sim, kind="refused") if e["sender"] in (REGS, LDSO, MDS, VAS, ECS)] == []


def test_across_the_spring_change_an_unanswered_appointment_lapses_and_a_settlement_run_reports(sim, pool):
    clock(sim, set="2026-03-27T12:00:00+00:00")  # a Friday, GMT; BST starts on Sunday 29 March at 01:00 UTC
    mpan = pool.draw("mpan")
    request = metering_appointment(sim, mpan, "COS", "2026-03-29T00:00:00+00:00")
    [forwarded] = in_chain(sim, request, "IF-033")
    assert [d["recipient"] for d in forwarded["deliveries"]] == [MSS]  # the service under test never answers
    used = consumption(sim, pool.draw("mpan"), "2026-03-29")  # the short day: 46 settlement periods

    clock(sim, advance="4d")  # 2026-03-31T13:00+01:00: inside the 5-day response window
    assert in_chain(sim, request, "IF-035") == [] and in_chain(sim, request, "IF-045") == []
    assert reports(sim, used, "II") == []  # II is due on the 4th working day: Thursday 2 April

    clock(sim, advance="2d")  # 2026-04-02T13:00+01:00
    [lapsed] = in_chain(sim, request, "IF-035")
    custom = lapsed["payload"]["CustomBlock"]
    assert lapsed["payload"]["CommonBlock"]["S0"]["eventCode"] == "[MSAppLapsed]"
    assert (
        custom["B007"]["responseCode"] == "L" and "did not answer" in custom["B007"]["proposedAppointmentResponseCode"]
    )
    assert custom["B070"]["proposedMeteringServiceDIPID"] == MSS
    assert {d["recipient"] for d in lapsed["deliveries"]} >= {SUP, MSS}
    [reminder] = in_chain(sim, request, "IF-045")  # due 28 March, the day before the supply start: at once
    assert reminder["payload"]["CommonBlock"]["S0"]["eventCode"] == "[NoMSAppointed]"
    assert [d["recipient"] for d in reminder["deliveries"]] == [SUP]
    lapse_notes = [e["note"] for e in journal(sim, kind="event", participant=REGS) if "AppointmentLapse" in e["note"]]
    assert any("due 2026-04-01T12:00:0" in n for n in lapse_notes), lapse_notes

    [ii] = reports(sim, used, "II")
    schema = ii["CustomBlock"]["schema"]
    assert schema["R002"] == {"settlementDate": "2026-03-29", "settlementCode": "II", "runNumber": 1}
    assert [r["settlementPeriodID"] for r in schema["REP003-R024"]] == list(range(1, 47))
    assert schema["R007"]["settlementRunExecutionDate"].startswith("2026-04-02T")  # on the simulation clock
    [supplier] = schema["REP003-R015"]
    assert supplier["R015"] == {"supplierMPID": "SUPL"}
    [bm_unit] = supplier["REP003-R016"]  # the base BM unit of _A, with the one MPAN's 0.250 kWh
    assert bm_unit["R016"] == {"BMUnitID": "2__ASUPL000", "defaultBMUnitFlag": True}
    assert bm_unit["R021"]["dailyPeriodBMUnitTotalAllocatedVolume"] == "0.250000"
    assert reports(sim, used, "SF") == []  # SF: the 7th working day, 7 April
    no_defects(sim)


def test_an_appointment_answered_in_time_does_not_lapse(sim, pool):
    clock(sim, set="2026-10-22T09:00:00+01:00")
    mpan = pool.draw("mpan")
    request = metering_appointment(sim, mpan, "CSP", "2026-10-26T00:00:00+00:00")
    send(
        sim, MSS, "MSS", "IF-034", "MSAppSPResponse", mpan=mpan, to=[REGS],
        custom={"B007": {"responseCode": "A", "proposedAppointmentResponseCode": None},
                "B012": {"serviceProviderAppointmentRequestingSupplierDIPID": SUP,
                         "serviceProviderAppointmentRequestingSupplierMPID": "SUPL"},
                "B070": request["CustomBlock"]["B070"]},
    )  # fmt: skip
    clock(sim, advance="10d")  # across the autumn change (25 October)
    assert [e["payload"]["CommonBlock"]["S0"]["eventCode"] for e in journal(sim, kind="accepted", interface="IF-035")
            if e["payload"]["CommonBlock"]["M0"]["MPANCore"] == mpan] == ["[MSAppAccepted]"]  # fmt: skip
    assert any(
        f"for {mpan} was answered in time; nothing lapses" in e["note"]
        for e in journal(sim, kind="event", participant=REGS)
    )
    no_defects(sim)


def test_consumption_to_the_mds_reaches_the_supplier_as_settlement_reports_run_by_run(sim, pool):
    """IF-021 -> MDS -> the VAS's settlement calendar -> ECS's REP-003 at the supplier, in one chain:
    the long day of 25 October has 50 settlement periods; each run reports once however many MPANs
    reported the day."""
    clock(sim, set="2026-10-25T12:00:00+00:00")
    first = consumption(sim, pool.draw("mpan"), "2026-10-25")
    again = consumption(sim, pool.draw("mpan"), "2026-10-25")  # the same day again: no second calendar
    assert journal(sim, kind="accepted", interface="IF-014") == []  # the MDS took both
    clock(sim, set="2026-11-04T00:30:00+00:00")  # past II (29 Oct) and SF (3 Nov), before R1
    [ii], [sf] = reports(sim, first, "II"), reports(sim, first, "SF")
    for report, code in ((ii, "II"), (sf, "SF")):
        schema = report["CustomBlock"]["schema"]
        assert schema["R002"] == {"settlementDate": "2026-10-25", "settlementCode": code, "runNumber": 1}
        assert len(schema["REP003-R024"]) == 50 and schema["R013"] == {"GSPGroupID": "_A"}
        rows = gzip.decompress(base64.b64decode(report["CustomBlock"]["P03"]["compressedReport"])).decode().splitlines()
        assert len(rows) == 51 and rows[1].startswith(f"2026-10-25,{code},1,1,")
    assert reports(sim, first, "R1") == []
    assert len(in_chain(sim, first, "REP-003")) == 2 and in_chain(sim, again, "REP-003") == []
    for interface in ("REP-003A", "REP-004", "REP-006", "REP-002B", "REP-009"):  # the supplier's other reports
        runs = {
            e["payload"]["CustomBlock"]["schema"]["R002"]["settlementCode"]: e for e in in_chain(sim, first, interface)
        }
        assert sorted(runs) == ["II", "SF"], interface
        assert [d["recipient"] for d in runs["SF"]["deliveries"]] == [SUP], interface
    [duos] = [
        e
        for e in in_chain(sim, first, "REP-002")
        if e["payload"]["CustomBlock"]["schema"]["R002"]["settlementCode"] == "SF"
    ]
    assert [d["recipient"] for d in duos["deliveries"]] == [LDSO]
    no_defects(sim)


def decline(sim, request: dict, mpan: str) -> dict:
    """The metering service under test declines; the process it continues is its own chain."""
    return send(
        sim, MSS, "MSS", "IF-034", "MSAppSPResponse", mpan=mpan, to=[REGS],
        custom={"B007": {"responseCode": "R", "proposedAppointmentResponseCode": "no capacity"},
                "B012": {"serviceProviderAppointmentRequestingSupplierDIPID": SUP,
                         "serviceProviderAppointmentRequestingSupplierMPID": "SUPL"},
                "B070": request["CustomBlock"]["B070"]},
    )  # fmt: skip


def test_a_gaining_supplier_left_without_a_metering_service_is_reminded_the_day_before_the_supply_start(sim, pool):
    clock(sim, set="2026-03-27T12:00:00+00:00")
    mpan = pool.draw("mpan")
    request = metering_appointment(sim, mpan, "COS", "2026-04-03T00:00:00+01:00")
    declined = decline(sim, request, mpan)
    assert [e["payload"]["CommonBlock"]["S0"]["eventCode"] for e in in_chain(sim, declined, "IF-035")] == [
        "[MSAppRejected]"
    ]
    assert in_chain(sim, declined, "IF-045") == []  # not at once: the supply start is a week away
    clock(sim, set="2026-04-01T23:30:00+01:00")
    assert in_chain(sim, declined, "IF-045") == []
    clock(sim, advance="1h")  # 2 April, 00:30 BST: the day before the supply start
    [reminder] = in_chain(sim, declined, "IF-045")
    assert reminder["payload"]["CommonBlock"]["S0"]["eventCode"] == "[NoMSAppointed]"
    assert "no capacity" in reminder["payload"]["CustomBlock"]["B060"]["additionalInformation"]
    no_defects(sim)


def test_no_reminder_once_the_gaining_supplier_has_appointed_a_metering_service(sim, pool):
    clock(sim, set="2026-03-27T12:00:00+00:00")
    mpan = pool.draw("mpan")
    first = metering_appointment(sim, mpan, "COS", "2026-04-03T00:00:00+01:00")
    declined = decline(sim, first, mpan)
    again = metering_appointment(sim, mpan, "COS", "2026-04-03T00:00:00+01:00")
    send(
        sim, MSS, "MSS", "IF-034", "MSAppSPResponse", mpan=mpan, to=[REGS],
        custom={"B007": {"responseCode": "A", "proposedAppointmentResponseCode": None},
                "B012": {"serviceProviderAppointmentRequestingSupplierDIPID": SUP,
                         "serviceProviderAppointmentRequestingSupplierMPID": "SUPL"},
                "B070": again["CustomBlock"]["B070"]},
    )  # fmt: skip
    clock(sim, advance="10d")
    assert [
        e
        for e in journal(sim, kind="accepted", interface="IF-045")
        if e["payload"]["CommonBlock"]["M0"]["MPANCore"] == mpan
    ] == []
    assert in_chain(sim, declined, "IF-045") == []
    assert any(
        f"no MS reminder for {mpan}: the gaining supplier has appointed one meanwhile" in e["note"]
        for e in journal(sim, kind="event", participant=REGS)
    )
    no_defects(sim)


def test_an_unanswered_seg_appointment_lapses_with_reg1037(sim, pool):
    clock(sim, set="2026-06-01T09:00:00+01:00")
    mpan = pool.draw("mpan")
    request = metering_appointment(sim, mpan, "SEG", "2026-06-02T00:00:00+01:00")
    clock(sim, advance="5d")
    clock(sim, advance="1m")
    [lapsed] = in_chain(sim, request, "IF-035")
    assert lapsed["payload"]["CommonBlock"]["S0"]["eventCode"] == "[MSAppLapsed]"
    assert lapsed["payload"]["CustomBlock"]["B007"] == {
        "responseCode": "L",
        "proposedAppointmentResponseCode": "REG1037 - SEG Appointment Lapsed as did not become effective "
        "within post-SSD window",
    }
    assert in_chain(sim, request, "IF-045") == []  # not a change of supplier: nobody to remind
    no_defects(sim)


def test_a_test_can_start_a_settlement_run_itself(sim):
    run = {"settlement_date": "2026-10-25", "settlement_code": "R2", "run_number": 2, "gsp_group": "_A"}
    body = {"dip_id": VAS, "trigger": "SettlementRun", "correlation": "CI-RUN-R2-20261025", "data": run}
    answer = requests.post(f"{sim.url}/_sim/triggers", json=body, headers=sim.control_headers, timeout=5)
    assert answer.status_code == 200 and answer.json()["handled"] is True, answer.text
    [report] = [
        e["payload"] for e in journal(sim, kind="accepted", interface="REP-003", correlation_id="CI-RUN-R2-20261025")
    ]
    assert report["CustomBlock"]["schema"]["R002"] == {
        "settlementDate": "2026-10-25",
        "settlementCode": "R2",
        "runNumber": 2,
    }
    assert len(report["CustomBlock"]["schema"]["REP003-R024"]) == 50
    no_defects(sim)
