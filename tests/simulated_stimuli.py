"""What drives each simulator rule, derived from the rule itself (for tests/test_simulated_pairs.py).

A rule answers an incoming message (``when: {interface, event}``) or an off-DIP trigger (``when:
{trigger}``), so its stimulus is built from the rule:

* a message of its interface and event (every event of the interface when the rule names none;
  none whose blocks the rule's ``where`` names but the event lacks), valid by the catalogue's
  schema (the scaffold of ``mhhs-sit new step``: the required blocks and fields, each a value its
  schema accepts, free text unique per stimulus), with what ``where`` asks written in (a literal, a
  party's DIP ID, the first of ``in``, a ``startswith`` prefix, another enum value for ``ne``; an
  optional block it names added, ``exists: false`` taken out), sent by the role the rule asks for,
  else the one the message's own fields name (an IF-034's proposed service), else the usual one;
* or a trigger whose data carries the blocks the rule's messages copy from it (``custom: {B041:
  "{{ msg.B041 }}"}``, ``custom: "{{ msg.blocks }}"`` with ``event`` one of the sent interface's
  events), the fields its ``where`` names and the few plain values (a settlement date, a GSP
  group) the role's rules of that trigger read.

What the rule's ``given`` needs of the simulator's memory decides the rest: an MPAN the register
does not hold (``mpan.known: false``), a fresh one (something remembered per MPAN must be absent),
and, for what must be present, the stimuli of the rules of the same role that remember it, run
first on the same MPAN (by another party of the sender's role where the rule wants a sender other
than the one remembered, and, as a second variant, by the same one: what is remembered may be the
party the sender replaced). The earlier rules that would take the stimulus are passed the same way:
an optional block they want absent is added, a remembered field they want absent is made present
(unless the stimuli before have). Nothing here knows a rule by name: a new rule is driven the same way.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mhhs_sit.catalogue import Catalogue
from mhhs_sit.definitions.matchers import mismatches
from mhhs_sit.definitions.scaffold import _mapping, _properties, _required, _tree, value_for
from mhhs_sit.dip.envelope import BUILT_BLOCKS
from mhhs_stubs.rule_files import TRIGGER_PREFIX, Rule

VERSION = "2.1.0"
COMMON_BLOCKS = frozenset({"S0", "S1", "A0", "M0", "M1", "D0", "R0", "R1"})
BLOCK = re.compile(r"^(?:[A-Z]\d{3}[A-Za-z]*|P\d\d|R\d{3})$")  # B041, B090List, P03, R002
MSG_NAME = re.compile(r"msg\.([A-Za-z_][A-Za-z0-9_]*)")
OTHER_SENDER = "{{ sender.dip_id }}"
PREFERRED_SENDERS = ("SUP", "REGS", "LDSO", "SDS", "MSS")  # of several that may send, the usual one
DEPTH = 4  # prerequisites of prerequisites, at most
# Trigger data that is no block of a DIP message: a value each such name takes (the names the
# settlement rules read, and ``volumes``, the day's consumption per MPAN as mhhs_stubs.settlement
# reads it; any other date-like name takes the settlement day).
PLAIN_VALUES: Mapping[str, object] = {"gsp_group": "_A", "run_number": 1, "settlement_code": "SF"}
FOREIGN_MPAN = "1000000000030"  # a valid core the data pool never issues (mhhs_stubs.registry: the test site)
_UNIQUE = itertools.count(1)


@dataclass
class Stimulus:
    """One message (``interface`` set) or trigger (``trigger`` set) that drives ``rule``."""

    rule: Rule
    role: str  # the simulated role that receives it
    event: str
    interface: str | None = None
    sender_role: str | None = None
    trigger: str | None = None
    custom: dict[str, Any] | None = None
    common: dict[str, Any] = field(default_factory=dict)
    carries_custom: bool = True
    has_m0: bool = True
    data: dict[str, Any] = field(default_factory=dict)
    mpan: str = "shared"  # "shared" (the role's MPAN), "fresh" (one nothing has touched) or "unregistered"
    party: int = 1  # which party of the sender's role sends it (2: another one than before)
    before: list[Stimulus] = field(default_factory=list)  # run first, on the same MPAN
    custom_schema: Mapping[str, object] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class _Driver:
    catalogue: Catalogue
    rules: Mapping[str, list[Rule]]
    day: dt.date

    def of_rule(self, rule: Rule, role: str, depth: int = 0) -> Iterator[Stimulus]:
        for interface in rule.interfaces:
            if interface.startswith(TRIGGER_PREFIX):
                names = _msg_names(r for r in self.rules[role] if interface in r.interfaces)
                made = self._triggers(rule, role, interface[1:], names)
            else:
                made = self._messages(rule, role, interface)
            for stimulus in made:
                stimulus.mpan = _mpan_kind(rule)
                if depth >= DEPTH:
                    yield stimulus
                    continue
                # a remembered party that must differ from the sender is tried as another party, and
                # (at the top) as the same one: what is remembered may be whom that party replaced
                for flip in (False, True) if depth == 0 and _other_senders(rule) else (False,):
                    variant = copy.deepcopy(stimulus) if flip else stimulus
                    variant.before = self._prerequisites(rule, role, depth, flip)
                    if depth == 0:
                        variant.before += self._unblock(variant, depth, _provided(variant.before))
                    if depth == 0 and variant.before and variant.mpan == "shared":
                        variant.mpan = "fresh"  # the chain builds what its rule needs, and nothing else
                    yield variant

    def _messages(self, rule: Rule, role: str, interface: str) -> Iterator[Stimulus]:
        iface = self.catalogue.interface(interface)
        senders = sorted(s for s in iface.senders if s not in ("DIP", role))
        for event in [rule.event] if rule.event else iface.event_codes(VERSION):
            if event not in iface.event_codes(VERSION) or not senders:
                continue
            props = _properties(self.catalogue.schema(interface, event, version=VERSION))
            custom_schema = props.get("CustomBlock", {})
            if any(_parts(p)[0] not in COMMON_BLOCKS | set(_properties(custom_schema)) for p in rule.where or {}):
                continue  # the rule's where names a block this event does not have
            common = _mapping(props.get("CommonBlock"))
            sender = _sender(rule, senders, custom_schema)
            stimulus = Stimulus(
                rule, role, event, interface=interface, sender_role=sender,
                custom=_unique(_tree(custom_schema, sender)) if "CustomBlock" in props else None,
                custom_schema=custom_schema,
                common=_unique({n: _tree(_properties(common).get(n, {}), sender) for n in _required(common)
                                if n not in BUILT_BLOCKS}),
                carries_custom="CustomBlock" in props, has_m0="M0" in _properties(common),
            )  # fmt: skip
            _write_where(stimulus, rule.where or {}, custom_schema, common)
            yield stimulus

    def _triggers(self, rule: Rule, role: str, name: str, names: set[str]) -> Iterator[Stimulus]:
        """One trigger per event the rule's templated ``event`` can take (one when it names its events)."""
        variants: list[tuple[str, dict[str, Any]]] = [("", {})]
        for send in rule.send:
            iface = self.catalogue.interface(str(send["interface"]))
            event = str(send.get("event", ""))
            events = iface.event_codes(VERSION) if "msg.event" in event else [event] if "{{" not in event else [""]
            named = "msg.event" in event
            variants = [
                (ev, {**data, **self._blocks_for(iface.id, ev, send, role), **({"event": ev} if named else {})})
                for _, data in variants
                for ev in events
            ]
        for event, data in variants:
            for path, wanted in (rule.where or {}).items():  # a block the where names, the sends copy none of
                block = str(_parts(path)[0])
                if BLOCK.match(block) and block not in data and not _wants_absent(wanted):
                    data[block] = self._any_block(block, role)
            stimulus = Stimulus(rule, role, event, trigger=name, data=_unique(data))
            _plain_values(stimulus, rule, self.day, names)
            yield stimulus

    def _any_block(self, name: str, role: str) -> object:
        """The block ``name`` as the first event of the catalogue that has it defines it."""
        for iface in self.catalogue.interfaces:
            for event in iface.event_codes(VERSION):
                custom = _properties(self.catalogue.schema(iface.id, event, version=VERSION)).get("CustomBlock", {})
                if name in _properties(custom):
                    return _block(_properties(custom)[name], role)
        return {}

    def _blocks_for(self, interface: str, event: str, send: Mapping[str, object], role: str) -> dict[str, Any]:
        """The blocks a send copies from its trigger's data, scaffolded from the sent event's schema."""
        if not event or event not in self.catalogue.interface(interface).event_codes(VERSION):
            return {}
        custom = _properties(self.catalogue.schema(interface, event, version=VERSION)).get("CustomBlock", {})
        blocks = {name: _block(node, role) for name, node in _properties(custom).items()}
        template = send.get("custom")
        if isinstance(template, str) and "msg.blocks" in template:
            return {"blocks": blocks}
        if isinstance(template, Mapping):
            return {n: blocks[n] for n, v in template.items() if n in blocks and f"msg.{n}" in str(v)}
        return {}

    def _prerequisites(self, rule: Rule, role: str, depth: int, flip: bool = False) -> list[Stimulus]:
        """The stimuli that make what ``given``/``recall`` need present: the looked-up names first,
        the recalled memory (the pending request the rule answers) last."""
        out: list[Stimulus] = []
        for name, key, wanted in _needed(rule):
            maker = self._rememberer(rule, role, key, wanted)
            if maker is None:
                continue
            made = next(self.of_rule(maker, role, depth + 1), None)
            if made is None:
                continue
            for path, value in wanted.items():  # what the rule wants of the remembered message, written in
                if made.custom is None or not path or not BLOCK.match(path[0]):
                    continue
                if isinstance(value, Mapping):
                    value = _satisfying(value, _enum(made.custom_schema, list(path)))
                if value is not None and "{{" not in str(value):
                    _set(made.custom, list(path), value)
            made.mpan = "same"
            made.party = 2 if _wants_other_sender(rule, name) and not flip else 1
            made.before += self._unblock(made, depth + 1, _provided(out))
            out.append(made)
        return out

    def _unblock(self, stimulus: Stimulus, depth: int, provided: set[tuple[str, str]] | None = None) -> list[Stimulus]:
        """Stimuli that get the message past the earlier rules that would take it because something
        remembered per MPAN is absent (a SEG data service before its metering service): what they
        lack is made present first, unless the stimulus's own rule wants it absent too, or the
        stimuli before it have made it present already (``provided``: key prefix and field)."""
        if depth >= DEPTH:
            return []
        common = {"S0": {"eventCode": f"[{stimulus.event}]"}, "S1": {"senderRoleID": stimulus.sender_role}}
        payload: dict[str, Any] = {"CommonBlock": {**common, **stimulus.common}, "CustomBlock": stimulus.custom or {}}
        if stimulus.trigger is not None:
            payload = {**stimulus.data, "CommonBlock": {}, "CustomBlock": stimulus.data}
        interface = stimulus.interface or f"{TRIGGER_PREFIX}{stimulus.trigger}".upper()
        own_absent = set(_absent_keys(stimulus.rule))
        out: list[Stimulus] = []
        for earlier in self._earlier(stimulus, interface, payload):
            if self._add_blocks(stimulus, earlier):
                continue  # a block it wants absent is there now: it no longer takes the message
            for key in sorted(set(_absent_keys(earlier)) - own_absent):
                prefix, fields = key.split("{{")[0], {p[0] for p in _fields_of(earlier, key) if p} or {"*"}
                if all((prefix, f) in (provided or set()) or (prefix, "*") in (provided or set()) for f in fields):
                    continue
                maker = self._rememberer(earlier, stimulus.role, key, _fields_of(earlier, key))
                made = next(self.of_rule(maker, stimulus.role, depth + 1), None) if maker is not None else None
                if made is not None:
                    made.mpan = "same"
                    out.append(made)
        return out

    def _rememberer(self, rule: Rule, role: str, key: str, wanted: Mapping[tuple[str, ...], object]) -> Rule | None:
        """The first rule of ``role`` that remembers ``key`` (preferring one whose value names the fields wanted)."""
        prefix = key.split("{{")[0]
        candidates = [
            r for r in self.rules[role]
            if r is not rule and not r.fallback and any(str(m.get("key", "")).startswith(prefix) for m in r.remember)
        ]  # fmt: skip
        fields = {p[0] for p in wanted if p}
        for r in candidates:
            if fields and all(f in repr(r.remember) for f in fields):
                return r
        return candidates[0] if candidates else None

    def _earlier(self, stimulus: Stimulus, interface: str, payload: Mapping[str, object]) -> Iterator[Rule]:
        """The rules before the stimulus's own that would take it (a rule that continues takes nothing
        from the later ones; a ``where`` with a template is left out: it needs the running message)."""
        for earlier in self.rules[stimulus.role]:
            if earlier is stimulus.rule:
                return
            if earlier.fallback or earlier.proceed or interface not in earlier.interfaces:
                continue
            if (stimulus.interface and earlier.event not in (None, stimulus.event)) or "{{" in repr(earlier.where):
                continue
            if not (earlier.where and mismatches(payload, earlier.where, blocks=True)):
                yield earlier

    @staticmethod
    def _add_blocks(stimulus: Stimulus, earlier: Rule) -> bool:
        """Add the optional blocks an earlier rule wants absent (``B013: {exists: false}``); any added?"""
        added = False
        blocks = _properties(stimulus.custom_schema)
        for path, wanted in (earlier.where or {}).items():
            name = str(_parts(path)[0])
            if _wants_absent(wanted) and name in blocks and stimulus.custom is not None and name not in stimulus.custom:
                stimulus.custom[name] = _unique(_block(blocks[name], stimulus.sender_role or ""))
                added = True
        return added


