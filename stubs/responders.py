"""Participant simulators: roles a cohort does not bring, answering as that role would.

Behaviour is data (``rules/*.yaml``). A file serves one role (``role: REGS``) or a family
(``roles: [SDS, ADS, UMSDS]``) with an ordered list of ``rules`` and an ordered list of
``otherwise`` rules. A rule matches ``when`` an incoming interface/event arrives, its ``where``
fields match the message and its ``given`` checks match what the simulator knows; it may
``lookup`` remembered values, ``recall`` one it needs (no memory, no match), ``remember`` or
``forget`` state per key, ``send`` messages, ``schedule`` timers (the trigger they name reaches a
party when the simulation clock reaches their date: mhhs_stubs.scheduler) and ``note`` a journal
event. The first rule that matches wins. When none does, the first matching ``otherwise`` rule
answers with the interface's rejection (``reason`` says why); only when no ``otherwise`` rule
covers the message (the interface has no response this role could send) is a visible journal event
written instead: an unknown situation is never silent. Replies enter the simulated DIP through the same checks as any
participant's messages; an invalid reply is journalled as a SIMULATOR DEFECT naming the rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict, cast

from mhhs_sit.definitions import templating
from mhhs_sit.definitions.matchers import mismatches
from mhhs_sit.definitions.payloads import carries_custom_block
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message, field
from mhhs_sit.errors import StepDefinitionError
from mhhs_stubs.config import SimParticipant
from mhhs_stubs.dip import SimulatedDip
from mhhs_stubs.registry import mpan_view
from mhhs_stubs.rule_files import RULES_DIR, TRIGGER_PREFIX, Rule, load_rules
from mhhs_stubs.scheduler import Scheduler, Timer
from mhhs_stubs.settlement import settlement_view
from mhhs_stubs.timers import TimerAction, render_timer

MEMORY_LIMIT = 200_000  # remembered keys across all simulated participants; the oldest go first

__all__ = ["MEMORY_LIMIT", "RULES_DIR", "ParticipantSimulators", "Rule", "load_rules", "message_view"]


class SendAction(TypedDict, total=False):
    """A rule's ``send`` item once rendered (rule_files checked its keys; ``interface``, ``event`` are there)."""

    interface: str
    event: str
    to: str | list[str] | None
    custom: Mapping[str, object] | None
    common: Mapping[str, object] | None
    mpan: str | None
    distributor_dip_id: str | None
    gsp_group: str | None


@dataclass(frozen=True)
class _Outcome:
    """Everything a matching rule does, rendered before any state changes (a template error changes none)."""

    stores: list[tuple[str, object, bool]]  # memory key, value, merge into a remembered mapping
    drops: list[str]
    actions: list[SendAction]
    timers: list[TimerAction]
    note: object


def message_view(payload: Mapping[str, object]) -> dict[str, object]:
    """``msg.S1.senderDIPID`` and ``msg.B071.x`` as well as ``msg.CommonBlock...`` in templates."""
    view: dict[str, object] = dict(payload)
    for block in ("CommonBlock", "CustomBlock"):
        content = payload.get(block)
        if isinstance(content, Mapping):
            view.update(content)
    return view


def _party(p: SimParticipant) -> dict[str, str]:
    return {"dip_id": p.dip_id, "mpid": p.mpid, "role": p.role, "name": p.name}


@dataclass(frozen=True)
class TriggerOutcome:
    handled: bool
    sent: list[str]  # "IF-009 [MPANDisconnection]" for each message the rules sent
    defects: list[str]  # each message its rules built that the DIP refused, with why


