"""Every interface/event pair a simulated role can send is sent by the real simulator, valid against
the official DIP spec, or it is listed with the MHHS design's reason why not (tests/data/unsent_pairs.yaml).

The pairs are the catalogue's (2.1.0) whose senders include a role the simulator has rules for.
The driving is derived from the rules, rule by rule (tests/simulated_stimuli.py): each rule that
sends or sets a timer gets the message or trigger its ``when`` describes, over real HTTP on
127.0.0.1, in a cohort of its own where only the rule's role is simulated (the framework plays
every other role, so any sender can be played and nothing else answers). The stimuli of a role
run in rule order on one MPAN, twice (what the first pass registers, later rules find), then the
clock runs a year on so every timer the rules set (lapses, reminders, settlement runs) comes due.
The test fails when a listed pair is sent (keep the list honest), when an unlisted pair is not,
when the list names a pair a simulated role cannot send, and when a sent message breaks the spec.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from mhhs_sit.catalogue import load_catalogue
from mhhs_sit.data import CohortPool
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.payloads import check_message
from mhhs_sit.definitions.schemas import ROLES
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.responders import load_rules
from tests.helpers import REPO
from tests.simulated_stimuli import VERSION, Stimulus, stimuli

SPEC = REPO.parent / "shared" / "dip-api-spec"
UNSENT = Path(__file__).parent / "data" / "unsent_pairs.yaml"
TEMPLATED = ("{{ event }}", "{{ msg.event }}", "{{ event }}InitialResp")
START = dt.datetime(2026, 6, 10, 9, 0, tzinfo=dt.UTC)  # a Wednesday in BST
DISTRIBUTOR = "10"


def simulated_roles() -> list[str]:
    return sorted(load_rules())


def possible_pairs() -> dict[tuple[str, str], list[str]]:
    """(interface, event) -> the simulated roles that may send it, for every pair of the catalogue's 2.1.0."""
    roles = set(simulated_roles())
    out: dict[tuple[str, str], list[str]] = {}
    for iface in load_catalogue().interfaces:
        senders = sorted(iface.senders & roles)
        for event in iface.event_codes(VERSION) if senders else ():
            out[(iface.id, event)] = senders
    return out


def unsent_pairs() -> dict[tuple[str, str], str]:
    """The listed pairs: ``IF-005 MeterInstall: reason``."""
    data = yaml.safe_load(UNSENT.read_text())
    assert isinstance(data, dict), f"{UNSENT}: a mapping of 'INTERFACE Event' to a one-line reason"
    out = {}
    for key, reason in data.items():
        interface, _, event = str(key).partition(" ")
        assert event and isinstance(reason, str) and reason.strip(), f"{UNSENT}: {key!r} needs a one-line reason"
        out[(interface, event)] = reason
    return out


def dip_id(role: str, cohort: int) -> str:
    return f"{10 + ROLES.index(role):02d}{cohort:02d}0000{90 + ROLES.index(role) % 10}"


def mpid(role: str, cohort: int) -> str:
    return f"{chr(65 + ROLES.index(role))}{chr(65 + cohort)}PX"