def stimuli(catalogue: Catalogue, rules: Mapping[str, list[Rule]], day: dt.date) -> Iterator[Stimulus]:
    """A stimulus per rule that sends, schedules or remembers (per event, for a rule of several), in rule order."""
    driver = _Driver(catalogue, rules, day)
    for role, role_rules in sorted(rules.items()):
        for rule in role_rules:
            if rule.send or rule.schedule or rule.remember:
                yield from driver.of_rule(rule, role)


def _needed(rule: Rule) -> Iterator[tuple[str, str, dict[tuple[str, ...], object]]]:
    """(name, memory key, {field path: what given wants}) for each remembered thing that must be present."""
    given = dict(rule.given or {})
    keys = dict(rule.lookup or {})
    names = list(keys)
    if rule.recall is not None:
        keys["memory"] = rule.recall
        names.append("memory")
    for name in names:
        wanted = {tuple(k.split(".")[1:]): v for k, v in given.items() if k.split(".")[0] == name}
        present = name == "memory" or any(_present(v) for v in wanted.values())
        if present and "mpan.core" in keys[name]:
            yield name, keys[name], wanted


def _provided(stimuli: Iterable[Stimulus]) -> set[tuple[str, str]]:
    """(memory key prefix, field) the stimuli's rules (and those before them) remember; field ``*``
    for a value that is no mapping."""
    out: set[tuple[str, str]] = set()
    for stimulus in stimuli:
        for item in stimulus.rule.remember:
            prefix, value = str(item.get("key", "")).split("{{")[0], item.get("value")
            out |= {(prefix, str(f)) for f in value} if isinstance(value, Mapping) else {(prefix, "*")}
        out |= _provided(stimulus.before)
    return out


