"""Participant simulators: roles a cohort does not bring, answering as that role would.

Behaviour is data (``rules/*.yaml``). A file serves one role (``role: REGS``) or a family
(``roles: [SDS, ADS, UMSDS]``) with an ordered list of ``rules`` and an ordered list of
``otherwise`` rules. A rule matches ``when`` an incoming interface/event arrives, its ``where``
fields match the message and its ``given`` checks match what the simulator knows; it may
``lookup`` remembered values, ``recall`` one it needs (no memory, no match), ``remember`` or
``forget`` state per key, ``send`` messages and ``note`` a journal event. The first rule that
matches wins. When none does, the first matching ``otherwise`` rule answers with the interface's
rejection (``reason`` says why); only when no ``otherwise`` rule covers the message (the interface
has no response this role could send) is a visible journal event written instead: an unknown
situation is never silent. Replies enter the simulated DIP through the same checks as any
participant's messages; an invalid reply is journalled as a SIMULATOR DEFECT naming the rule.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mhhs_sit.core.yamlsrc import YamlDoc, load_yaml
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.matchers import OPERATOR_NAMES, mismatches
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message, field
from mhhs_sit.errors import DefinitionError, Problem, StepDefinitionError
from mhhs_stubs.config import SimParticipant
from mhhs_stubs.dip import SimulatedDip
from mhhs_stubs.registry import mpan_view

RULES_DIR = Path(__file__).parent / "rules"
MEMORY_LIMIT = 200_000  # remembered keys across all simulated participants; the oldest go first

FILE_KEYS = frozenset({"role", "roles", "rules", "otherwise"})
RULE_KEYS = frozenset({"name", "when", "lookup", "recall", "remember", "forget", "send", "note", "continue"})
WHEN_KEYS = frozenset({"interface", "event", "where", "given"})
SEND_KEYS = frozenset({"interface", "event", "to", "custom", "common", "mpan", "distributor_dip_id", "gsp_group"})
REMEMBER_KEYS = frozenset({"key", "value", "merge"})
# Names every rule template may use besides the templating built-ins and its own lookups.
CONTEXT_NAMES = frozenset(
    {"msg", "me", "sender", "party", "other", "known_dip_ids", "mpan", "memory", "reason", "event"}
)


@dataclass(frozen=True)
class Rule:
    name: str
    interfaces: tuple[str, ...]
    event: str | None
    where: Mapping[str, Any]
    recall: str | None
    remember: tuple[Mapping[str, Any], ...]
    send: tuple[Mapping[str, Any], ...]
    source: str
    given: Mapping[str, Any] | None = None
    lookup: Mapping[str, str] | None = None
    forget: tuple[str, ...] = ()
    note: str | None = None
    fallback: bool = False  # an ``otherwise`` rule: the answer to a situation no rule covers
    proceed: bool = False  # ``continue: true``: after this rule, later rules are tried as well


def _catalogue() -> Any:
    from mhhs_sit.catalogue import load_catalogue

    return load_catalogue()


def load_rules(directory: Path = RULES_DIR, catalogue: Any = None) -> dict[str, list[Rule]]:
    """Rules by role code (``otherwise`` rules after the others); DefinitionError with file:line.

    Parsed once per process while the files are unchanged (every simulator start needs them)."""
    if catalogue is None:
        files = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(directory.glob("*.yaml")))
        return {role: list(rules) for role, rules in _load_unchanged(directory.resolve(), files).items()}
    return _load_rules(directory, catalogue)


@lru_cache(maxsize=8)
def _load_unchanged(directory: Path, files: tuple[tuple[str, int, int], ...]) -> dict[str, list[Rule]]:
    return _load_rules(directory, _catalogue())


def _load_rules(directory: Path, catalogue: Any) -> dict[str, list[Rule]]:
    rules: dict[str, list[Rule]] = {}
    fallbacks: dict[str, list[Rule]] = {}
    problems: list[Problem] = []
    for f in sorted(directory.glob("*.yaml")):
        doc = load_yaml(f)
        problems += doc.problems
        roles = _file_roles(doc, catalogue, problems)
        if roles is None:
            continue
        for section, target in (("rules", rules), ("otherwise", fallbacks)):
            raw_rules = doc.data.get(section) or []
            if not isinstance(raw_rules, list):
                problems.append(doc.problem([section], f"'{section}' must be a list of rules"))
                continue
            for i, raw in enumerate(raw_rules):
                rule = _build_rule(doc, [section, i], raw, roles, catalogue, problems, section == "otherwise")
                if rule is not None:
                    for role in roles:
                        target.setdefault(role, []).append(rule)
    if problems:
        raise DefinitionError(problems)
    for role, extra in fallbacks.items():
        rules.setdefault(role, []).extend(extra)
    return rules


def _file_roles(doc: YamlDoc, catalogue: Any, problems: list[Problem]) -> list[str] | None:
    data = doc.data
    if not isinstance(data, dict) or not (isinstance(data.get("role"), str) or isinstance(data.get("roles"), list)):
        problems.append(doc.problem([], "a rules file starts with 'role: <ROLE>' (or 'roles: [..]') and 'rules:'"))
        return None
    for key in sorted(set(data) - FILE_KEYS, key=str):
        problems.append(doc.problem([key], f"unknown key '{key}' (known: {', '.join(sorted(FILE_KEYS))})", key=True))
    roles = [data["role"]] if isinstance(data.get("role"), str) else list(data["roles"])
    path = ["role"] if "role" in data else ["roles"]
    for role in roles:
        if role not in catalogue.roles:
            known = ", ".join(sorted(catalogue.roles))
            problems.append(doc.problem(path, f"unknown role '{role}' (the catalogue's roles: {known})"))
    return roles


@dataclass(frozen=True)
class _RuleProblems:
    """Where one rule sits in its file, so each check reports a problem at its own key."""

    doc: YamlDoc
    path: list[Any]
    problems: list[Problem]

    def bad(self, sub: Sequence[Any], message: str, key: bool = False) -> None:
        self.problems.append(self.doc.problem([*self.path, *sub], message, key=key))


def _build_rule(
    doc: YamlDoc,
    path: list[Any],
    raw: Any,
    roles: Sequence[str],
    catalogue: Any,
    problems: list[Problem],
    fallback: bool,
) -> Rule | None:
    report = _RuleProblems(doc, path, problems)
    when = raw.get("when") if isinstance(raw, dict) else None
    on: dict[str, Any] = when if isinstance(when, dict) else {}
    wanted = on.get("interface")
    interfaces = [wanted] if isinstance(wanted, str) else wanted
    if not isinstance(interfaces, list) or not interfaces or not all(isinstance(i, str) for i in interfaces):
        report.bad([], "each rule needs 'when: {interface: IF-nnn}' (or a list of interfaces)")
        return None
    count = len(problems)
    for key in sorted(set(raw) - RULE_KEYS, key=str):
        report.bad([key], f"unknown rule key '{key}' (known: {', '.join(sorted(RULE_KEYS))})", key=True)
    _check_when(report, on, interfaces, roles, catalogue)
    lookup = _checked_lookup(report, raw.get("lookup"))
    remembers = _checked_remembers(report, raw.get("remember"))
    forget = raw.get("forget")
    forgets = [] if forget is None else [forget] if isinstance(forget, str) else forget
    send = raw.get("send") or []
    if not isinstance(send, list):
        report.bad(["send"], "'send' must be a list of messages")
        send = []
    for j, action in enumerate(send):
        _check_send(doc, [*path, "send", j], action, roles, catalogue, problems)
    _check_templates(report, raw, CONTEXT_NAMES | templating.BUILTIN_NAMES | set(lookup or {}))
    if len(problems) > count:
        return None
    line, _ = doc.position(path)
    return Rule(
        name=str(raw.get("name", f"{path[0]} {path[1] + 1}")),
        interfaces=tuple(i.upper() for i in interfaces),
        event=on.get("event"),
        where=on.get("where") or {},
        recall=raw.get("recall"),
        remember=tuple(remembers),
        send=tuple(send),
        source=f"{doc.file}:{line}",
        given=on.get("given"),
        lookup=lookup,
        forget=tuple(forgets),
        note=raw.get("note"),
        fallback=fallback,
        proceed=bool(raw.get("continue")),
    )


def _check_when(
    report: _RuleProblems, on: dict[str, Any], interfaces: list[str], roles: Sequence[str], catalogue: Any
) -> None:
    """'when': known keys, interfaces the roles receive, their event codes, and matcher operators."""
    for key in sorted(set(on) - WHEN_KEYS, key=str):
        report.bad(["when", key], f"unknown key '{key}' under 'when' (known: {', '.join(sorted(WHEN_KEYS))})", key=True)
    for interface in interfaces:
        _check_interface(report, on, interface, roles, catalogue)
    for key in ("where", "given"):
        expectations = on.get(key)
        if expectations is not None and not isinstance(expectations, dict):
            report.bad(["when", key], f"'{key}' must be a mapping of field path -> expectation")
        for path_text, expected in expectations.items() if isinstance(expectations, dict) else ():
            typo = _operator_typo(expected)
            if typo:
                report.bad(["when", key, path_text], f"unknown matcher operator '{typo}' "
                           f"(known: {', '.join(sorted(OPERATOR_NAMES))})", key=False)  # fmt: skip


def _check_interface(
    report: _RuleProblems, on: dict[str, Any], interface: str, roles: Sequence[str], catalogue: Any
) -> None:
    spec = _interface(catalogue, interface)
    if spec is None:
        report.bad(["when", "interface"], f"unknown interface '{interface}'")
        return
    for role in roles:
        if role not in spec.recipients:
            report.bad(["when", "interface"], f"role {role} never receives {spec.id} (recipients: "
                       f"{', '.join(sorted(spec.recipients))})")  # fmt: skip
    if on.get("event") and on["event"] not in spec.all_event_codes():
        report.bad(["when", "event"], f"{spec.id} has no event code '{on['event']}' "
                   f"(known: {', '.join(spec.all_event_codes())})")  # fmt: skip


def _checked_lookup(report: _RuleProblems, lookup: object) -> dict[str, str] | None:
    """'lookup' maps names to memory key templates; anything else is reported and dropped."""
    if lookup is None:
        return None
    if isinstance(lookup, dict) and all(isinstance(v, str) for v in lookup.values()):
        return lookup
    report.bad(["lookup"], "'lookup' must map a name to a memory key template, e.g. {reg: 'REG:{{ mpan.core }}'}")
    return None


def _checked_remembers(report: _RuleProblems, remember: object) -> list[Any]:
    """'remember' as a list of {key, value[, merge]} (a single mapping counts as one)."""
    remembers = [] if remember is None else [remember] if isinstance(remember, dict) else remember
    if not isinstance(remembers, list):
        report.bad(["remember"], "'remember' must be {key, value} or a list of them")
        return []
    for j, item in enumerate(remembers):
        sub: list[Any] = ["remember", j] if isinstance(remember, list) else ["remember"]
        if not isinstance(item, dict) or "key" not in item:
            report.bad(sub, "each 'remember' needs a 'key' (and a 'value')")
            continue
        for key in sorted(set(item) - REMEMBER_KEYS, key=str):
            report.bad([*sub, key], f"unknown key '{key}' under 'remember' (known: key, value, merge)", key=True)
    return remembers


def _check_templates(report: _RuleProblems, raw: dict[str, Any], names: Collection[str]) -> None:
    """Every '{{ ... }}' in the rule parses and starts from a name rules define."""
    for where, source in templating.expressions({k: v for k, v in raw.items() if k != "name"}):
        try:
            expr = templating.parse_expression(source)
        except ValueError as exc:
            report.bad(list(where), f"template error: {exc}")
            continue
        if expr.root not in names:
            report.bad(list(where), f"template '{{{{ {source} }}}}' names '{expr.root}', which rules do not define "
                       f"(defined: {', '.join(sorted(names))})")  # fmt: skip


def _check_send(
    doc: YamlDoc, path: list[Any], action: Any, roles: Sequence[str], catalogue: Any, problems: list[Problem]
) -> None:
    if not isinstance(action, dict) or not isinstance(action.get("interface"), str) or "event" not in action:
        problems.append(doc.problem(path, "each message to send needs 'interface' and 'event'"))
        return
    for key in sorted(set(action) - SEND_KEYS, key=str):
        problems.append(doc.problem([*path, key], f"unknown key '{key}' in a message to send (known: "
                                    f"{', '.join(sorted(SEND_KEYS))})", key=True))  # fmt: skip
    spec = _interface(catalogue, action["interface"])
    if spec is None:
        problems.append(doc.problem([*path, "interface"], f"unknown interface '{action['interface']}'"))
        return
    for role in roles:
        if role not in spec.senders:
            problems.append(doc.problem([*path, "interface"], f"role {role} may not send {spec.id} (senders: "
                                        f"{', '.join(sorted(spec.senders))})"))  # fmt: skip
    event = action["event"]
    if isinstance(event, str) and "{{" not in event and event not in spec.all_event_codes():
        problems.append(doc.problem([*path, "event"], f"{spec.id} has no event code '{event}' "
                                    f"(known: {', '.join(spec.all_event_codes())})"))  # fmt: skip


def _operator_typo(expected: Any) -> str | None:
    """A key like ``startwith`` in ``{startwith: X}``: meant as an operator, would compare as a literal."""
    if not isinstance(expected, dict) or not expected:
        return None
    keys = [k for k in expected if isinstance(k, str)]
    if len(keys) != len(expected) or not all(re.fullmatch(r"[a-z_]+", k) for k in keys):
        return None  # a literal block such as {responseCode: A} (DIP field names are camelCase)
    unknown = [k for k in keys if k not in OPERATOR_NAMES]
    return unknown[0] if unknown else None


def _interface(catalogue: Any, interface_id: str) -> Any:
    try:
        return catalogue.interface(interface_id)
    except KeyError:
        return None


def message_view(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``msg.S1.senderDIPID`` and ``msg.B071.x`` as well as ``msg.CommonBlock...`` in templates."""
    view: dict[str, Any] = dict(payload)
    view.update(payload.get("CommonBlock") or {})
    view.update(payload.get("CustomBlock") or {})
    return view