def cohort_text(role: str, n: int) -> str:
    lines = [f"cohort: PAIRS{n:02d}", f"title: only {role} simulated", "participants:"]
    for other in ROLES:
        distributor = f', distributor: "{DISTRIBUTOR}"' if other in ("REGS", "LDSO") else ""
        lines.append(f'  {other}: {{mpid: {mpid(other, n)}, dip_id: "{dip_id(other, n)}"{distributor}}}')
    return "\n".join([*lines, f"simulated: [{role}]", f"data_slot: {60 + n}", ""])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Any]:
    """Drive every rule; what each simulated role sent (journal entries), and the stimuli refused."""
    if not (SPEC / "SubmitEvents-unresolved.yaml").is_file():
        pytest.skip(f"the official DIP spec is not at {SPEC}")
    roles = simulated_roles()
    directory = tmp_path_factory.mktemp("cohorts")
    for n, role in enumerate(roles, start=1):
        (directory / f"PAIRS{n:02d}.yaml").write_text(cohort_text(role, n))
    cohorts, problems = load_cohorts(directory)
    assert not problems, problems
    config = config_from_cohorts(cohorts.values(), version=VERSION, dip_spec=str(SPEC))
    catalogue, rules = load_catalogue(), load_rules()
    with EmbeddedSimulator(config) as sim:
        post(sim, "/_sim/clock", {"set": START.isoformat()})
        refused: list[str] = []
        for n, role in enumerate(roles, start=1):
            driver = Driving(sim, n, roles)
            own = [s for s in stimuli(catalogue, rules, START.date()) if s.role == role]
            for _ in range(2):  # what the first pass registers, the second finds
                refused += [r for s in own for r in driver.drive(s)]
            # last, the rules that set timers, so nothing answers what they wait for
            refused += [r for s in own if s.rule.schedule for r in driver.drive(s)]
        post(sim, "/_sim/clock", {"advance": "400d"})
        requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, timeout=60)
        simulated = {d for d, p in sim.config.participants.items() if p.simulated}
        answer = journal(sim)
        return {
            "sent": [e for e in answer if e["kind"] == "accepted" and e["sender"] in simulated],
            "defects": [e["note"] for e in answer if "SIMULATOR DEFECT" in e.get("note", "")],
            "refused_sent": [e for e in answer if e["kind"] == "refused" and e["sender"] in simulated],
            "refused": refused,
        }


def journal(sim, **params) -> list[dict]:
    answer = requests.get(
        f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"limit": 100000, **params}, timeout=60
    )
    return answer.json()["messages"]