def _other_senders(rule: Rule) -> bool:
    return any(_wants_other_sender(rule, name) for name in (rule.lookup or {}))


def _fields_of(rule: Rule, key: str) -> dict[tuple[str, ...], object]:
    """What the rule's ``given`` names of the memory under ``key`` (``reg.ds_dip_id`` -> ``ds_dip_id``)."""
    names = {name for name, k in (rule.lookup or {}).items() if k == key}
    return {tuple(p.split(".")[1:]): v for p, v in (rule.given or {}).items() if p.split(".")[0] in names}


def _absent_keys(rule: Rule) -> Iterator[str]:
    """The per-MPAN memory keys the rule's ``given`` wants absent."""
    keys = dict(rule.lookup or {})
    for path, wanted in (rule.given or {}).items():
        key = keys.get(path.split(".")[0], "")
        if "mpan.core" in key and (wanted is None or (isinstance(wanted, Mapping) and wanted.get("exists") is False)):
            yield key


def _present(wanted: object) -> bool:
    if isinstance(wanted, Mapping):
        return wanted.get("exists") is True or ("ne" in wanted and wanted["ne"] is None)
    return wanted is not None


def _mpan_kind(rule: Rule) -> str:
    """``unregistered`` when the rule wants an MPAN the register lacks, ``fresh`` when it wants
    something remembered per MPAN absent, else the role's shared MPAN."""
    given = dict(rule.given or {})
    if given.get("mpan.known") is False:
        return "unregistered"
    keys = dict(rule.lookup or {})
    for path, wanted in given.items():
        name = path.split(".")[0]
        absent = wanted is None or (isinstance(wanted, Mapping) and wanted.get("exists") is False)
        if absent and "mpan.core" in keys.get(name, ""):
            return "fresh"
    return "shared"


