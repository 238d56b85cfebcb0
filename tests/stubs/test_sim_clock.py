"""The simulation clock over real loopback HTTP: ``/_sim/clock`` reads, sets and advances it,
refuses a bad change naming the field, and everything the simulator writes as market time follows
it: D0 and transaction IDs, answer timestamps, the simulated roles' timestamps and the effective
dates they write (UK clock midnight, CR036) on both sides of both clock changes of 2026."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import requests

from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import official_spec_args, written_cohorts
from tests.stubs import messages

SPEC = Path(__file__).resolve().parents[3] / "shared" / "dip-api-spec"
SUP, REGS, LDSO, MSS, MDS = "2300004701", "2200004701", "2500004701", "1200004701", "3100004701"
SDS = "1400004701"
COHORT = f"""
    cohort: C47
    title: Supplier under test, the market simulated
    participants:
      SUP:  {{mpid: SUPC, dip_id: "{SUP}"}}
      REGS: {{mpid: EELC, dip_id: "{REGS}", distributor: "10"}}
      LDSO: {{mpid: EELC, dip_id: "{LDSO}", distributor: "10"}}
      MSS:  {{mpid: MSSC, dip_id: "{MSS}"}}
      MDS:  {{mpid: MDSC, dip_id: "{MDS}"}}
      SDS:  {{mpid: SDSC, dip_id: "{SDS}"}}
    simulated: [REGS, LDSO, MSS, MDS, SDS]
"""
OTHER_SUPPLIER = """
    cohort: C48
    title: The supplier a switch is from
    participants:
      SUP: {mpid: SUPD, dip_id: "2300004801"}
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Validating against the official DIP spec where it is, else the project's 2.1.0 (which equals it)."""
    cohorts = written_cohorts(tmp_path_factory.mktemp("cohorts"), {"C47": COHORT, "C48": OTHER_SUPPLIER})
    spec = official_spec_args()
    with EmbeddedSimulator(config_from_cohorts(cohorts, version="2.1.0", check_responses=True, **spec)) as s:
        yield s


@pytest.fixture(autouse=True)
def real_time_after(sim):
    yield
    requests.post(f"{sim.url}/_sim/clock", json={"reset": True}, headers=sim.control_headers, timeout=5)


def clock(sim, **change):
    if not change:
        r = requests.get(f"{sim.url}/_sim/clock", headers=sim.control_headers, timeout=5)
    else:
        r = requests.post(f"{sim.url}/_sim/clock", json=change, headers=sim.control_headers, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def journal(sim, **params) -> list[dict]:
    requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, timeout=10)
    answer = requests.get(f"{sim.url}/_sim/messages", headers=sim.control_headers, params=params, timeout=5)
    return answer.json()["messages"]


