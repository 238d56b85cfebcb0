"""A ``send`` step scaffolded from the catalogue: exactly the blocks its event has, each required field valid.

Writing a message from the README alone means reading the schema field by field; this writes the
step instead: ``mpan:`` where the event has an M0, under ``common:`` the other blocks it requires
(R0, R1, M1…), ``custom:`` where it has a CustomBlock; each field with a value its schema accepts
(a template where the cohort or the case has the value: DIP ids, MPIDs, the MPAN, dates) and a
comment naming the field's format. The values
come from the same schema ``validate`` checks the message against, so they cannot disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.definitions.schemas import ROLES
from mhhs_sit.dip.envelope import BUILT_BLOCKS
from mhhs_sit.errors import ConfigError

Node = Mapping[str, object]

# A field's role, from its name: whose DIP id or MPID a template fills it with.
_ROLE_HINTS = (
    ("datacollector", "SDS"),
    ("dataservice", "SDS"),
    ("ds", "SDS"),
    ("meteringservice", "MSS"),
    ("ms", "MSS"),
    ("mdr", "MDR"),
    ("supplier", "SUP"),
    ("distributor", "LDSO"),
    ("ldso", "LDSO"),
    ("registration", "REGS"),
)
_TEMPLATES = {
    "types/DateTime": "{{ midnight }}",
    "types/Date": "{{ today }}",
}
_CASE_MPAN = frozenset({"mpancore", "principalmpan", "primarympan"})  # the case's MPAN; a linked one is another
_PREFERRED = {"appointmentscenario": "CSP"}  # by field name: a change of service provider needs no CSS registration
COHORT_ROLES = frozenset({"SUP", "REGS", "LDSO", "SDS", "MSS"})  # the roles this project's cohorts have
_LIKE = re.compile(r"\blike ([^\s,;()]+)")


@dataclass(frozen=True)
class Line:
    """One line of the step: its depth, key, value (YAML text, or None for a mapping) and comment."""

    depth: int
    key: str
    value: str | None
    comment: str = ""


def send_step(interface: str, event: str, role: str | None, version: str | None) -> str:
    """The YAML of a ``send`` step (a list item) for ``interface`` [``event``], as ``role``."""
    from mhhs_sit.catalogue import load_catalogue

    catalogue = load_catalogue()
    try:
        iface = catalogue.interface(interface)
    except KeyError as exc:
        raise ConfigError(f"--interface: {exc}") from exc
    try:
        canonical = catalogue.resolve_version(version) if version else catalogue.default_version
    except ConfigError as exc:
        raise ConfigError(f"--ir: {exc}") from exc
    events = iface.event_codes(canonical)
    code = event.strip("[]")
    if code not in events:
        raise ConfigError(
            f"--event: {iface.id} has no event [{code}] in {canonical}{suggest(code, events)}; "
            f"its events are {', '.join(events) or 'none'}"
        )
    sender = _sender(iface.id, sorted(iface.senders), role)
    schema = catalogue.schema(iface.id, code, version=canonical)
    about = f"{iface.id} [{code}] in {canonical}"
    common = _mapping(_properties(schema).get("CommonBlock"))
    lines = [
        Line(1, "as", sender),
        Line(1, "interface", iface.id),
        Line(1, "event", code, _optional_blocks(common)),
        *_common_lines(common, sender, about),
        *_custom_lines(_properties(schema), sender, about),
    ]
    return "- send:\n" + "\n".join(_render(line) for line in lines) + "\n"


def _common_lines(common: Node, sender: str, about: str) -> list[Line]:
    """``mpan:`` where the event has an M0 (the framework builds it), then under ``common:`` every
    other block the event requires that the framework does not build (R0, R1, M1…)."""
    blocks = _properties(common)
    lines = [Line(1, "mpan", '"{{ mpan }}"', "M0.MPANCore; case data: mpan: {draw: mpan}")] if "M0" in blocks else []
    added = [name for name in _required(common) if name not in BUILT_BLOCKS]
    if added:
        lines.append(Line(1, "common", None, f"common blocks {about} requires besides S0, S1, A0, M0"))
    for name in added:
        lines += [Line(2, name, None), *_fields(blocks.get(name, {}), 3, sender)]
    return lines


def _optional_blocks(common: Node) -> str:
    """A note of the common blocks the sender may add (D0 is the DIP's: it is never sent)."""
    required = set(_required(common))
    optional = [b for b in _properties(common) if b not in required | BUILT_BLOCKS | {"D0"}]
    return f"optional common block{'s' if len(optional) > 1 else ''} {', '.join(optional)}: add under common:" * bool(
        optional
    )


def _custom_lines(message: Mapping[str, Node], sender: str, about: str) -> list[Line]:
    """The CustomBlock's required fields; nothing where the event's messages carry no CustomBlock."""
    if "CustomBlock" not in message:
        return []
    fields = _fields(message["CustomBlock"], 2, sender)
    if fields:
        return [Line(1, "custom", None, f"required fields of {about}"), *fields]
    return [Line(1, "custom", "{}", f"{about} requires no CustomBlock field")]


def _sender(interface: str, senders: list[str], role: str | None) -> str:
    """The role to send as: one a scenario can act as (never the DIP itself)."""
    acting = [s for s in senders if s in ROLES]
    if role is not None and role not in ROLES:
        raise ConfigError(f"--as: {role} is not a role a scenario can act as; roles are {', '.join(ROLES)}")
    if not acting:
        raise ConfigError(
            f"--interface: {interface} is sent only by {', '.join(senders)}, which no scenario can act as "
            "(DIP: the DIP itself); a scenario can expect it, not send it"
        )
    if role is None:
        if len(acting) == 1:
            return acting[0]
        raise ConfigError(f"--as: {interface} has several senders ({', '.join(acting)}); name the one to act as")
    if role not in acting:
        raise ConfigError(
            f"--as: {role} may not send {interface}{suggest(role, acting)}; its senders are {', '.join(acting)}"
        )
    return role


def first_sender(senders: frozenset[str]) -> str | None:
    """The first sender (in order) a scenario can act as, or None when only the DIP sends."""
    return next((s for s in sorted(senders) if s in ROLES), None)


def _render(line: Line) -> str:
    text = "  " * (line.depth + 1) + f"{line.key}:" + (f" {line.value}" if line.value is not None else "")
    return f"{text}  # {line.comment}" if line.comment else text


def _mapping(node: object) -> Node:
    return node if isinstance(node, Mapping) else {}


def _properties(node: Node) -> Mapping[str, Node]:
    found = node.get("properties")
    return {str(k): _mapping(v) for k, v in found.items()} if isinstance(found, Mapping) else {}


def _required(node: Node) -> list[str]:
    required = node.get("required")
    return [str(n) for n in required] if isinstance(required, list) else []


def _fields(node: Node, depth: int, sender: str) -> list[Line]:
    """The required fields of an object, nested objects expanded."""
    lines: list[Line] = []
    for name in _required(node):
        field = _properties(node).get(name, {})
        if "properties" in field:
            lines += [Line(depth, name, None), *_fields(field, depth + 1, sender)]
        else:
            lines.append(Line(depth, name, json.dumps(value_for(name, field, sender)), _format(field)))
    return lines


def _tree(node: Node, sender: str) -> dict[str, object]:
    """An object's required fields as values (for the items of a list, written in one line)."""
    required = node.get("required")
    fields = _properties(node)
    return {
        str(name): _tree(fields.get(str(name), {}), sender)
        if "properties" in fields.get(str(name), {})
        else value_for(str(name), fields.get(str(name), {}), sender)
        for name in (required if isinstance(required, list) else [])
    }


def _format(field: Node) -> str:
    nullable = ", or null" if "null" in _types(field) else ""
    expected = field.get("x-expected")
    if isinstance(expected, str):
        return expected + nullable
    enum = field.get("enum")
    if isinstance(enum, list):
        return "one of " + ", ".join(str(e) for e in enum if e is not None) + nullable
    low, high = field.get("minLength"), field.get("maxLength")
    if "string" in _types(field) and isinstance(low, int) and isinstance(high, int):
        return f"text of {low} to {high} characters{nullable}"
    if "array" in _types(field):
        items = _mapping(field.get("items"))
        return (
            f"a list of objects with {', '.join(_required(items))}"
            if "properties" in items
            else f"a list of {_format(items)}"
        )
    return " or ".join(sorted(_types(field))) or "any value"


def value_for(name: str, field: Node, sender: str) -> object:
    """A value the field's schema accepts: a template for what the cohort or case has, else a literal."""
    kind = field.get("x-from")
    if kind in _TEMPLATES:
        return _TEMPLATES[str(kind)]
    if kind == "types/MPAN" and name.lower() in _CASE_MPAN:
        return "{{ mpan }}"
    if kind in ("types/DIPParticipantID", "types/MPID"):
        role = _role_of(name, sender)
        if role not in COHORT_ROLES and "null" in _types(field):
            return None  # a role no cohort here has: left out, as the schema allows
        return f"{{{{ cohort.{role}.{'dip_id' if kind == 'types/DIPParticipantID' else 'mpid'} }}}}"
    if name.lower() in _PREFERRED:
        return _PREFERRED[name.lower()]
    enum = field.get("enum")
    if isinstance(enum, list) and enum:
        return next((e for e in enum if e is not None), enum[0])
    if "array" in _types(field):
        items = _mapping(field.get("items"))
        return [_tree(items, sender) if "properties" in items else value_for(name, items, sender)]
    return _literal(field)


def _role_of(name: str, sender: str) -> str:
    low = name.lower()
    return next((role for hint, role in _ROLE_HINTS if low.startswith(hint) or hint in low[3:]), sender)


def _types(field: Node) -> set[str]:
    found = field.get("type")
    return {found} if isinstance(found, str) else {str(t) for t in found} if isinstance(found, list) else set()


def _literal(field: Node) -> object:
    kinds = _types(field)
    if "boolean" in kinds:
        return True
    if "integer" in kinds or "number" in kinds:
        low = field.get("minimum")
        return low if isinstance(low, int | float) else 1
    return _text(field) if "string" in kinds or not kinds else None


def _text(field: Node) -> str | None:
    pattern = field.get("pattern")
    for example in _LIKE.findall(str(field.get("x-expected", ""))):
        if not isinstance(pattern, str) or re.search(pattern, example):
            return _sized(example, field)
    if isinstance(pattern, str):
        return None if "null" in _types(field) else "TODO"  # no example to go by: null where allowed
    return _sized("TEST", field)


def _sized(text: str, field: Node) -> str:
    low, high = field.get("minLength"), field.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        text = (text * low)[:low]
    return text[:high] if isinstance(high, int) else text
