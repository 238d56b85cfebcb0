"""Comparing two catalogue versions message schema by message schema.

The comparison is structural (it works for any two versions, in either order), so it finds
every difference whether or not a recorded change explains it; recorded changes then supply
the reason and whether it is published or modelled, and tell a rename from a removal plus an
addition. A difference found in every event code of an interface is reported once, with
``event_code=None``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from mhhs_sit.catalogue.history import ChangeOp, VersionState
from mhhs_sit.catalogue.messageschema import EnvelopeSpec, bracketed, message_schema
from mhhs_sit.catalogue.model import Change, Interface
from mhhs_sit.catalogue.violations import display, pointer

CONSTRAINTS = (
    "type",
    "enum",
    "const",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
)


@dataclass(frozen=True)
class _Found:
    """A difference before it is explained: where it is and which fragment it lies in."""

    kind: str
    path: tuple[str, ...]
    before: object  # for a changed constraint, the changed keywords' values (so for after)
    after: object
    location: str  # schema location of the object (field changes) or the field (constraints)
    field: str = ""
    keywords: tuple[str, ...] = ()

    def key(self) -> tuple[str, tuple[str, ...], str, str]:
        return (self.kind, self.path, repr(self.before), repr(self.after))


def diff_states(
    a: VersionState,
    b: VersionState,
    *,
    envelopes: Mapping[str, EnvelopeSpec],
    interfaces: Mapping[str, Interface],
    chain: tuple[ChangeOp, ...],
    forward: bool,
) -> list[Change]:
    """The changes from state ``a`` to state ``b``; ``chain`` holds the recorded changes between."""
    renames = {
        (op.at, op.field, op.to) if forward else (op.at, op.to, op.field) for op in chain if op.op == "rename-field"
    }
    out: list[Change] = []
    for iid, interface in interfaces.items():
        in_a, in_b = iid in a.events, iid in b.events
        if in_a != in_b:
            out.append(_interface_change(iid, interface.name, added=in_b, chain=chain))
        elif in_a:
            out.extend(_event_changes(iid, a.events[iid], b.events[iid], chain))
            per_event = {
                code: _Walker(renames, []).differences(
                    message_schema(a.store, envelopes[iid], code), message_schema(b.store, envelopes[iid], code)
                )
                for code in a.events[iid]
                if code in b.events[iid]
            }
            out.extend(_collapse(iid, per_event, chain))
    return out


def _interface_change(iid: str, name: str, *, added: bool, chain: tuple[ChangeOp, ...]) -> Change:
    op = _find(chain, lambda o: o.op == "add-interface" and o.interface == iid)
    kind = "interface-added" if added else "interface-removed"
    text = f"{iid} {name} is {'added' if added else 'removed'}"
    before, after = (None, name) if added else (name, None)
    return _change(iid, None, kind, "", before, after, text, op)


def _event_changes(
    iid: str, codes_a: Sequence[str], codes_b: Sequence[str], chain: tuple[ChangeOp, ...]
) -> list[Change]:
    removed = [_event_change(iid, code, "event-removed", chain) for code in codes_a if code not in codes_b]
    return removed + [_event_change(iid, code, "event-added", chain) for code in codes_b if code not in codes_a]


def _event_change(iid: str, code: str, kind: str, chain: tuple[ChangeOp, ...]) -> Change:
    op = _find(
        chain,
        lambda o: o.op in ("add-event", "remove-event") and o.interface == iid and o.event == code,
    )
    added = kind == "event-added"
    text = f"event code {bracketed(code)} is {'added' if added else 'removed'}"
    before, after = (None, bracketed(code)) if added else (bracketed(code), None)
    return _change(iid, code, kind, "/CommonBlock/S0/eventCode", before, after, text, op)


def _collapse(iid: str, per_event: dict[str, list[_Found]], chain: tuple[ChangeOp, ...]) -> list[Change]:
    """One change per difference; event_code None when every event code shares it."""
    out: list[Change] = []
    everywhere: dict[tuple[object, ...], _Found] = {}
    codes = list(per_event)
    if codes:
        shared = set.intersection(*({f.key() for f in per_event[c]} for c in codes))
        everywhere = {f.key(): f for f in per_event[codes[0]] if f.key() in shared}
    for found in everywhere.values():
        out.append(_explain(iid, None, found, chain))
    for code, founds in per_event.items():
        for found in founds:
            if found.key() not in everywhere:
                out.append(_explain(iid, code, found, chain))
    return out


@dataclass
class _Walker:
    """Walks two schemas side by side, noting every difference in ``out``."""

    renames: set[tuple[str, str, str]]
    out: list[_Found]

    def differences(self, a: object, b: object) -> list[_Found]:
        self.walk(a, b, (), "")
        return self.out

    def walk(self, a: object, b: object, path: tuple[str, ...], location: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            self._objects(a, b, path, a.get("x-from") or b.get("x-from") or location)
        elif a != b:
            self.out.append(_Found("constraint-changed", path, {"schema": a}, {"schema": b}, location))

    def _objects(self, a: dict[str, object], b: dict[str, object], path: tuple[str, ...], location: str) -> None:
        """Two schema objects: their constraints, fields, items and alternatives."""
        self._constraints(a, b, path, location)
        self._properties(a, b, path, location)
        if isinstance(a.get("items"), dict) and isinstance(b.get("items"), dict):
            self.walk(a["items"], b["items"], (*path, "*"), f"{location}/items")
        for key in ("anyOf", "oneOf", "allOf"):
            self._alternatives(key, _list(a.get(key)), _list(b.get(key)), path, location)

    def _constraints(self, a: dict[str, object], b: dict[str, object], path: tuple[str, ...], location: str) -> None:
        changed = [k for k in CONSTRAINTS if a.get(k) != b.get(k)]
        if changed:
            before = {k: a.get(k) for k in changed}
            after = {k: b.get(k) for k in changed}
            self.out.append(_Found("constraint-changed", path, before, after, location, keywords=tuple(changed)))

    def _properties(self, a: dict[str, object], b: dict[str, object], path: tuple[str, ...], location: str) -> None:
        props_a, props_b = _fields(a), _fields(b)
        req_a, req_b = _required(a), _required(b)
        only_a = [k for k in props_a if k not in props_b]
        only_b = [k for k in props_b if k not in props_a]
        self._renamed(props_a, props_b, only_a, only_b, path, location)
        for name in only_a:
            self.out.append(_Found("field-removed", (*path, name), _presence(name, req_a), None, location, field=name))
        for name in only_b:
            self.out.append(_Found("field-added", (*path, name), None, _presence(name, req_b), location, field=name))
        self._common_fields(props_a, props_b, req_a, req_b, path, location)

    def _common_fields(
        self,
        props_a: dict[str, object],
        props_b: dict[str, object],
        req_a: set[str],
        req_b: set[str],
        path: tuple[str, ...],
        location: str,
    ) -> None:
        """The fields both have: whether each is required, and its schema."""
        for name in props_a:
            if name in props_b:
                self._requiredness(name, req_a, req_b, path, location)
                self.walk(props_a[name], props_b[name], (*path, name), _child(location, name))

    def _renamed(
        self,
        props_a: dict[str, object],
        props_b: dict[str, object],
        only_a: list[str],
        only_b: list[str],
        path: tuple[str, ...],
        location: str,
    ) -> None:
        """Recorded renames at ``location``: taken out of ``only_a``/``only_b`` and walked as one field."""
        for at, old, new in sorted(self.renames):
            if at == location and old in only_a and new in only_b:
                only_a.remove(old)
                only_b.remove(new)
                self.out.append(_Found("field-renamed", (*path, new), old, new, location, field=new))
                self.walk(props_a[old], props_b[new], (*path, new), _child(location, new))

    def _requiredness(self, name: str, req_a: set[str], req_b: set[str], path: tuple[str, ...], location: str) -> None:
        if (name in req_a) == (name in req_b):
            return
        kind = "field-required" if name in req_b else "field-optional"
        before, after = _presence(name, req_a), _presence(name, req_b)
        self.out.append(_Found(kind, (*path, name), before, after, location, field=name, keywords=("required",)))

    def _alternatives(
        self, key: str, subs_a: list[object], subs_b: list[object], path: tuple[str, ...], location: str
    ) -> None:
        if len(subs_a) != len(subs_b):
            before, after = {key: len(subs_a)}, {key: len(subs_b)}
            self.out.append(_Found("constraint-changed", path, before, after, location, keywords=(key,)))
            return
        for sub_a, sub_b in zip(subs_a, subs_b, strict=True):
            self.walk(sub_a, sub_b, path, location)


def _fields(schema: dict[str, object]) -> dict[str, object]:
    props = schema.get("properties")
    return props if isinstance(props, dict) else {}


def _required(schema: dict[str, object]) -> set[str]:
    required = schema.get("required", ())
    return {str(r) for r in required} if isinstance(required, list | tuple) else set()


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _child(location: str, name: str) -> str:
    return f"{location}/properties/{name}" if location else name


def _presence(name: str, required: set[str]) -> str:
    return "required" if name in required else "optional"


def _explain(iid: str, code: str | None, found: _Found, chain: tuple[ChangeOp, ...]) -> Change:
    explain = _EXPLAIN.get(found.kind, _field_change)
    text, op = explain(found, chain)
    return _change(iid, code, found.kind, pointer(found.path), found.before, found.after, text, op)


def _constraint_change(found: _Found, chain: tuple[ChangeOp, ...]) -> tuple[str, ChangeOp | None]:
    before, after = _mapping(found.before), _mapping(found.after)
    bits = [f"{k} {_show(before.get(k))} -> {_show(after.get(k))}" for k in before]
    text = f"{display(found.path)}: {'; '.join(bits)}"
    return text, _find(chain, lambda o: o.op == "set" and o.at == found.location and o.keyword in found.keywords)


def _rename(found: _Found, chain: tuple[ChangeOp, ...]) -> tuple[str, ChangeOp | None]:
    text = f"{display(found.path[:-1])}.{found.before} is renamed {found.after}"
    op = _find(
        chain,
        lambda o: o.op == "rename-field" and o.at == found.location and found.field in (o.field, o.to),
    )
    return text, op


def _field_change(found: _Found, chain: tuple[ChangeOp, ...]) -> tuple[str, ChangeOp | None]:
    verbs = {
        "field-added": f"is added ({found.after})",
        "field-removed": f"is removed (it was {found.before})",
        "field-required": "becomes required",
        "field-optional": "becomes optional",
    }
    text = f"{display(found.path)} {verbs[found.kind]}"
    op = _find(
        chain,
        lambda o: o.at == found.location and (o.field == found.field or (o.op == "set" and o.keyword == "required")),
    )
    return text, op


_EXPLAIN: dict[str, Callable[[_Found, tuple[ChangeOp, ...]], tuple[str, ChangeOp | None]]] = {
    "constraint-changed": _constraint_change,
    "field-renamed": _rename,
}


def _mapping(value: object) -> dict[object, object]:
    return value if isinstance(value, dict) else {}


def _change(
    iid: str,
    code: str | None,
    kind: str,
    path: str,
    before: object,
    after: object,
    text: str,
    op: ChangeOp | None,
) -> Change:
    if op is not None:
        text += (f": {op.why}" if op.why else "") + op.note()
    return Change(iid, code, kind, path, before, after, text, op.source if op else "")  # type: ignore[arg-type]


def _find(chain: tuple[ChangeOp, ...], test: Callable[[ChangeOp], bool]) -> ChangeOp | None:
    return next((op for op in chain if test(op)), None)


def _show(value: object) -> str:
    return "(none)" if value is None else f"'{value}'" if isinstance(value, str) else str(value)