def post(sim, path: str, body: dict) -> dict:
    answer = requests.post(f"{sim.url}{path}", json=body, headers=sim.control_headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


class Driving:
    """Sends the stimuli of cohort ``n``'s simulated role: party 1 is the cohort's own framework
    participants, party 2 the next cohort's (another supplier, another data service...)."""

    def __init__(self, sim, n: int, roles: list[str]):
        self.sim, self.n, self.roles = sim, n, roles
        self.pool = CohortPool(f"PAIRS{n:02d}", cohort_index=60 + n, distributor_ids=[DISTRIBUTOR], seed=5)
        self.shared = str(self.pool.draw("mpan"))

    def party(self, role: str, party: int) -> int:
        """The cohort whose participant plays ``role`` as ``party`` (never one where it is simulated)."""
        if party == 1 or role == self.roles[self.n - 1]:
            return self.n
        other = self.n % len(self.roles) + 1
        return other if self.roles[other - 1] != role else other % len(self.roles) + 1

    def mpan(self, kind: str, parent: str | None) -> str:
        if kind == "same" and parent is not None:
            return parent
        if kind == "unregistered":
            return str(self.pool.draw("mpan", registered=False))
        return str(self.pool.draw("mpan")) if kind == "fresh" else self.shared

    def drive(self, stimulus: Stimulus, parent: str | None = None, parent_party: int = 1) -> list[str]:
        """Send the stimulus (its prerequisites first); what the DIP refused of it. A stimulus's
        party is relative to the one it prepares for: 2 is the other one."""
        mpan = self.mpan(stimulus.mpan, parent)
        party = parent_party if stimulus.party == 1 else 3 - parent_party
        refused = [r for before in stimulus.before for r in self.drive(before, mpan, party)]
        if stimulus.trigger is not None:
            return refused + self.trigger(stimulus, mpan, party)
        return refused + self.message(stimulus, mpan, party)

    def context(self, party: int, mpan: str) -> dict[str, object]:
        cohort = {r: {"dip_id": dip_id(r, self.party(r, party)), "mpid": mpid(r, self.party(r, party))} for r in ROLES}
        return {**templating.builtins(START), "mpan": mpan, "cohort": cohort}

    def trigger(self, stimulus: Stimulus, mpan: str, party: int) -> list[str]:
        me = dip_id(stimulus.role, self.n)
        data = templating.render_mapping(stimulus.data, self.context(party, mpan))
        body = {"dip_id": me, "trigger": stimulus.trigger, "mpan": mpan, "data": data,
                "distributor": dip_id("LDSO", self.n), "gsp_group": "_A"}  # fmt: skip
        answer = requests.post(f"{self.sim.url}/_sim/triggers", json=body, headers=self.sim.control_headers, timeout=30)
        return [] if answer.status_code == 200 else [f"{stimulus.rule.source} trigger: {answer.text}"]

    def message(self, stimulus: Stimulus, mpan: str, party: int) -> list[str]:
        assert stimulus.interface is not None and stimulus.sender_role is not None
        me = dip_id(stimulus.role, self.n)
        context = self.context(party, mpan)
        sender = dip_id(stimulus.sender_role, self.party(stimulus.sender_role, party))
        m0 = stimulus.has_m0
        message = build_message(
            interface_id=stimulus.interface, event=stimulus.event, environment_tag="DEV", refs=ReferenceSource(),
            sender=Sender(sender, stimulus.sender_role),
            custom=templating.render_mapping(stimulus.custom, context) if stimulus.custom else None,
            custom_block=stimulus.carries_custom, recipients=[me], mpan=mpan if m0 else None,
            distributor_dip_id=dip_id("LDSO", self.n) if m0 else None, gsp_group="_A" if m0 else None,
            extra_common=templating.render_mapping(stimulus.common, context) or None, now=START,
        )  # fmt: skip
        answer = requests.post(
            f"{self.sim.url}/dip-channel/{stimulus.interface}", json=[{"payload": message}],
            headers={"X-API-Key": self.sim.config.api_keys[sender]}, timeout=30,
        )  # fmt: skip
        if answer.status_code == 201:
            return []
        where = f"{stimulus.rule.source} {stimulus.interface} [{stimulus.event}]"
        return [f"{where}: {answer.status_code} {answer.text[-600:]}"]


def rules_sending(pair: tuple[str, str]) -> list[str]:
    """The rules with a send on the pair's interface (its event may be a template)."""
    return [
        f"{Path(r.source).name} ({r.name})"
        for role_rules in load_rules().values()
        for r in role_rules
        if any(s.get("interface") == pair[0] and str(s.get("event")) in (pair[1], *TEMPLATED) for s in r.send)
    ]


def pairs_of(entries: Iterable[dict]) -> set[tuple[str, str]]:
    return {(e["interface"], str(e["payload"]["CommonBlock"]["S0"]["eventCode"]).strip("[]")) for e in entries}


def test_the_list_names_only_pairs_a_simulated_role_could_send():
    stray = sorted(set(unsent_pairs()) - set(possible_pairs()))
    assert stray == [], f"{UNSENT}: not a pair of the catalogue's {VERSION} that a simulated role may send: {stray}"


def test_every_stimulus_the_rules_describe_is_a_message_the_dip_takes(run):
    assert run["refused"] == []


def test_every_pair_a_simulated_role_can_send_is_sent_or_listed_with_its_reason(run):
    sent, listed = pairs_of(run["sent"]), set(unsent_pairs())
    missing = {pair: rules_sending(pair) for pair in sorted(set(possible_pairs()) - sent - listed)}
    assert missing == {}, (
        f"never sent by a simulated role and not in {UNSENT.name} (list it with the design's reason, or "
        f"see why the rules that name it, listed with each pair, did not send it): {missing}"
    )
    dishonest = sorted(sent & listed)
    assert dishonest == [], f"listed in {UNSENT.name} as never sent, but sent: take them off the list: {dishonest}"


def test_every_message_a_simulated_role_sent_validates_against_the_official_spec(run):
    """And the only messages the DIP refused a simulated role are of pairs listed as never sent."""
    listed = set(unsent_pairs())
    assert [n for n in run["defects"] if "MSG1001" not in n] == []  # no template defects at all
    assert sorted(pairs_of(run["refused_sent"]) - listed) == []
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for e in run["sent"]:
        sent = {**e["payload"], "CommonBlock": {k: v for k, v in e["payload"]["CommonBlock"].items() if k != "D0"}}
        problems += [
            f"{e['interface']} {e['eventCode']}: {p}" for p in check_message(sent, e["interface"], VERSION, str(SPEC))
        ]
        seen |= pairs_of([e])
    assert problems == []
    assert len(seen) >= 40  # most of what the rules can send was sent


def test_a_cohort_of_the_driving_is_a_valid_cohort_file(tmp_path):
    (tmp_path / "PAIRS01.yaml").write_text(textwrap.dedent(cohort_text("REGS", 1)))
    cohorts, problems = load_cohorts(tmp_path)
    assert not problems and cohorts["PAIRS01"].simulated == frozenset({"REGS"})