def test_the_clock_is_real_time_until_set_and_keeps_running_after(sim):
    now = clock(sim)
    assert now["simulated"] is False and now["offsetSeconds"] == 0
    assert abs(instant(now["now"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
    summer = clock(sim, set="2026-07-01T09:00:00+01:00")
    assert summer["simulated"] is True
    assert summer["today"] == "2026-07-01" and summer["midnight"] == "2026-07-01T00:00:00+01:00"
    assert dt.timedelta(0) <= instant(summer["now"]) - instant("2026-07-01T08:00:00+00:00") < dt.timedelta(seconds=5)
    later = clock(sim, advance="2d")
    assert later["today"] == "2026-07-03"
    assert dt.timedelta(days=2) <= instant(later["now"]) - instant(summer["now"]) < dt.timedelta(days=2, seconds=5)
    assert clock(sim, reset=True)["simulated"] is False
    notes = [e["note"] for e in journal(sim, kind="event") if "simulation clock" in e["note"]]
    assert notes[-3].startswith("simulation clock set: ") and notes[-3].endswith("-> 2026-07-01T08:00:00+00:00")
    assert notes[-2].startswith("simulation clock advanced by 2d: 2026-07-01T08:00:0")


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({}, "", "exactly one of advance, set, reset"),
        ({"advance": "2d", "set": "2026-04-01T00:00:00+01:00"}, "", "exactly one of"),
        ({"advance": "2 days"}, "advance", "is not a duration; write e.g. 2d, 6h, 90m or 30s"),
        ({"advance": 0}, "advance", "the clock only moves forward"),
        ({"advance": "-1d"}, "advance", "is not a duration"),
        ({"set": "2026-04-01T00:00:00"}, "set", "has no offset"),
        ({"set": "1 April"}, "set", "is not a timestamp"),
        ({"reset": "yes"}, "reset", "reset: true"),
        ({"adavnce": "2d"}, "adavnce", "unknown key"),
        (["advance"], "", "a clock change is a mapping"),
    ],
)
def test_a_bad_clock_change_is_refused_naming_the_field_and_leaves_the_clock_alone(sim, body, field, says):
    r = requests.post(f"{sim.url}/_sim/clock", json=body, headers=sim.control_headers, timeout=5)
    assert r.status_code == 400
    assert r.json()["field"] == field and says in r.json()["error"]
    assert clock(sim)["simulated"] is False


def test_the_clock_needs_the_control_key(sim):
    for method in ("GET", "POST"):
        r = requests.request(method, f"{sim.url}/_sim/clock", json={"advance": "1d"}, timeout=5)
        assert r.status_code == 401
    assert clock(sim)["simulated"] is False


def _switch(sim, mpan: str) -> tuple[dict, dict]:
    """The framework's supplier asks for a metering service on a switch; the answer and REGS's IF-001."""
    message = build_message(
        interface_id="IF-031", event="MSApp", sender=Sender(SUP, "SUP"), environment_tag="DEV",
        refs=ReferenceSource(), recipients=[REGS], mpan=mpan, distributor_dip_id=LDSO,
        custom={
            "B013": {"CSSRegistrationID": f"CSS-{mpan}"},
            "B070": {
                "proposedMeteringServiceDIPID": MSS, "proposedMeteringServiceMPID": "MSSC",
                "proposedMeteringServiceDIPEffectiveFromDate": messages.MIDNIGHT,
                "contractReferenceMeteringService": "MS-1", "appointmentScenario": "COS",
            },
        },
    )  # fmt: skip
    r = requests.post(
        f"{sim.url}/dip-channel/IF-031",
        json=[{"payload": message}],
        headers={"X-API-Key": sim.config.api_keys[SUP]},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    correlation = message["CommonBlock"]["S1"]["senderCorrelationID"]
    [if001] = journal(sim, kind="accepted", interface="IF-001", correlation_id=correlation)
    return r.json(), if001


@pytest.mark.parametrize(
    ("now", "day", "midnight", "yesterday_midnight"),
    [
        ("2026-03-28T23:30:00+00:00", "20260328", "2026-03-28T00:00:00+00:00", "2026-03-27T00:00:00+00:00"),
        ("2026-03-29T23:30:00+00:00", "20260329", "2026-03-30T00:00:00+01:00", "2026-03-29T00:00:00+00:00"),
        ("2026-10-24T23:30:00+00:00", "20261024", "2026-10-25T00:00:00+01:00", "2026-10-24T00:00:00+01:00"),
        ("2026-10-26T00:30:00+00:00", "20261026", "2026-10-26T00:00:00+00:00", "2026-10-25T00:00:00+01:00"),
    ],
    ids=["before-spring", "after-spring", "before-autumn", "after-autumn"],
)
def test_what_the_simulator_writes_follows_the_clock_across_both_clock_changes(
    sim, now, day, midnight, yesterday_midnight
):
    """Set at 23:30/00:30 UTC either side of each change, where the UTC and UK dates differ in summer."""
    from mhhs_sit.data import CohortPool

    clock(sim, set=now)
    answer, if001 = _switch(
        sim, CohortPool("C47", cohort_index=47, distributor_ids=["10"], seed=int(day[4:]) % 100).draw("mpan")
    )
    assert answer["timestamp"][:15] == answer["messageArray"][0]["sentTimestamp"][:15] == now[:15]
    common, custom = if001["payload"]["CommonBlock"], if001["payload"]["CustomBlock"]
    assert common["D0"]["transactionTimestamp"][:15] == common["S1"]["senderTimestamp"][:15] == now[:15]
    assert f"-{day}-" in common["S1"]["senderUniqueReference"]  # references carry the UTC date of their stamp
    assert f"-{day}-" in common["D0"]["transactionID"]
    assert custom["B002"]["supplierEffectiveFromDate"] == midnight
    assert custom["B025"]["energisationStatusEffectiveFromDate"] == midnight
    assert custom["B003"]["supplierEffectiveToDate"] == yesterday_midnight
    assert [e for e in journal(sim, kind="refused") if e["sender"] == REGS] == []  # valid under the spec
    assert not [e["note"] for e in journal(sim, kind="event") if "DEFECT" in e["note"]]


def test_a_replay_selects_by_the_market_time_its_messages_were_stamped_with(sim):
    from mhhs_sit.data import CohortPool

    clock(sim, set="2026-07-01T09:00:00+01:00")
    mpan = CohortPool("C47", cohort_index=47, distributor_ids=["10"], seed=70).draw("mpan")
    _, if001 = _switch(sim, mpan)

    def replayed(start: str, end: str) -> list[str]:
        body = {"datetimeFrom": start, "datetimeTo": end, "eventCode": None, "MPAN": mpan, "version": None}
        r = requests.post(
            f"{sim.url}/dip-channel/IF-001/replay/{SUP}",
            json=body,
            headers={"X-API-Key": sim.config.api_keys[SUP]},
            timeout=5,
        )
        assert r.status_code == 200, r.text
        return [m["payload"]["CommonBlock"]["D0"]["transactionID"] for m in r.json()]

    assert replayed("2026-07-01T00:00:00+01:00", "2026-07-02T00:00:00+01:00") == [if001["transactionID"]]
    real_day = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert replayed(real_day.isoformat(), (real_day + dt.timedelta(days=1)).isoformat()) == []


def _appoint_data_service(sim, mpan: str, effective: str) -> dict:
    message = build_message(
        interface_id="IF-031", event="DSApp", sender=Sender(SUP, "SUP"), environment_tag="DEV",
        refs=ReferenceSource(), recipients=[REGS], mpan=mpan, distributor_dip_id=LDSO,
        custom={"B071": {**messages.b071(SDS, "SDSC", "CSP"), "proposedDataServiceDIPEffectiveFromDate": effective}},
    )  # fmt: skip
    r = requests.post(
        f"{sim.url}/dip-channel/IF-031",
        json=[{"payload": message}],
        headers={"X-API-Key": sim.config.api_keys[SUP]},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return message


def _dry_run(sim, mpan: str) -> dict:
    """Who would get an IF-027 the supplier sends for the MPAN naming no recipient (MPAN routing)."""
    message = build_message(
        interface_id="IF-027", event="ConsumptionAmendment", sender=Sender(SUP, "SUP"), environment_tag="DEV",
        refs=ReferenceSource(), mpan=mpan, distributor_dip_id=LDSO, custom={},
    )  # fmt: skip
    r = requests.post(
        f"{sim.url}/_sim/route/IF-027",
        json=message,
        headers={**sim.control_headers, "X-API-Key": sim.config.api_keys[SUP]},
        timeout=5,
    )
    assert r.status_code == 200, r.text
    return r.json()["routes"][0]


def _appointments(sim, mpan: str) -> dict:
    r = requests.get(f"{sim.url}/_sim/appointments/{mpan}", headers=sim.control_headers, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_future_dated_appointment_takes_effect_only_when_the_clock_reaches_it(sim):
    """Accepted and announced at once (IF-035, IF-036), but the DIP routes to the new data service
    only from its effective date: 00:00 UK clock time two days on, in summer."""
    from mhhs_sit.data import CohortPool

    clock(sim, set="2026-07-01T09:00:00+01:00")
    mpan = CohortPool("C47", cohort_index=47, distributor_ids=["10"], seed=71).draw("mpan")
    request = _appoint_data_service(sim, mpan, "2026-07-03T00:00:00+01:00")
    correlation = request["CommonBlock"]["S1"]["senderCorrelationID"]
    [active] = journal(sim, kind="accepted", interface="IF-036", correlation_id=correlation)
    assert (
        active["payload"]["CustomBlock"]["B015"]["incomingDataServiceEffectiveFromDate"] == "2026-07-03T00:00:00+01:00"
    )

    before = _appointments(sim, mpan)
    assert "SDS" not in before["appointed"]
    assert before["pending"] == [
        {"role": "SDS", "dipId": SDS, "change": "appointed", "effective": "2026-07-02T23:00:00+00:00"}
    ]
    assert SDS not in _dry_run(sim, mpan)["secondaryRecipients"]

    clock(sim, advance="1d")  # 2026-07-02 09:00 BST: not yet
    assert "SDS" not in _appointments(sim, mpan)["appointed"]
    clock(sim, set="2026-07-03T00:00:00+01:00")  # the effective instant itself
    after = _appointments(sim, mpan)
    assert after["appointed"]["SDS"] == SDS and after["pending"] == []
    assert _dry_run(sim, mpan)["secondaryRecipients"] == [SDS]
    [note] = [e["note"] for e in journal(sim, kind="event", mpan=mpan) if "in force" in e["note"]]
    assert (
        note == f"future-dated appointment in force: SDS {SDS} appointed to MPAN {mpan} from 2026-07-02T23:00:00+00:00"
    )


def test_an_appointment_effective_today_takes_effect_at_once(sim):
    from mhhs_sit.data import CohortPool

    now = clock(sim, set="2026-07-01T09:00:00+01:00")
    mpan = CohortPool("C47", cohort_index=47, distributor_ids=["10"], seed=72).draw("mpan")
    _appoint_data_service(sim, mpan, now["midnight"])
    journal(sim)  # idle: the chain has run
    assert _appointments(sim, mpan) == {
        "MPAN": mpan,
        "appointed": {"LDSO": LDSO, "SUP": SUP, "SDS": SDS, "MDS": MDS},
        "pending": [],
    }
