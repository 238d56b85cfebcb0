"""Routing in the simulated DIP: secondary recipients by MPAN learnt from registration messages,
the routing refusals (MSG1031/1032/1037/1038) and the dry-run query."""

from __future__ import annotations

import pytest
import requests

from mhhs_sit.data.checkdigit import check_digit
from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import REPO
from tests.test_simulator import B071

SUP, REGS, LDSO, SDS = "2300000101", "2200000101", "2500000101", "1400000101"  # cohort C1
REFS = ReferenceSource("r")


@pytest.fixture(scope="module")
def sim():
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    with EmbeddedSimulator(config_from_cohorts(cohorts.values(), check_responses=True)) as s:
        yield s
        assert s.sim.defects == []  # every answer matched /openapi.json


def core(n: int) -> str:
    """A valid MPAN core (the simulated registration service refuses bad check digits)."""
    first12 = f"11{n:010d}"
    return first12 + str(check_digit(first12))


def post(sim, interface, message, dip_id):
    return requests.post(
        f"{sim.url}/dip-channel/{interface}",
        json=[{"payload": message}],
        headers={"X-API-Key": sim.config.api_keys[dip_id]},
        timeout=5,
    )


def consumption(mpan, *, recipients=(), distributor=None):
    return build_message(
        interface_id="IF-021", event="ActivePower", sender=Sender(SDS, "SDS"), environment_tag="DEV", refs=REFS,
        custom={"B900": []}, recipients=recipients, mpan=mpan, distributor_dip_id=distributor,
    )  # fmt: skip


def code(r):
    return r.json()["messageArray"][0]["message"].split(" ")[0]


def appoint_through_registration(sim, mpan):
    """The supplier asks REGS to appoint SDS; the simulated REGS and SDS complete the chain."""
    msg = build_message(
        interface_id="IF-031", event="DSApp", sender=Sender(SUP, "SUP"), environment_tag="DEV", refs=REFS,
        custom={"B071": B071}, recipients=[REGS], mpan=mpan, distributor_dip_id=LDSO,
    )  # fmt: skip
    assert post(sim, "IF-031", msg, SUP).status_code == 201
    done = requests.get(
        f"{sim.url}/_sim/wait",
        headers=sim.control_headers,
        params={"interface": "IF-036", "mpan": mpan, "timeout": 10},
        timeout=15,
    ).json()
    assert done["found"], "the simulated registration service never published IF-036"
    return done["message"]


def test_secondary_recipients_follow_the_appointments_registration_published(sim):
    mpan = core(1)
    before = requests.get(f"{sim.url}/_sim/appointments/{mpan}", headers=sim.control_headers, timeout=5).json()[
        "appointed"
    ]
    assert "SDS" not in before and "SUP" not in before
    active = appoint_through_registration(sim, mpan)
    assert {SUP, SDS} <= {d["recipient"] for d in active["deliveries"]}
    appointed = requests.get(f"{sim.url}/_sim/appointments/{mpan}", headers=sim.control_headers, timeout=5).json()[
        "appointed"
    ]
    assert appointed["SUP"] == SUP and appointed["SDS"] == SDS and appointed["LDSO"] == LDSO

    r = post(sim, "IF-021", consumption(mpan), SDS)  # no primary recipients: the DIP looks them up
    assert r.status_code == 201, r.text
    tx = r.json()["messageArray"][0]["transactionID"]
    entry = requests.get(f"{sim.url}/_sim/messages/{tx}", headers=sim.control_headers, timeout=5).json()
    assert entry["route"]["primaryRecipients"] == []
    assert sorted(entry["route"]["secondaryRecipients"]) == sorted([SUP, LDSO])
    assert sorted(entry["payload"]["CommonBlock"]["A0"]["secondaryRecipients"]) == sorted([SUP, LDSO])
    assert sorted(d["recipient"] for d in entry["deliveries"]) == sorted([SUP, LDSO])


def test_a_de_appointment_removes_the_party_from_secondary_routing(sim):
    mpan = core(2)
    r = requests.post(
        f"{sim.url}/_sim/appointments", headers=sim.control_headers, json={mpan: {"SUP": SUP, "SDS": SDS}}, timeout=5
    )
    assert r.status_code == 201
    deappoint = build_message(
        interface_id="IF-037", event="DSDeApp", sender=Sender(REGS, "REGS"), environment_tag="DEV", refs=REFS,
        custom={"B016": {"outgoingDataServiceDIPID": SDS}}, recipients=[SUP, SDS], mpan=mpan,
    )  # fmt: skip
    assert post(sim, "IF-037", deappoint, REGS).status_code == 201
    appointed = requests.get(f"{sim.url}/_sim/appointments/{mpan}", headers=sim.control_headers, timeout=5).json()[
        "appointed"
    ]
    assert appointed == {"SUP": SUP}


def test_unresolvable_secondary_routing_is_refused_with_the_dip_codes(sim):
    no_mpan = post(sim, "IF-021", consumption(None), SDS)
    assert no_mpan.status_code == 400 and code(no_mpan) == "MSG1037"
    unknown = post(sim, "IF-021", consumption(core(3)), SDS)
    assert unknown.status_code == 400 and code(unknown) == "MSG1038"
    assert core(3) in unknown.json()["messageArray"][0]["help"]


def test_primary_recipients_must_exist_and_receive_the_interface(sim):
    ghost = post(sim, "IF-021", consumption(core(4), recipients=["9999999999"]), SDS)
    assert ghost.status_code == 400 and code(ghost) == "MSG1031"
    wrong_role = post(sim, "IF-021", consumption(core(4), recipients=[REGS]), SDS)
    assert wrong_role.status_code == 400 and code(wrong_role) == "MSG1032"
    assert "REGS" in wrong_role.json()["messageArray"][0]["help"]


def test_a_dry_run_says_who_would_receive_without_accepting_anything(sim):
    mpan = core(5)
    requests.post(
        f"{sim.url}/_sim/appointments", headers=sim.control_headers, json={mpan: {"SUP": SUP, "LDSO": LDSO}}, timeout=5
    )
    message = consumption(mpan)
    before = requests.get(f"{sim.url}/_sim/health", headers=sim.control_headers, timeout=5).json()["lastSeq"]
    r = requests.post(
        f"{sim.url}/_sim/route/IF-021", json=[{"payload": message}, consumption(None)],
        headers={"X-API-Key": sim.config.api_keys[SDS], **sim.control_headers}, timeout=5,
    )  # fmt: skip
    assert r.status_code == 200
    first, second = r.json()["routes"]
    assert first["wouldAccept"] and sorted(first["recipients"]) == sorted([SUP, LDSO])
    assert not second["wouldAccept"] and second["refusals"][0]["code"] == "MSG1037"
    assert second["refusals"][0]["pointer"].startswith("/1/")
    assert (
        requests.get(f"{sim.url}/_sim/health", headers=sim.control_headers, timeout=5).json()["lastSeq"] == before
    )  # nothing journalled
    assert post(sim, "IF-021", message, SDS).status_code == 201  # and its reference was not used up


def test_bad_appointment_seeds_are_refused_with_every_problem_named(sim):
    r = requests.post(
        f"{sim.url}/_sim/appointments",
        headers=sim.control_headers,
        json={"123": {"SUP": SUP}, core(6): {"SUP": SDS, "LDSO": "0000000000"}},
        timeout=5,
    )
    assert r.status_code == 400
    problems = r.json()["problems"]
    assert any("13 digits" in p for p in problems)
    assert any("is a SDS, not a SUP" in p for p in problems)
    assert any("0000000000" in p for p in problems)