class ParticipantSimulators:
    def __init__(
        self, dip: SimulatedDip, rules: Mapping[str, list[Rule]] | None = None, memory_limit: int = MEMORY_LIMIT
    ):
        self.dip = dip
        self.rules = rules if rules is not None else load_rules()
        self.memory: dict[tuple[str, str], object] = {}  # insertion order = age, for eviction
        self.memory_limit = memory_limit
        self.forgotten = 0  # keys evicted because the memory was full (journalled, never silent)
        self.refs = ReferenceSource("sim")
        self.scheduler = Scheduler(dip.clock, self._timer_due)
        dip.responder = self.handle

    def recall(self, dip_id: str, key: str) -> object:
        """What the simulated participant ``dip_id`` remembers under ``key`` (None if nothing)."""
        return self.memory.get((dip_id, key))

    def _cohort_parties(self, me: SimParticipant) -> dict[str, dict[str, str]]:
        return {p.role: _party(p) for p in self.dip.config.participants.values() if p.cohort == me.cohort}

    def _others(self, me: SimParticipant, sender_id: object) -> dict[str, dict[str, str]]:
        """Per role, the first configured participant that is neither me nor the sender."""
        out: dict[str, dict[str, str]] = {}
        for p in sorted(self.dip.config.participants.values(), key=lambda p: p.dip_id):
            if p.dip_id not in (me.dip_id, sender_id):
                out.setdefault(p.role, _party(p))
        return out

    def _context(
        self, me: SimParticipant, egress: Mapping[str, object], interface: str, event: str
    ) -> dict[str, object]:
        """What every rule template can name about the message, me and the other parties."""
        sender_id = field(egress, "S1", "senderDIPID")
        sender = self.dip.config.participants.get(sender_id)
        return {
            **templating.builtins(self.dip.clock.now()),
            "msg": message_view(egress),
            "event": event,
            "me": {"dip_id": me.dip_id, "mpid": me.mpid, "role": me.role},
            "sender": {
                "dip_id": sender_id,
                "mpid": sender.mpid if sender else None,
                "role": field(egress, "S1", "senderRoleID"),
            },
            "party": self._cohort_parties(me),
            "other": self._others(me, sender_id),
            "known_dip_ids": sorted(self.dip.config.participants),
            "mpan": mpan_view(field(egress, "M0", "MPANCore") or field(egress, "M1", "principalMPAN")),
            "reason": f"no {me.role} rule covers {interface} [{event}]",
            "settlement": settlement_view(egress, self._cohort_parties(me)),  # a settlement trigger's (else None)
        }

    async def handle(self, me: SimParticipant, egress: dict[str, object]) -> None:
        interface = str(field(egress, "S0", "interfaceID")).upper()
        event = templating_event(field(egress, "S0", "eventCode"))
        context = self._context(me, egress, interface, event)
        if not self._run_rules(me, egress, context, interface, event):
            self.dip.journal.add(
                "event",
                interface,
                me.dip_id,
                note=f"UNANSWERED: {context['reason']} and {interface} has no response {me.role} sends; nothing sent",
            )

    def trigger(
        self,
        me: SimParticipant,
        name: str,
        data: Mapping[str, object],
        where: Mapping[str, str | None],
        correlation: str | None,
        origin: str = "trigger",
        since: str = "",
    ) -> TriggerOutcome:
        """An off-DIP event reaching the simulated ``me`` (its ``when: {trigger: name}`` rules run,
        ``msg`` being ``data``; ``where`` is its M0: MPAN, GSP group, distributor); False when no
        rule of its role takes it (journalled as such); what it sent, and the messages its rules built
        that the DIP refused (a trigger whose data lacks what the message needs). ``origin`` says in
        the journal what raised it (the control API, or a timer: ``since`` says which and when due)."""
        interface = f"{TRIGGER_PREFIX}{name}".upper()
        event = {  # data's own keys at the top as well, so a rule's where names "event" or "B041.x"
            **data,
            "CommonBlock": {
                "S0": {"interfaceID": interface, "eventCode": f"[{name}]"},
                "M0": {k: v for k, v in where.items() if v is not None},
                "D0": {"initialCorrelationID": correlation},
            },
            "CustomBlock": dict(data),
        }
        context = self._context(me, event, interface, name)
        context["msg"] = {**data, "CommonBlock": event["CommonBlock"]}
        context["reason"] = f"no {me.role} rule takes the trigger {name}"
        journal = self.dip.journal
        journal.add("event", interface, me.dip_id, payload=event, note=f"{origin} {name} reached {me.role}{since}")
        before = journal.last_seq
        if not self._run_rules(me, event, context, interface, name):
            journal.add("event", interface, me.dip_id, note=f"UNANSWERED: {context['reason']}")
            return TriggerOutcome(False, [], [])
        after = [e for e in journal.since(before) if e.sender == me.dip_id]
        defects = [e.note for e in after if e.note.startswith("SIMULATOR DEFECT")]
        sent = [f"{e.interface_id} {e.event_code or ''}".strip() for e in after if e.kind == "accepted"]
        return TriggerOutcome(True, sent, defects)

    def _run_rules(
        self, me: SimParticipant, egress: Mapping[str, object], context: dict[str, object], interface: str, event: str
    ) -> bool:
        """The first rule that matches (and those after it while they say ``continue``); an
        ``otherwise`` rule only when no rule did. True when something answered (or failed visibly)."""
        applied = False
        for rule in self.rules.get(me.role, []):
            if interface not in rule.interfaces or (rule.event and rule.event != event):
                continue
            if rule.fallback and applied:
                return True
            try:
                if not self._apply(rule, me, egress, context):
                    continue
            except StepDefinitionError as exc:  # a template naming a field this message lacks
                self.dip.journal.add(
                    "event", interface, me.dip_id, note=f"SIMULATOR DEFECT in {rule.source} ({rule.name}): {exc}"
                )
                return True
            applied = True
            if not rule.proceed:
                return True
        return applied

    def _apply(self, rule: Rule, me: SimParticipant, egress: Mapping[str, object], context: dict[str, object]) -> bool:
        """Run ``rule`` if it matches; False when it does not (the next rule is tried)."""
        ctx = self._matching_context(rule, me, egress, context)
        if ctx is None:
            return False
        outcome = _render_outcome(rule, ctx)
        self._change_memory(me, outcome)
        if outcome.note or rule.fallback:
            self._journal_rule(rule, me, egress, outcome.note, context["reason"])
        for action in outcome.actions:
            self._send(me, egress, action, rule)
        for timer in outcome.timers:
            self._set_timer(me, egress, timer, rule)
        return True

    def _set_timer(self, me: SimParticipant, incoming: Mapping[str, object], timer: TimerAction, rule: Rule) -> None:
        """A rule's timer: for its party (or ``for``), about the MPAN and chain of the message that set it."""
        where = {
            "MPANCore": timer.mpan if timer.mpan is not None else field(incoming, "M0", "MPANCore"),
            "GSPGroupID": field(incoming, "M0", "GSPGroupID"),
            "distributorDIPID": field(incoming, "M0", "distributorDIPID"),
        }
        target = self.dip.config.participants.get(timer.dip_id if timer.dip_id is not None else me.dip_id)
        if target is None or not target.simulated:  # e.g. the VAS is a party under test: it runs itself
            self.dip.journal.add("event", f"{TRIGGER_PREFIX}{timer.trigger}".upper(), me.dip_id, note=(
                f"{me.role} {rule.name} [{rule.source}]: timer {timer.trigger} not set, its party "
                f"{timer.dip_id or 'none'} is not simulated here"))  # fmt: skip
            return
        at = timer.at if timer.at is not None else self.dip.clock.now().timestamp() + (timer.after or 0.0)
        added = self.scheduler.add(
            at, target.dip_id, timer.trigger, data=timer.data,
            where={k: str(v) for k, v in where.items() if v},
            correlation=_text(field(incoming, "D0", "initialCorrelationID")), key=timer.key, source=rule.source,
        )  # fmt: skip
        if added is None:
            self.dip.journal.add("event", f"{TRIGGER_PREFIX}{timer.trigger}".upper(), me.dip_id, note=(
                f"{me.role} {rule.name} [{rule.source}]: timer {timer.trigger} not set, "
                f"{self.scheduler.limit} timers are ahead already"))  # fmt: skip

    def _timer_due(self, timer: Timer) -> None:
        """A timer's date has come: its trigger reaches the (simulated) party it was set for."""
        me = self.dip.config.participants[timer.dip_id]
        since = f" (set by {timer.source}, due {timer.due})"
        try:
            self.trigger(
                me, timer.trigger, timer.data, dict(timer.where), timer.correlation, origin="timer", since=since
            )
        except Exception as exc:  # a rule defect must be visible and must not stop the timers after it
            self.dip.journal.add("event", f"{TRIGGER_PREFIX}{timer.trigger}".upper(), me.dip_id,
                                 note=f"SIMULATOR DEFECT: timer {timer.trigger}{since} failed: {exc!r}")  # fmt: skip

    def _matching_context(
        self, rule: Rule, me: SimParticipant, egress: Mapping[str, object], context: dict[str, object]
    ) -> dict[str, object] | None:
        """The context with the rule's lookups and recalled memory, if its where/recall/given match."""
        if rule.where and mismatches(egress, templating.render_mapping(rule.where, context), blocks=True):
            return None
        ctx = dict(context)
        for name, key in (rule.lookup or {}).items():
            ctx[name] = self.memory.get((me.dip_id, str(templating.render(key, ctx))))
        if rule.recall is not None:
            key = str(templating.render(rule.recall, ctx))
            if (me.dip_id, key) not in self.memory:
                return None
            ctx["memory"] = self.memory[(me.dip_id, key)]
        if rule.given and mismatches(ctx, templating.render_mapping(rule.given, ctx)):
            return None
        return ctx

    def _change_memory(self, me: SimParticipant, outcome: _Outcome) -> None:
        for key in outcome.drops:
            self.memory.pop((me.dip_id, key), None)
        for key, value, merge in outcome.stores:
            old = self.memory.get((me.dip_id, key))
            if merge and isinstance(old, dict) and isinstance(value, dict):
                value = {**old, **value}
            self.memory.pop((me.dip_id, key), None)  # re-insert: the newest state is the youngest
            self.memory[(me.dip_id, key)] = value
        self._bound_memory(me)

    def _journal_rule(
        self, rule: Rule, me: SimParticipant, egress: Mapping[str, object], note: object, reason: object
    ) -> None:
        """A rule's ``note``, and every ``otherwise`` answer (a rejection says why no rule covered it)."""
        prefix = f"REJECTED ({reason}): " if rule.fallback else ""
        self.dip.journal.add(
            "event",
            str(field(egress, "S0", "interfaceID")),
            me.dip_id,
            mpan=field(egress, "M0", "MPANCore"),
            note=f"{prefix}{me.role} {rule.name} [{rule.source}]" + (f": {note}" if note else ""),
        )

    def _bound_memory(self, me: SimParticipant) -> None:
        while len(self.memory) > self.memory_limit:
            (dip_id, key), _ = next(iter(self.memory.items()))
            del self.memory[(dip_id, key)]
            self.forgotten += 1
            if self.forgotten == 1 or self.forgotten % 10_000 == 0:
                self.dip.journal.add(
                    "event", "-", dip_id,
                    note=f"participant simulator memory full ({self.memory_limit} keys): {self.forgotten} "
                    f"oldest key(s) forgotten so far, e.g. {key}",
                )  # fmt: skip

    def _send(self, me: SimParticipant, incoming: Mapping[str, object], action: SendAction, rule: Rule) -> None:
        interface_id = action["interface"]
        to = action.get("to") or []
        recipients = [to] if isinstance(to, str) else list(to)
        custom = action.get("custom")
        message = build_message(
            interface_id=interface_id,
            event=action["event"],
            sender=Sender(me.dip_id, me.role),
            environment_tag=field(incoming, "S1", "environmentTag") or self.dip.config.environment_tag,
            refs=self.refs,
            custom=custom,
            custom_block=bool(custom) or carries_custom_block(interface_id, action["event"]),
            recipients=[r for r in recipients if r],
            mpan=action.get("mpan", field(incoming, "M0", "MPANCore")),
            distributor_dip_id=action.get("distributor_dip_id", field(incoming, "M0", "distributorDIPID")),
            gsp_group=action.get("gsp_group", field(incoming, "M0", "GSPGroupID")),
            correlation_id=field(incoming, "D0", "initialCorrelationID"),
            sub_text=field(incoming, "S1", "subText"),
            extra_common=action.get("common"),
            now=self.dip.clock.now(),
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
        self.dip.accept(interface_id, batch, me, body_bytes=len(json.dumps(message)))  # its size, for the journal


def _render_outcome(rule: Rule, ctx: Mapping[str, object]) -> _Outcome:
    return _Outcome(
        stores=[
            (str(templating.render(r["key"], ctx)), templating.render(r.get("value"), ctx), bool(r.get("merge")))
            for r in rule.remember
        ],
        drops=[str(templating.render(k, ctx)) for k in rule.forget],
        actions=[
            cast(SendAction, templating.render_mapping(a, ctx)) for a in rule.send
        ],  # a rule file's sends are checked when read
        timers=[render_timer(t, ctx) for t in rule.schedule],
        note=templating.render(rule.note, ctx) if rule.note else None,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def templating_event(code: object) -> str:
    return str(code or "").strip("[]")
