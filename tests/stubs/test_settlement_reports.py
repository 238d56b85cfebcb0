"""IF-021 -> MDS -> the VAS's settlement runs -> ECS's reports, with the volumes the MDS received.

The framework plays the supplier and its smart data service; registration, the LDSO, the MDS, the
VAS and ECS are simulated. The data service reports two MPANs' consumption for a summer day; when
the clock passes the day's II run, the supplier gets REP-003 with the volumes allocated per
settlement period, REP-007 (the supplier's base BM unit used by default) and REP-901 (the DUoS
e-bill data: MPANs and volume per DUoS tariff of the register), the LDSO REP-008 (default line loss
factors) and REP-901. Consumption that arrives after II is in the SF run. Every report validates
against the official spec where it is present (else the project's 2.1.0).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
from pathlib import Path

import pytest
import requests

from mhhs_sit.data import CohortPool
from mhhs_sit.definitions.payloads import check_message
from mhhs_sit.definitions.templating import uk_midnight
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.consumption_classes import ccc_id
from mhhs_stubs.registry import site_of
from tests.helpers import official_spec_args, written_cohorts

SPEC = Path(__file__).resolve().parents[3] / "shared" / "dip-api-spec"
SUP, REGS, LDSO, SDS = "2300004701", "2200004701", "2500004701", "1400004701"
MDS, VAS, ECS = "3100004701", "3400004701", "3500004701"
COHORT = f"""
    cohort: C47
    title: Supplier and smart data service under test, settlement simulated
    participants:
      SUP:  {{mpid: SUPJ, dip_id: "{SUP}"}}
      REGS: {{mpid: EELC, dip_id: "{REGS}", distributor: "10"}}
      LDSO: {{mpid: EELC, dip_id: "{LDSO}", distributor: "10"}}
      SDS:  {{mpid: SDSJ, dip_id: "{SDS}"}}
      MDS:  {{mpid: MDSJ, dip_id: "{MDS}"}}
      VAS:  {{mpid: VASJ, dip_id: "{VAS}"}}
      ECS:  {{mpid: ECSJ, dip_id: "{ECS}"}}
    simulated: [REGS, LDSO, MDS, VAS, ECS]
