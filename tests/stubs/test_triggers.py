"""Off-DIP events over real loopback HTTP: ``POST /_sim/triggers`` runs a simulated party's
``when: {trigger: NAME}`` rules with the event's data as the message; what they send goes over
the DIP as any message does, what the DIP refuses comes back to the caller, every misuse is
one clear refusal, and a timer a rule sets fires when real time reaches it."""

from __future__ import annotations

import textwrap
import time

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.errors import DefinitionError
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.rule_files import load_rules

SUP, REGS, LDSO = "2300005101", "2200005101", "2500005101"
COHORT = f"""
    cohort: C43
    title: Supplier under test
    participants:
      SUP:  {{mpid: SUPT, dip_id: "{SUP}"}}
      REGS: {{mpid: EELC, dip_id: "{REGS}", distributor: "10"}}
      LDSO: {{mpid: EELC, dip_id: "{LDSO}", distributor: "10"}}
    simulated: [REGS, LDSO]
"""
RULES = """
    role: REGS
    rules:
      - name: disconnection notified
        when: {trigger: Disconnection, where: {B041.disconnectionEffectiveFromDate: {exists: true}}}
        send:
          - interface: IF-009
            event: MPANDisconnection
            to: ["{{ party.SUP.dip_id }}"]
            custom: {B041: "{{ msg.B041 }}"}
      - name: a disconnection announced for half a second later (a timer on the running clock)
        when: {trigger: DelayedDisconnection}
        schedule: {trigger: Disconnection, after: 0.5s, data: {B041: "{{ msg.B041 }}"}}
      - name: disconnection without a date still tries (so the DIP's refusal is seen)
        when: {trigger: Disconnection}
        send:
          - interface: IF-009
            event: MPANDisconnection
            to: ["{{ party.SUP.dip_id }}"]
            custom: {B041: {additionalInformation: null}}
"""
MPAN = "1000000000015"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    cohorts_dir = tmp_path_factory.mktemp("cohorts")
    (cohorts_dir / "C43.yaml").write_text(textwrap.dedent(COHORT).lstrip())
    rules = tmp_path_factory.mktemp("rules")
    (rules / "regs.yaml").write_text(textwrap.dedent(RULES).lstrip())
    cohorts, problems = load_cohorts(cohorts_dir)
    assert not problems, problems
    config = config_from_cohorts(cohorts.values(), version="2.1.0", check_responses=True, rules_dir=str(rules))
    with EmbeddedSimulator(config) as s:
        yield s


def trigger(sim, **body):
    return requests.post(f"{sim.url}/_sim/triggers", json=body, headers=sim.control_headers, timeout=5)


def test_a_trigger_runs_the_party_rules_and_its_message_is_published(sim):
    answer = trigger(
        sim, dip_id=REGS, trigger="Disconnection", mpan=MPAN, gsp_group="_A", distributor=LDSO,
        data={"B041": {"disconnectionEffectiveFromDate": "2026-12-05T00:00:00+00:00", "additionalInformation": "x"}},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "handled": True, "dip_id": REGS, "role": "REGS", "trigger": "Disconnection",
        "sent": ["IF-009 [MPANDisconnection]"], "refused": [],
    }  # fmt: skip
    requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, timeout=10)
    published = requests.get(
        f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"interface": "IF-009"}, timeout=5
    ).json()["messages"]
    [message] = [m for m in published if m["kind"] == "accepted"]
    common = message["payload"]["CommonBlock"]
    assert common["M0"] == {"MPANCore": MPAN, "distributorDIPID": LDSO, "GSPGroupID": "_A"}
    assert common["S1"]["senderDIPID"] == REGS
    assert message["payload"]["CustomBlock"]["B041"]["additionalInformation"] == "x"


def test_a_message_the_dip_refuses_is_reported_to_the_caller(sim):
    answer = trigger(sim, dip_id=REGS, trigger="Disconnection", mpan=MPAN, gsp_group="_A", distributor=LDSO)
    body = answer.json()
    assert body["handled"] is True and body["sent"] == []
    [refused] = body["refused"]
    assert refused.startswith("SIMULATOR DEFECT in ") and "disconnectionEffectiveFromDate" in refused


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"dip_id": REGS, "trigger": "Nobody-handles-this"}, 200, "no REGS rule takes the trigger Nobody-handles-this"),
        ({"dip_id": "9999999999", "trigger": "Disconnection"}, 404, "no participant with DIP ID '9999999999'"),
        ({"dip_id": SUP, "trigger": "Disconnection"}, 409, "is not simulated"),
        ({"dip_id": REGS, "trigger": "no spaces allowed"}, 400, "trigger: a name such as CSSRegistration"),
        ({"dip_id": REGS, "trigger": "Disconnection", "data": [1]}, 400, "data: a mapping"),
        ({"dip_id": REGS, "trigger": "Disconnection", "when": "now"}, 400, "unknown key(s) when"),
        ({"dip_id": REGS, "trigger": "Disconnection", "mpan": 1}, 400, "are text"),
    ],
)
def test_misuse_is_one_clear_answer(sim, body, status, says):
    answer = trigger(sim, **body)
    assert answer.status_code == status, answer.text
    assert says in (answer.json().get("note") or answer.json().get("error", ""))


def test_the_control_key_guards_it(sim):
    answer = requests.post(f"{sim.url}/_sim/triggers", json={"dip_id": REGS, "trigger": "Disconnection"}, timeout=5)
    assert answer.status_code == 401


def test_a_trigger_rule_is_checked_like_any_rule(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "role: REGS\nrules:\n  - name: x\n    when: {trigger: 'two words', interface: IF-009}\n    note: x\n"
    )
    with pytest.raises(DefinitionError) as caught:
        load_rules(tmp_path)
    text = str(caught.value)
    assert "a trigger is a name such as CSSRegistration" in text
    assert "'interface' is not for a trigger rule" in text


def test_a_timer_fires_when_real_time_reaches_it_without_the_clock_being_moved(sim):
    b041 = {"disconnectionEffectiveFromDate": "2026-12-06T00:00:00+00:00", "additionalInformation": "later"}
    answer = trigger(sim, dip_id=REGS, trigger="DelayedDisconnection", mpan=MPAN, gsp_group="_A", distributor=LDSO,
                     data={"B041": b041})  # fmt: skip
    assert answer.status_code == 200 and answer.json()["sent"] == [], answer.text
    deadline = time.monotonic() + 5

    def delayed() -> list[dict]:
        published = requests.get(
            f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"interface": "IF-009"}, timeout=5
        ).json()["messages"]
        return [m for m in published if m["kind"] == "accepted"
                and m["payload"]["CustomBlock"]["B041"]["additionalInformation"] == "later"]  # fmt: skip

    assert delayed() == []  # not at once
    while not delayed() and time.monotonic() < deadline:
        time.sleep(0.1)
    [message] = delayed()
    assert message["payload"]["CommonBlock"]["M0"]["MPANCore"] == MPAN
