"""Participant simulators: roles a cohort does not bring, answering as that role would.

Behaviour is data (``rules/*.yaml``): for a role, an ordered list of rules ``on`` an incoming
interface/event (optionally ``where`` fields match), that may ``recall`` what an earlier message
left, ``remember`` something for later, and ``send`` messages. The first rule that matches wins;
anything unforeseen is journalled as an event, so a silent simulator is visible. Replies
enter the simulated DIP through the same checks as any participant's messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mhhs_sit import templating
from mhhs_sit.envelope import ReferenceSource, Sender, build_message, field
from mhhs_sit.errors import DefinitionError, Problem
from mhhs_sit.matchers import mismatches
from mhhs_sit.yamlsrc import load_yaml
from mhhs_stubs.config import SimParticipant
from mhhs_stubs.dip import SimulatedDip

RULES_DIR = Path(__file__).parent / "rules"


@dataclass(frozen=True)
class Rule:
    name: str
    interface: str
    event: str | None
    where: Mapping[str, Any]
    recall: str | None
    remember: Mapping[str, Any] | None
    send: tuple[Mapping[str, Any], ...]
    source: str


def load_rules(directory: Path = RULES_DIR) -> dict[str, list[Rule]]:
    """Rules by role code; any malformed file is a DefinitionError with file:line."""
    rules: dict[str, list[Rule]] = {}
    problems: list[Problem] = []
    for f in sorted(directory.glob("*.yaml")):
        doc = load_yaml(f)
        problems += doc.problems
        data = doc.data
        if not isinstance(data, dict) or not isinstance(data.get("role"), str):
            problems.append(doc.problem([], "a rules file starts with 'role: <ROLE>' and 'rules:'"))
            continue
        for i, raw in enumerate(data.get("rules") or []):
            on = raw.get("when") if isinstance(raw, dict) else None
            if not isinstance(on, dict) or "interface" not in on:
                problems.append(doc.problem(["rules", i], "each rule needs 'when: {interface: IF-nnn}'"))
                continue
            unknown = set(raw) - {"name", "when", "recall", "remember", "send"}
            for key in sorted(unknown):
                problems.append(doc.problem(["rules", i, key], f"unknown rule key '{key}'", key=True))
            line, _ = doc.position(["rules", i])
            rules.setdefault(data["role"], []).append(
                Rule(
                    name=str(raw.get("name", f"rule {i + 1}")),
                    interface=on["interface"],
                    event=on.get("event"),
                    where=on.get("where") or {},
                    recall=raw.get("recall"),
                    remember=raw.get("remember"),
                    send=tuple(raw.get("send") or ()),
                    source=f"{doc.file}:{line}",
                )
            )
    if problems:
        raise DefinitionError(problems)
    return rules


def message_view(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``msg.S1.senderDIPID`` and ``msg.B071.x`` as well as ``msg.CommonBlock...`` in templates."""
    view: dict[str, Any] = dict(payload)
    view.update(payload.get("CommonBlock") or {})
    view.update(payload.get("CustomBlock") or {})
    return view


class ParticipantSimulators:
    def __init__(self, dip: SimulatedDip, rules: Mapping[str, list[Rule]] | None = None):
        self.dip = dip
        self.rules = rules if rules is not None else load_rules()
        self.memory: dict[tuple[str, str], Any] = {}
        self.refs = ReferenceSource("sim")
        dip.responder = self.handle

    def _cohort_parties(self, me: SimParticipant) -> dict[str, Any]:
        return {
            p.role: {"dip_id": p.dip_id, "mpid": p.mpid, "role": p.role, "name": p.name}
            for p in self.dip.config.participants.values()
            if p.cohort == me.cohort
        }

    async def handle(self, me: SimParticipant, egress: dict[str, Any]) -> None:
        interface = str(field(egress, "S0", "interfaceID"))
        event = templating_event(field(egress, "S0", "eventCode"))
        sender_id = field(egress, "S1", "senderDIPID")
        sender = self.dip.config.participants.get(sender_id)
        context: dict[str, Any] = {
            **templating.builtins(),
            "msg": message_view(egress),
            "me": {"dip_id": me.dip_id, "mpid": me.mpid, "role": me.role},
            "sender": {
                "dip_id": sender_id,
                "mpid": sender.mpid if sender else None,
                "role": field(egress, "S1", "senderRoleID"),
            },
            "party": self._cohort_parties(me),
            "known_dip_ids": sorted(self.dip.config.participants),
        }
        for rule in self.rules.get(me.role, []):
            if rule.interface.upper() != interface.upper() or (rule.event and rule.event != event):
                continue
            where = templating.render(dict(rule.where), context)
            if mismatches(egress, where, blocks=True):
                continue
            if rule.recall is not None:
                key = str(templating.render(rule.recall, context))
                if (me.dip_id, key) not in self.memory:
                    continue
                context["memory"] = self.memory[(me.dip_id, key)]
            if rule.remember:
                key = str(templating.render(rule.remember["key"], context))
                self.memory[(me.dip_id, key)] = templating.render(rule.remember.get("value"), context)
            for action in rule.send:
                self._send(me, egress, templating.render(dict(action), context), rule)
            return
        self.dip.journal.add(
            "event",
            interface,
            me.dip_id,
            note=f"{me.role} simulator has no rule for {interface} [{event}]; nothing sent",
        )

    def _send(self, me: SimParticipant, incoming: Mapping[str, Any], action: Mapping[str, Any], rule: Rule) -> None:
        interface_id = action["interface"]
        to = action.get("to") or []
        recipients = [to] if isinstance(to, str) else list(to)
        message = build_message(
            interface_id=interface_id,
            event=action["event"],
            sender=Sender(me.dip_id, me.role),
            environment_tag=field(incoming, "S1", "environmentTag") or self.dip.config.environment_tag,
            refs=self.refs,
            custom=action.get("custom"),
            recipients=[r for r in recipients if r],
            mpan=action.get("mpan", field(incoming, "M0", "MPANCore")),
            distributor_dip_id=action.get("distributor_dip_id", field(incoming, "M0", "distributorDIPID")),
            gsp_group=action.get("gsp_group", field(incoming, "M0", "GSPGroupID")),
            correlation_id=field(incoming, "D0", "initialCorrelationID"),
            sub_text=field(incoming, "S1", "subText"),
        )
        batch = [{"payload": message}]
        refusals = self.dip.check_batch(interface_id, batch, me)
        if refusals:
            # The simulator produced an invalid message: a simulator defect, reported as one.
            details = "; ".join(f"{r.code} {r.pointer}: {r.help}" for r in refusals)
            self.dip.journal.add(
                "refused",
                interface_id,
                me.dip_id,
                payload=message,
                note=f"SIMULATOR DEFECT in {rule.source} ({rule.name}): {details}",
            )
            return
        self.dip.accept(interface_id, batch, me)


def templating_event(code: Any) -> str:
    return str(code or "").strip("[]")