"""
DAY = dt.date(2026, 6, 9)  # a Tuesday in BST: 48 periods; II on Monday 15 June, SF on Thursday 18 June
SPEC_ARGS = official_spec_args()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    cohorts = written_cohorts(tmp_path_factory.mktemp("cohorts"), {"C47": COHORT})
    config = config_from_cohorts(cohorts, version="2.1.0", check_responses=True, **SPEC_ARGS)
    with EmbeddedSimulator(config) as s:
        yield s


def control(sim, path: str, body: dict) -> None:
    r = requests.post(f"{sim.url}{path}", json=body, headers=sim.control_headers, timeout=10)
    assert r.status_code == 200, r.text


def journal(sim, **params) -> list[dict]:
    requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, timeout=10)
    answer = requests.get(f"{sim.url}/_sim/messages", headers=sim.control_headers, params=params, timeout=5)
    return answer.json()["messages"]


def consumption(sim, mpan: str, value: str) -> None:
    """The data service's IF-021 for ``mpan``: ``value`` kWh in each of the day's 48 periods."""
    start = dt.datetime.fromisoformat(uk_midnight(DAY))
    periods = [
        {"sp": (start + dt.timedelta(minutes=30 * n)).isoformat(), "v": value, "q": "A", "e": None, "arc": None}
        for n in range(1, 49)
    ]
    day = {"settlementDayDate": f"{DAY}T00:00:00+00:00", "periodDuration": 30}
    custom = {
        "B044": {"issuingDataServiceDIPID": SDS},
        "B067": {"connectionTypeIndicator": "W", "connectionTypeEffectiveFromDate": f"{DAY}T00:00:00+00:00"},
        "B900": {
            "MQID": {"measurementQuantityID": "AI"},
            "settlementDayConsumptionPeriods": [{"settlementDay": day, "consumptionPeriods": periods}],
        },
    }
    message = build_message(
        interface_id="IF-021", event="ActivePower", sender=Sender(SDS, "SDS"), environment_tag="DEV",
        refs=ReferenceSource(), custom=custom, recipients=[MDS], mpan=mpan, distributor_dip_id=LDSO,
        gsp_group="_A",
    )  # fmt: skip
    r = requests.post(
        f"{sim.url}/dip-channel/IF-021", json=[{"payload": message}],
        headers={"X-API-Key": sim.config.api_keys[SDS]}, timeout=5,
    )  # fmt: skip
    assert r.status_code == 201, r.text


def report(sim, interface: str, code: str) -> dict:
    """The one ``interface`` report of run ``code`` for DAY, with its recipients."""
    found = [
        e
        for e in journal(sim, kind="accepted", interface=interface, limit=1000)
        if e["payload"]["CustomBlock"]["schema"].get("R002", {}).get("settlementCode", code) == code
        and _run_code(e["payload"]) == code
    ]
    assert len(found) == 1, (interface, code, len(found))
    problems = check_message(_as_sent(found[0]["payload"]), interface, "2.1.0", SPEC_ARGS.get("dip_spec"))
    assert problems == [], problems
    return found[0]


def _run_code(payload: dict) -> str:
    schema = payload["CustomBlock"]["schema"]
    if "R900-01" in schema:
        return "SF"  # REP-900 names no run: only the SF run sends it
    return str(schema["R002"]["settlementCode"] if "R002" in schema else schema["R901-02"]["settlementCode"])


def _as_sent(payload: dict) -> dict:
    return {**payload, "CommonBlock": {k: v for k, v in payload["CommonBlock"].items() if k != "D0"}}


def recipients(entry: dict) -> list[str]:
    return sorted(d["recipient"] for d in entry["deliveries"])


def test_a_run_reports_the_volumes_the_mds_received_with_its_exceptions_and_e_bill(sim):
    control(sim, "/_sim/clock", {"set": "2026-06-10T12:00:00+01:00"})
    pool = CohortPool("C47", cohort_index=47, distributor_ids=["10"], seed=3)
    first, second, late = (str(pool.draw("mpan")) for _ in range(3))
    consumption(sim, first, "0.250")
    consumption(sim, second, "0.100")
    assert journal(sim, kind="accepted", interface="IF-014") == []  # the MDS took both
    control(sim, "/_sim/clock", {"set": "2026-06-15T01:00:00+01:00"})  # past II, before SF

    rep003 = report(sim, "REP-003", "II")
    assert recipients(rep003) == [SUP]
    rows = gzip.decompress(base64.b64decode(rep003["payload"]["CustomBlock"]["P03"]["compressedReport"]))
    lines = rows.decode().splitlines()
    assert lines[0].endswith(",allocatedVolume") and len(lines) == 49
    assert all(line.endswith(",0.350000") for line in lines[1:])  # 0.250 + 0.100 in every period
    [bm_unit] = rep003["payload"]["CustomBlock"]["schema"]["REP003-R015"][0]["REP003-R016"]
    assert bm_unit["R016"] == {"BMUnitID": "2__ASUPJ000", "defaultBMUnitFlag": True}
    assert bm_unit["R021"] == {
        "dailyUncorrectedPeriodBMUnitTotalAllocatedVolume": "16.800000",
        "dailyPeriodBMUnitTotalAllocatedVolume": "16.800000",
        "dailyBMUnitMSIDCount": 2,
    }
    # the volume by consumption component class, the MPANs grouped as the register holds them
    classes = {
        ccc_id(str(site_of(m)["segment"]), str(site_of(m)["direction"]), bool(site_of(m)["domestic"]))
        for m in (first, second)
    }
    by_class = bm_unit["REP003-R017"]
    assert sorted(c["R017"]["consumptionComponentClassID"] for c in by_class) == sorted(classes)
    assert sum(float(c["R019"]["dailyCorrectedComponent"]) for c in by_class) == pytest.approx(16.8)
    assert all(
        len(c["REP003-R018"]) == 48 and c["R019"]["dailyCorrectedComponentLosses"] == "0.000000" for c in by_class
    )
    assert sum(float(c["REP003-R018"][0]["correctedComponentConsumption"]) for c in by_class) == pytest.approx(0.35)

    rep007 = report(sim, "REP-007", "II")
    assert recipients(rep007) == [SUP]
    [group] = rep007["payload"]["CustomBlock"]["schema"]["REP007-R013"]
    assert group["R013"] == {"GSPGroupID": "_A"}
    assert [d["BMUnitID"] for d in group["REP007-R036"]] == ["2__ASUPJ000"]
    assert "2 MPAN(s)" in group["REP007-R036"][0]["detailsOfDefaultDataUsed"]

    rep008 = report(sim, "REP-008", "II")
    assert recipients(rep008) == [LDSO]
    schema = rep008["payload"]["CustomBlock"]["schema"]
    assert (
        schema["R027"] == {"distributorID": "EELC"} and "default LLF" in schema["R039"]["detailsofDefaultLLFDataUsed"]
    )

    bill = report(sim, "REP-901", "II")
    assert recipients(bill) == sorted([SUP, LDSO])
    [day] = bill["payload"]["CustomBlock"]["schema"]["R901-03"]
    [supplier] = day["R901-04"]
    assert day["settlementDate"] == str(DAY) and supplier["supplierDIPID"] == SUP
    [totals] = supplier["R901-06"]
    assert totals["dailyTotalMSIDCount"] == 2 and totals["dailyTotalUnitVolume"] == "16.800000"
    assert sum(t["dailyTariffNumberOfMSIDs"] for t in totals["R901-07"]) == 2
    sites = sorted(
        (site_of(m)["duos_tariff"], site_of(m)["direction"], site_of(m)["domestic"]) for m in (first, second)
    )
    got = [(t["DUoSTariffID"], t["energyDirection"], t["domesticPremiseIndicator"]) for t in totals["R901-07"]]
    assert sorted({*sites}) == sorted(got)  # per tariff, direction and domestic flag, as the register holds them

    consumption(sim, late, "1.000")  # after II: in the SF run, not in II's
    control(sim, "/_sim/clock", {"set": "2026-06-19T01:00:00+01:00"})  # past SF
    [sf_totals] = report(sim, "REP-901", "SF")["payload"]["CustomBlock"]["schema"]["R901-03"][0]["R901-04"][0][
        "R901-06"
    ]
    assert sf_totals["dailyTotalMSIDCount"] == 3 and sf_totals["dailyTotalUnitVolume"] == "64.800000"
    assert report(sim, "REP-901", "II") == bill  # II reported once

    # the SF run brings the LDSO's site-specific invoices (REP-900), one per site with consumption
    invoices = report(sim, "REP-900", "SF")
    assert recipients(invoices) == sorted([SUP, LDSO])
    schema = invoices["payload"]["CustomBlock"]["schema"]
    assert schema["R900-01"]["distributorID"] == "EELC" and schema["R900-02"]["supplierDIPID"] == SUP
    sites = {site["LDSOBillingSiteID"]: site for site in schema["R900-03"]}
    assert sorted(sites) == sorted([first, second, late])
    assert sites[first]["LDSOBillingSitePostCode"] == site_of(first)["postcode"]
    [invoice] = sites[first]["R900-04"]
    assert invoice["DUoSTariffID"] == site_of(first)["duos_tariff"] and invoice["chargePeriodStartDate"] == str(DAY)
    # a day's fixed charge (0.25) and 12 kWh at 0.015 (0.18): 0.43, VAT at 20% 0.09
    assert [c["chargeType"] for c in invoice["R900-05"]] == ["FIXED", "GREEN"]
    assert invoice["R900-05"][1]["quantity"] == "12.000"
    assert (invoice["totalInvoiceAmountExVAT"], invoice["totalInvoiceVAT"], invoice["totalInvoiceAmountIncVAT"]) == (
        "0.43", "0.09", "0.52",
    )  # fmt: skip
    assert len({s["R900-04"][0]["LDSOBilingInvoiceNumber"] for s in sites.values()}) == 3  # one number each

    # after the RF run (86 working days on: 7 October) ECS tells REGS each MPAN's annual consumption
    control(sim, "/_sim/clock", {"set": "2026-10-06T12:00:00+01:00"})
    assert journal(sim, kind="accepted", interface="IF-040") == []
    control(sim, "/_sim/clock", {"set": "2026-10-07T12:00:00+01:00"})
    annual = {
        e["payload"]["CommonBlock"]["M0"]["MPANCore"]: (recipients(e), e["payload"]["CustomBlock"]["B059"])
        for e in journal(sim, kind="accepted", interface="IF-040")
    }
    assert sorted(annual) == sorted([first, second, late])
    assert annual[first][0] == [REGS]
    assert annual[first][1] == {
        "annualConsumption": "4380.000",  # 12 kWh that day, times 365
        "annualConsumptionEffectiveFromDate": "2026-10-07T00:00:00+01:00",
        "annualConsumptionQualityIndicator": "4",
    }
    assert [e["note"] for e in journal(sim, kind="event") if "DEFECT" in e["note"]] == []


def test_a_run_without_consumption_reports_no_exceptions_or_e_bill_to_the_supplier(sim):
    run = {"settlement_date": "2026-07-01", "settlement_code": "R1", "run_number": 1, "gsp_group": "_A"}
    body = {"dip_id": VAS, "trigger": "SettlementRun", "correlation": "CI-RUN-R1-20260701", "data": run}
    r = requests.post(f"{sim.url}/_sim/triggers", json=body, headers=sim.control_headers, timeout=5)
    assert r.status_code == 200 and r.json()["handled"] is True, r.text
    sent = {e["interface"] for e in journal(sim, kind="accepted", correlation_id="CI-RUN-R1-20260701")}
    assert {"REP-003", "REP-008"} <= sent and not sent & {"REP-007", "REP-901"}
