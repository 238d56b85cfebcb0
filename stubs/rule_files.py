"""The participant simulators' rule files (``rules/*.yaml``): read, checked and turned into Rules.

Every problem is reported with its file, line and key, all of them at once, before the simulator
starts; docs/simulator.md describes the rule language.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, cast

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, load_yaml
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.matchers import OPERATOR_NAMES
from mhhs_sit.errors import DefinitionError, Problem

if TYPE_CHECKING:
    from mhhs_sit.catalogue import Catalogue, Interface

RULES_DIR = Path(__file__).parent / "rules"

FILE_KEYS = frozenset({"role", "roles", "rules", "otherwise"})
RULE_KEYS = frozenset(
    {"name", "when", "lookup", "recall", "remember", "forget", "send", "schedule", "note", "continue"}
)
WHEN_KEYS = frozenset({"interface", "trigger", "event", "where", "given"})
TRIGGER_WHEN_KEYS = frozenset({"trigger", "where", "given"})  # 'when' of a rule for an off-DIP event
TRIGGER_PREFIX = "@"  # a rule's interface for an off-DIP event: "@CSSRegistration"
TRIGGER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
SEND_KEYS = frozenset({"interface", "event", "to", "custom", "common", "mpan", "distributor_dip_id", "gsp_group"})
REMEMBER_KEYS = frozenset({"key", "value", "merge"})
# A timer a rule sets: the trigger that reaches ``for`` (default: the rule's party) ``at`` an instant
# or ``after`` a span on the simulation clock, with ``data`` as its msg (mhhs_stubs.scheduler).
SCHEDULE_KEYS = frozenset({"trigger", "at", "after", "key", "for", "data", "mpan"})
# Names every rule template may use besides the templating built-ins and its own lookups.
CONTEXT_NAMES = frozenset(
    {"msg", "me", "sender", "party", "other", "known_dip_ids", "mpan", "memory", "reason", "event", "settlement"}
)
SECTIONS = (("rules", False), ("otherwise", True))  # and whether its rules are fallbacks


@dataclass(frozen=True)
class Rule:
    name: str
    interfaces: tuple[str, ...]
    event: str | None
    where: Mapping[str, object]
    recall: str | None
    remember: tuple[Mapping[str, object], ...]
    send: tuple[Mapping[str, object], ...]
    source: str
    given: Mapping[str, object] | None = None
    lookup: Mapping[str, str] | None = None
    forget: tuple[str, ...] = ()
    note: str | None = None
    fallback: bool = False  # an ``otherwise`` rule: the answer to a situation no rule covers
    proceed: bool = False  # ``continue: true``: after this rule, later rules are tried as well
    schedule: tuple[Mapping[str, object], ...] = ()  # timers it sets (checked: SCHEDULE_KEYS)


def _catalogue() -> Catalogue:
    from mhhs_sit.catalogue import load_catalogue

    return load_catalogue()


def load_rules(directory: Path = RULES_DIR, catalogue: Catalogue | None = None) -> dict[str, list[Rule]]:
    """Rules by role code (``otherwise`` rules after the others); DefinitionError with file:line.

    Parsed once per process while the files are unchanged (every simulator start needs them)."""
    if catalogue is None:
        files = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(directory.glob("*.yaml")))
        return {role: list(rules) for role, rules in _load_unchanged(directory.resolve(), files).items()}
    return _load_rules(directory, catalogue)


@lru_cache(maxsize=8)
def _load_unchanged(directory: Path, files: tuple[tuple[str, int, int], ...]) -> dict[str, list[Rule]]:
    return _load_rules(directory, _catalogue())


def _load_rules(directory: Path, catalogue: Catalogue) -> dict[str, list[Rule]]:
    rules: dict[str, list[Rule]] = {}
    fallbacks: dict[str, list[Rule]] = {}
    problems: list[Problem] = []
    for f in sorted(directory.glob("*.yaml")):
        doc = load_yaml(f)
        problems += doc.problems
        roles = _file_roles(doc, catalogue, problems)
        if roles is None:
            continue
        for rule in _file_rules(doc, roles, catalogue, problems):
            for role in roles:
                (fallbacks if rule.fallback else rules).setdefault(role, []).append(rule)
    if problems:
        raise DefinitionError(problems)
    for role, extra in fallbacks.items():
        rules.setdefault(role, []).extend(extra)
    return rules


def _file_rules(doc: YamlDoc, roles: Sequence[str], catalogue: Catalogue, problems: list[Problem]) -> Iterator[Rule]:
    """The sound rules of each section of a file; the others as problems."""
    for section, fallback in SECTIONS:
        raw_rules = doc.data.get(section) or []
        if not isinstance(raw_rules, list):
            problems.append(doc.problem([section], f"'{section}' must be a list of rules"))
            continue
        for i, raw in enumerate(raw_rules):
            rule = _build_rule(_RuleProblems(doc, [section, i], problems), raw, roles, catalogue, fallback)
            if rule is not None:
                yield rule


def _file_roles(doc: YamlDoc, catalogue: Catalogue, problems: list[Problem]) -> list[str] | None:
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
    path: list[PathPart]
    problems: list[Problem]

    def bad(self, sub: Sequence[PathPart], message: str, key: bool = False) -> None:
        self.problems.append(self.doc.problem([*self.path, *sub], message, key=key))


def _build_rule(
    report: _RuleProblems, raw: object, roles: Sequence[str], catalogue: Catalogue, fallback: bool
) -> Rule | None:
    rule: Mapping[str, object] = raw if isinstance(raw, dict) else {}
    when = rule.get("when")
    on: Mapping[str, object] = when if isinstance(when, dict) else {}
    count = len(report.problems)
    interfaces = _trigger_when(report, on) if "trigger" in on else _message_when(report, on, roles, catalogue)
    if interfaces is None:
        return None
    for key in sorted(set(rule) - RULE_KEYS, key=str):
        report.bad([key], f"unknown rule key '{key}' (known: {', '.join(sorted(RULE_KEYS))})", key=True)
    lookup = _checked_lookup(report, rule.get("lookup"))
    remembers = _checked_remembers(report, rule.get("remember"))
    sends = _checked_sends(report, rule.get("send"), roles, catalogue)
    timers = _checked_timers(report, rule.get("schedule"))
    _check_templates(report, rule, CONTEXT_NAMES | templating.BUILTIN_NAMES | set(lookup or {}))
    if len(report.problems) > count:
        return None
    built = _rule(report, rule, on, interfaces, lookup=lookup, remembers=remembers, sends=sends, fallback=fallback)
    return dataclasses.replace(built, schedule=tuple(timers)) if timers else built


def _message_when(
    report: _RuleProblems, on: Mapping[str, object], roles: Sequence[str], catalogue: Catalogue
) -> list[str] | None:
    """The interfaces a message rule answers (None, and a problem, when it names none)."""
    interfaces = _interfaces_named(on.get("interface"))
    if interfaces is None:
        report.bad([], "each rule needs 'when: {interface: IF-nnn}' (or a list of interfaces, or 'trigger: NAME')")
        return None
    _check_when(report, on, interfaces, roles, catalogue)
    return interfaces


def _trigger_when(report: _RuleProblems, on: Mapping[str, object]) -> list[str]:
    """A rule for an off-DIP event (``when: {trigger: CSSRegistration}``): what the party learns
    outside the DIP (a CSS registration, a legacy system's data, a scheduled run), started by a
    test through the control API; ``msg`` is the event's data, ``mpan`` its MPAN. Its "interface"
    is the trigger's name after ``TRIGGER_PREFIX``."""
    name = on.get("trigger")
    if not isinstance(name, str) or not TRIGGER_NAME.match(name):
        report.bad(["when", "trigger"], "a trigger is a name such as CSSRegistration (letters, digits, - and _)")
    for key in sorted(set(on) - TRIGGER_WHEN_KEYS, key=str):
        known = ", ".join(sorted(TRIGGER_WHEN_KEYS))
        report.bad(["when", key], f"'{key}' is not for a trigger rule (known: {known})", key=True)
    for key in ("where", "given"):
        _check_expectations(report, key, on.get(key))
    return [f"{TRIGGER_PREFIX}{name}"]


def _rule(
    report: _RuleProblems,
    rule: Mapping[str, object],
    on: Mapping[str, object],
    interfaces: list[str],
    *,
    lookup: dict[str, str] | None,
    remembers: list[Mapping[str, object]],
    sends: list[Mapping[str, object]],
    fallback: bool,
) -> Rule:
    """A checked rule as the simulator runs it."""
    line, _ = report.doc.position(report.path)
    section, index = report.path
    return Rule(
        name=str(rule.get("name", f"{section} {int(index) + 1}")),
        interfaces=tuple(i.upper() for i in interfaces),
        event=_text(on.get("event")),
        where=_mapping(on.get("where")) or {},
        recall=_recall_key(rule.get("recall")),
        remember=tuple(remembers),
        send=tuple(sends),
        source=f"{report.doc.file}:{line}",
        given=_mapping(on.get("given")),
        lookup=lookup,
        forget=_forgets(rule.get("forget")),
        note=_text(rule.get("note")),
        fallback=fallback,
        proceed=bool(rule.get("continue")),
    )


def _text(value: object) -> str | None:
    """A YAML scalar the rule uses as text (``event``, ``note``); None when it is empty."""
    if not value:
        return None
    return value if isinstance(value, str) else str(value)


def _recall_key(value: object) -> str | None:
    """The memory key template a rule needs remembered; any scalar but null names one."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _forgets(value: object) -> tuple[str, ...]:
    """'forget': one key template or a list of them (each rendered when the rule runs)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(cast("Iterable[str]", value))


def _mapping(value: object) -> Mapping[str, object] | None:
    return value if isinstance(value, dict) else None


def _interfaces_named(wanted: object) -> list[str] | None:
    interfaces = [wanted] if isinstance(wanted, str) else wanted
    if not isinstance(interfaces, list) or not interfaces or not all(isinstance(i, str) for i in interfaces):
        return None
    return interfaces


def _check_when(
    report: _RuleProblems, on: Mapping[str, object], interfaces: list[str], roles: Sequence[str], catalogue: Catalogue
) -> None:
    """'when': known keys, interfaces the roles receive, their event codes, and matcher operators."""
    for key in sorted(set(on) - WHEN_KEYS, key=str):
        report.bad(["when", key], f"unknown key '{key}' under 'when' (known: {', '.join(sorted(WHEN_KEYS))})", key=True)
    for interface in interfaces:
        _check_interface(report, on, interface, roles, catalogue)
    for key in ("where", "given"):
        _check_expectations(report, key, on.get(key))


def _check_expectations(report: _RuleProblems, key: str, expectations: object) -> None:
    """'where'/'given' map field paths to expectations; an operator-like key must be an operator."""
    if expectations is None:
        return
    if not isinstance(expectations, dict):
        report.bad(["when", key], f"'{key}' must be a mapping of field path -> expectation")
        return
    for path_text, expected in expectations.items():
        typo = _operator_typo(expected)
        if typo:
            report.bad(["when", key, path_text], f"unknown matcher operator '{typo}' "
                       f"(known: {', '.join(sorted(OPERATOR_NAMES))})", key=False)  # fmt: skip


def _check_interface(
    report: _RuleProblems, on: Mapping[str, object], interface: str, roles: Sequence[str], catalogue: Catalogue
) -> None:
    spec = _interface(catalogue, interface)
    if spec is None:
        report.bad(["when", "interface"], f"unknown interface '{interface}'")
        return
    for role in roles:
        if role not in spec.recipients:
            report.bad(["when", "interface"], f"role {role} never receives {spec.id} (recipients: "
                       f"{', '.join(sorted(spec.recipients))})")  # fmt: skip
    event = on.get("event")
    if event and event not in spec.all_event_codes():
        report.bad(["when", "event"], f"{spec.id} has no event code '{event}' "
                   f"(known: {', '.join(spec.all_event_codes())})")  # fmt: skip


def _checked_lookup(report: _RuleProblems, lookup: object) -> dict[str, str] | None:
    """'lookup' maps names to memory key templates; anything else is reported and dropped."""
    if lookup is None:
        return None
    if isinstance(lookup, dict) and all(isinstance(v, str) for v in lookup.values()):
        return lookup
    report.bad(["lookup"], "'lookup' must map a name to a memory key template, e.g. {reg: 'REG:{{ mpan.core }}'}")
    return None


def _checked_remembers(report: _RuleProblems, remember: object) -> list[Mapping[str, object]]:
    """'remember' as a list of {key, value[, merge]} (a single mapping counts as one)."""
    remembers = [] if remember is None else [remember] if isinstance(remember, dict) else remember
    if not isinstance(remembers, list):
        report.bad(["remember"], "'remember' must be {key, value} or a list of them")
        return []
    for j, item in enumerate(remembers):
        sub: list[PathPart] = ["remember", j] if isinstance(remember, list) else ["remember"]
        if not isinstance(item, dict) or "key" not in item:
            report.bad(sub, "each 'remember' needs a 'key' (and a 'value')")
            continue
        for key in sorted(set(item) - REMEMBER_KEYS, key=str):
            report.bad([*sub, key], f"unknown key '{key}' under 'remember' (known: key, value, merge)", key=True)
    return remembers


def _checked_timers(report: _RuleProblems, schedule: object) -> list[Mapping[str, object]]:
    """'schedule' as a list of timers (a single mapping counts as one), each checked as far as it is
    literal: a trigger name, exactly one of 'at' (an instant) and 'after' (a duration)."""
    timers = [] if schedule is None else [schedule] if isinstance(schedule, dict) else schedule
    if not isinstance(timers, list):
        report.bad(["schedule"], "'schedule' must be {trigger, after|at[, key, for, data, mpan]} or a list of them")
        return []
    for j, timer in enumerate(timers):
        sub: list[PathPart] = ["schedule", j] if isinstance(schedule, list) else ["schedule"]
        if not isinstance(timer, dict):
            report.bad(sub, "each timer is a mapping {trigger: NAME, after: 5d} (or 'at: <instant>')")
            continue
        _check_timer(report, sub, timer)
    return timers


def _check_timer(report: _RuleProblems, at: list[PathPart], timer: Mapping[str, object]) -> None:
    for key in sorted(set(timer) - SCHEDULE_KEYS, key=str):
        report.bad([*at, key], f"unknown key '{key}' in a timer (known: {', '.join(sorted(SCHEDULE_KEYS))})", key=True)
    name = timer.get("trigger")
    if not isinstance(name, str) or not TRIGGER_NAME.match(name):
        report.bad([*at, "trigger"], "a timer names the trigger it fires, e.g. trigger: AppointmentLapse")
    when = [k for k in ("at", "after") if k in timer]
    if len(when) != 1:
        report.bad(
            at,
            f"a timer needs exactly one of 'at' (an instant) or 'after' (e.g. 5d); given: {', '.join(when) or 'none'}",
        )
        return
    value = timer[when[0]]
    if when[0] == "after" and not (isinstance(value, str) and "{{" in value):
        try:
            parse_duration(value)
        except ValueError as exc:
            report.bad([*at, "after"], f"{exc} (on the simulation clock)")
    if "data" in timer and not isinstance(timer["data"], dict | str):
        report.bad([*at, "data"], "a timer's 'data' is a mapping (its trigger rules read it as msg)")


def _check_templates(report: _RuleProblems, rule: Mapping[str, object], names: Collection[str]) -> None:
    """Every '{{ ... }}' in the rule parses and starts from a name rules define."""
    for where, source in templating.expressions({k: v for k, v in rule.items() if k != "name"}):
        try:
            expr = templating.parse_expression(source)
        except ValueError as exc:
            report.bad(list(where), f"template error: {exc}")
            continue
        if expr.root not in names:
            report.bad(list(where), f"template '{{{{ {source} }}}}' names '{expr.root}', which rules do not define "
                       f"(defined: {', '.join(sorted(names))})")  # fmt: skip


def _checked_sends(
    report: _RuleProblems, send: object, roles: Sequence[str], catalogue: Catalogue
) -> list[Mapping[str, object]]:
    if not send:
        return []
    if not isinstance(send, list):
        report.bad(["send"], "'send' must be a list of messages")
        return []
    for j, action in enumerate(send):
        _check_send(report, ["send", j], action, roles, catalogue)
    return send


def _check_send(
    report: _RuleProblems, at: list[PathPart], action: object, roles: Sequence[str], catalogue: Catalogue
) -> None:
    if not isinstance(action, dict) or not isinstance(action.get("interface"), str) or "event" not in action:
        report.bad(at, "each message to send needs 'interface' and 'event'")
        return
    for key in sorted(set(action) - SEND_KEYS, key=str):
        report.bad([*at, key], f"unknown key '{key}' in a message to send (known: "
                   f"{', '.join(sorted(SEND_KEYS))})", key=True)  # fmt: skip
    spec = _interface(catalogue, action["interface"])
    if spec is None:
        report.bad([*at, "interface"], f"unknown interface '{action['interface']}'")
        return
    for role in roles:
        if role not in spec.senders:
            report.bad([*at, "interface"], f"role {role} may not send {spec.id} (senders: "
                       f"{', '.join(sorted(spec.senders))})")  # fmt: skip
    _check_sent_event(report, at, action["event"], spec)


def _check_sent_event(report: _RuleProblems, at: list[PathPart], event: object, spec: Interface) -> None:
    """A literal event code must be one of the interface's (a template is known only when it runs)."""
    if isinstance(event, str) and "{{" not in event and event not in spec.all_event_codes():
        report.bad([*at, "event"], f"{spec.id} has no event code '{event}' "
                   f"(known: {', '.join(spec.all_event_codes())})")  # fmt: skip


def _operator_typo(expected: object) -> str | None:
    """A key like ``startwith`` in ``{startwith: X}``: meant as an operator, would compare as a literal."""
    if not isinstance(expected, dict) or not expected:
        return None
    if not all(isinstance(k, str) and re.fullmatch(r"[a-z_]+", k) for k in expected):
        return None  # a literal block such as {responseCode: A} (DIP field names are camelCase)
    return next((k for k in expected if k not in OPERATOR_NAMES), None)


def _interface(catalogue: Catalogue, interface_id: str) -> Interface | None:
    try:
        return catalogue.interface(interface_id)
    except KeyError:
        return None