def _wants_other_sender(rule: Rule, name: str) -> bool:
    """Whether ``given`` wants the remembered party to be someone other than this message's sender."""
    for path, wanted in (rule.given or {}).items():
        if path.split(".")[0] == name and isinstance(wanted, Mapping) and wanted.get("ne") == OTHER_SENDER:
            return True
    return False


def _sender(rule: Rule, senders: list[str], custom_schema: Mapping[str, object]) -> str:
    """The sending role the rule asks for (S1.senderRoleID, sender.role), else the one the message's
    own fields name (an IF-034's proposed data service), else the usual one, else the first."""
    asked = (rule.where or {}).get("S1.senderRoleID") or (rule.given or {}).get("sender.role")
    if asked in senders:
        return str(asked)
    named = re.findall(r"cohort\.(\w+)\.dip_id", repr(_tree(custom_schema, senders[0])))
    usual = [r for r in PREFERRED_SENDERS if r in senders]  # as the scaffold's cohorts have them
    return next((r for r in named if r in senders), usual[0] if usual else senders[0])


def _block(node: Mapping[str, object], role: str) -> object:
    return _tree(node, role) if "properties" in node else value_for("", node, role)


def _unique(value: Any) -> Any:
    """The scaffold's free text (``TEST``) made unique per stimulus: a CSS id, a contract reference."""
    n = next(_UNIQUE) % 36**3  # four characters, as TEST is: T and three base-36 digits
    token = "T" + "".join("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n // 36**i % 36] for i in (2, 1, 0))

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return token if v == "TEST" else v

    return walk(value)


def _write_where(
    stimulus: Stimulus, where: Mapping[str, object], custom_schema: Mapping[str, object], common: Mapping[str, object]
) -> None:
    """Write what ``where`` asks into the scaffolded message (operators it cannot satisfy are left)."""
    for path, wanted in where.items():
        parts = _parts(path)
        target = stimulus.common if parts[0] in COMMON_BLOCKS else stimulus.custom
        if parts[0] in BUILT_BLOCKS or target is None:
            continue  # the event, sender and MPAN are chosen already
        block = _properties(common if target is stimulus.common else custom_schema).get(str(parts[0]))
        if block is not None and parts[0] not in target and not _wants_absent(wanted):
            target[str(parts[0])] = _unique(_block(block, stimulus.sender_role or ""))  # an optional block it names
        if _wants_absent(wanted):
            _drop(target, parts)
        elif isinstance(wanted, Mapping):
            value = _satisfying(wanted, _enum(custom_schema, parts))
            if value is not None:
                _set(target, parts, value)
        elif not (isinstance(wanted, str) and "{{" in wanted):
            _set(target, parts, wanted)
        elif (template := _as_cohort_template(wanted, stimulus.role)) is not None:
            _set(target, parts, template)


def _as_cohort_template(wanted: str, role: str) -> str | None:
    """A where's ``{{ party.DCC.dip_id | default('') }}`` or ``{{ me.dip_id }}`` as the scaffold's
    ``{{ cohort.DCC.dip_id }}`` (rendered when the message is sent); None for any other template."""
    found = re.fullmatch(r"\{\{\s*(party\.(\w+)|me)\.(dip_id|mpid)\s*(\|\s*default\([^)]*\))?\s*\}\}", wanted)
    if found is None:
        return None
    return f"{{{{ cohort.{found.group(2) or role}.{found.group(3)} }}}}"


def _wants_absent(wanted: object) -> bool:
    return isinstance(wanted, Mapping) and wanted.get("exists") is False


def _satisfying(wanted: Mapping[str, object], enum: list[object]) -> object:
    """A value an operator accepts: the first of ``in``, a ``startswith`` prefix, another enum value
    than ``ne``; None when the scaffold's value is left (``exists: true``, a template, a pattern)."""
    choices = wanted.get("in")
    if isinstance(choices, list):
        return next((v for v in choices if v is not None), None)
    if "startswith" in wanted:
        return f"{wanted['startswith']}-1"
    if "ne" in wanted and "{{" not in str(wanted["ne"]):
        return next((e for e in enum if e != wanted["ne"] and e is not None), None)
    return None


def _enum(schema: Mapping[str, object], parts: list[str | int]) -> list[object]:
    node: Mapping[str, object] = schema
    for part in parts:
        node = _mapping(node.get("items")) if isinstance(part, int) else _properties(node).get(str(part), {})
    enum = node.get("enum")
    return list(enum) if isinstance(enum, list) else []


def _parts(path: str) -> list[str | int]:
    out: list[str | int] = []
    for piece in path.split("."):
        name, *indexes = re.split(r"\[(\d+)\]", piece)
        out += [name, *(int(i) for i in indexes if i)]
    return [p for p in out if p != ""]


def _set(target: Any, parts: list[str | int], value: object) -> None:
    for i, part in enumerate(parts[:-1]):
        nxt: Any = [] if isinstance(parts[i + 1], int) else {}
        if isinstance(part, int):
            while len(target) <= part:
                target.append({})
            target = target[part]
        elif isinstance(target, dict):
            if not isinstance(target.get(part), dict | list):
                target[part] = nxt
            target = target[part]
    last = parts[-1]
    if isinstance(target, dict) and isinstance(last, str):
        target[last] = value


def _drop(target: Any, parts: list[str | int]) -> None:
    for part in parts[:-1]:
        if isinstance(target, dict) and isinstance(part, str):
            target = target.get(part, {})
        elif isinstance(target, list) and isinstance(part, int) and part < len(target):
            target = target[part]
    if isinstance(target, dict):
        target.pop(str(parts[-1]), None)


def _msg_names(rules: Iterable[Rule]) -> set[str]:
    """The plain ``msg.*`` names the rules of one trigger read (all of them: a rule that
    ``continue``s hands the same data on)."""
    return {n for rule in rules for n in MSG_NAME.findall(repr(rule)) if not BLOCK.match(n)} - {"event", "blocks"}


def _plain_values(stimulus: Stimulus, rule: Rule, day: dt.date, names: set[str]) -> None:
    """The ``where`` fields of the trigger and the plain ``msg.*`` names its role's rules read."""
    for path, wanted in (rule.where or {}).items():
        parts = _parts(path)
        if isinstance(wanted, Mapping):
            if wanted.get("exists") is False:
                _drop(stimulus.data, parts)
            elif "in" in wanted and isinstance(wanted["in"], list):
                _set(stimulus.data, parts, wanted["in"][0])
            elif wanted.get("exists") is True and not _has(stimulus.data, parts):
                _set(stimulus.data, parts, _plain(str(parts[-1]), day))
        elif not (isinstance(wanted, str) and "{{" in wanted):
            _set(stimulus.data, parts, wanted)
    for name in sorted(names - set(stimulus.data)):
        stimulus.data[name] = _plain(name, day)


def _has(data: Any, parts: list[str | int]) -> bool:
    for part in parts:
        if not (isinstance(data, dict) and part in data):
            return False
        data = data[part]
    return True


def _plain(name: str, day: dt.date) -> object:
    if name == "volumes":  # the consumption a settlement run counts: one MPAN, its first period
        end = dt.datetime.combine(day, dt.time(0, 30), dt.UTC).isoformat()
        b900 = {"settlementDayConsumptionPeriods": [{"consumptionPeriods": [{"sp": end, "v": "0.500"}]}]}
        return {FOREIGN_MPAN: b900}
    if name in PLAIN_VALUES:
        return PLAIN_VALUES[name]
    return day.isoformat() if "date" in name.lower() else f"{name}-1"