class ParticipantSimulators:
    def __init__(
        self, dip: SimulatedDip, rules: Mapping[str, list[Rule]] | None = None, memory_limit: int = MEMORY_LIMIT
    ):
        self.dip = dip
        self.rules = rules if rules is not None else load_rules()
        self.memory: dict[tuple[str, str], Any] = {}  # insertion order = age, for eviction
        self.memory_limit = memory_limit
        self.forgotten = 0  # keys evicted because the memory was full (journalled, never silent)
        self.refs = ReferenceSource("sim")
        dip.responder = self.handle

    def recall(self, dip_id: str, key: str) -> Any:
        """What the simulated participant ``dip_id`` remembers under ``key`` (None if nothing)."""
        return self.memory.get((dip_id, key))

    def _cohort_parties(self, me: SimParticipant) -> dict[str, Any]:
        return {
            p.role: {"dip_id": p.dip_id, "mpid": p.mpid, "role": p.role, "name": p.name}
            for p in self.dip.config.participants.values()
            if p.cohort == me.cohort
        }

    def _others(self, me: SimParticipant, sender_id: Any) -> dict[str, Any]:
        """Per role, the first configured participant that is neither me nor the sender."""
        out: dict[str, Any] = {}
        for p in sorted(self.dip.config.participants.values(), key=lambda p: p.dip_id):
            if p.dip_id not in (me.dip_id, sender_id):
                out.setdefault(p.role, {"dip_id": p.dip_id, "mpid": p.mpid, "role": p.role, "name": p.name})
        return out

    async def handle(self, me: SimParticipant, egress: dict[str, Any]) -> None:
        interface = str(field(egress, "S0", "interfaceID")).upper()
        event = templating_event(field(egress, "S0", "eventCode"))
        sender_id = field(egress, "S1", "senderDIPID")
        sender = self.dip.config.participants.get(sender_id)
        context: dict[str, Any] = {
            **templating.builtins(),
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
        }
        applied = False
        for rule in self.rules.get(me.role, []):
            if interface not in rule.interfaces or (rule.event and rule.event != event):
                continue
            if rule.fallback and applied:
                return
            try:
                if not self._apply(rule, me, egress, context):
                    continue
            except StepDefinitionError as exc:  # a template naming a field this message lacks
                self.dip.journal.add(
                    "event", interface, me.dip_id, note=f"SIMULATOR DEFECT in {rule.source} ({rule.name}): {exc}"
                )
                return
            applied = True
            if not rule.proceed:
                return
        if applied:
            return
        self.dip.journal.add(
            "event",
            interface,
            me.dip_id,
            note=f"UNANSWERED: {context['reason']} and {interface} has no response {me.role} sends; nothing sent",
        )

    def _apply(self, rule: Rule, me: SimParticipant, egress: dict[str, Any], context: dict[str, Any]) -> bool:
        """Run ``rule`` if it matches; False when it does not (the next rule is tried)."""
        if rule.where and mismatches(egress, templating.render(dict(rule.where), context), blocks=True):
            return False
        ctx = dict(context)
        for name, key in (rule.lookup or {}).items():
            ctx[name] = self.memory.get((me.dip_id, str(templating.render(key, ctx))))
        if rule.recall is not None:
            key = str(templating.render(rule.recall, ctx))
            if (me.dip_id, key) not in self.memory:
                return False
            ctx["memory"] = self.memory[(me.dip_id, key)]
        if rule.given and mismatches(ctx, templating.render(dict(rule.given), ctx)):
            return False
        # Render everything before changing state, so a template error leaves the memory as it was.
        stores = [
            (str(templating.render(r["key"], ctx)), templating.render(r.get("value"), ctx), bool(r.get("merge")))
            for r in rule.remember
        ]
        drops = [str(templating.render(k, ctx)) for k in rule.forget]
        actions = [templating.render(dict(a), ctx) for a in rule.send]
        note = templating.render(rule.note, ctx) if rule.note else None
        for key in drops:
            self.memory.pop((me.dip_id, key), None)
        for key, value, merge in stores:
            old = self.memory.get((me.dip_id, key))
            if merge and isinstance(old, dict) and isinstance(value, dict):
                value = {**old, **value}
            self.memory.pop((me.dip_id, key), None)  # re-insert: the newest state is the youngest
            self.memory[(me.dip_id, key)] = value
        self._bound_memory(me)
        if note or rule.fallback:
            prefix = f"REJECTED ({context['reason']}): " if rule.fallback else ""
            self.dip.journal.add(
                "event",
                str(field(egress, "S0", "interfaceID")),
                me.dip_id,
                mpan=field(egress, "M0", "MPANCore"),
                note=f"{prefix}{me.role} {rule.name} [{rule.source}]" + (f": {note}" if note else ""),
            )
        for action in actions:
            self._send(me, egress, action, rule)
        return True

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
            extra_common=action.get("common"),
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
