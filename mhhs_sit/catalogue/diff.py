"""Comparing two catalogue versions message schema by message schema.

The comparison is structural (it works for any two versions, in either order), so it finds
every difference whether or not a recorded change explains it; recorded changes then supply
the reason and whether it is published or modelled, and tell a rename from a removal plus an
addition. A difference found in every event code of an interface is reported once, with
``event_code=None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    before: Any
    after: Any
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
            op = _find(chain, lambda o, iid=iid: o.op == "add-interface" and o.interface == iid)
            kind = "interface-added" if in_b else "interface-removed"
            text = f"{iid} {interface.name} is {'added' if in_b else 'removed'}"
            out.append(
                _change(
                    iid,
                    None,
                    kind,
                    "",
                    None if in_b else interface.name,
                    interface.name if in_b else None,
                    text,
                    op,
                )
            )
            continue
        if not in_a:
            continue
        codes_a, codes_b = a.events[iid], b.events[iid]
        for code in codes_a:
            if code not in codes_b:
                out.append(_event_change(iid, code, "event-removed", chain))
        for code in codes_b:
            if code not in codes_a:
                out.append(_event_change(iid, code, "event-added", chain))
        common = [c for c in codes_a if c in codes_b]
        per_event: dict[str, list[_Found]] = {}
        for code in common:
            found: list[_Found] = []
            schema_a = message_schema(a.store, envelopes[iid], code)
            schema_b = message_schema(b.store, envelopes[iid], code)
            _walk(schema_a, schema_b, (), "", renames, found)
            per_event[code] = found
        out.extend(_collapse(iid, per_event, chain))
    return out


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
    everywhere: dict[tuple[Any, ...], _Found] = {}
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


def _walk(
    a: Any,
    b: Any,
    path: tuple[str, ...],
    location: str,
    renames: set[tuple[str, str, str]],
    out: list[_Found],
) -> None:
    if not isinstance(a, dict) or not isinstance(b, dict):
        if a != b:
            out.append(_Found("constraint-changed", path, {"schema": a}, {"schema": b}, location))
        return
    location = a.get("x-from") or b.get("x-from") or location
    changed = [k for k in CONSTRAINTS if a.get(k) != b.get(k)]
    if changed:
        before = {k: a.get(k) for k in changed}
        after = {k: b.get(k) for k in changed}
        out.append(_Found("constraint-changed", path, before, after, location, keywords=tuple(changed)))
    props_a, props_b = a.get("properties") or {}, b.get("properties") or {}
    req_a, req_b = set(a.get("required", ())), set(b.get("required", ()))
    only_a = [k for k in props_a if k not in props_b]
    only_b = [k for k in props_b if k not in props_a]
    for at, old, new in sorted(renames):
        if at == location and old in only_a and new in only_b:
            only_a.remove(old)
            only_b.remove(new)
            out.append(_Found("field-renamed", (*path, new), old, new, location, field=new))
            _walk(props_a[old], props_b[new], (*path, new), _child(location, new), renames, out)
    for name in only_a:
        out.append(_Found("field-removed", (*path, name), _presence(name, req_a), None, location, field=name))
    for name in only_b:
        out.append(_Found("field-added", (*path, name), None, _presence(name, req_b), location, field=name))
    for name in props_a:
        if name not in props_b:
            continue
        if (name in req_a) != (name in req_b):
            kind = "field-required" if name in req_b else "field-optional"
            out.append(
                _Found(
                    kind,
                    (*path, name),
                    _presence(name, req_a),
                    _presence(name, req_b),
                    location,
                    field=name,
                    keywords=("required",),
                )
            )
        _walk(props_a[name], props_b[name], (*path, name), _child(location, name), renames, out)
    if isinstance(a.get("items"), dict) and isinstance(b.get("items"), dict):
        _walk(a["items"], b["items"], (*path, "*"), f"{location}/items", renames, out)
    for key in ("anyOf", "oneOf", "allOf"):
        subs_a, subs_b = a.get(key) or [], b.get(key) or []
        if len(subs_a) == len(subs_b):
            for sub_a, sub_b in zip(subs_a, subs_b, strict=True):
                _walk(sub_a, sub_b, path, location, renames, out)
        else:
            out.append(
                _Found(
                    "constraint-changed",
                    path,
                    {key: len(subs_a)},
                    {key: len(subs_b)},
                    location,
                    keywords=(key,),
                )
            )


def _child(location: str, name: str) -> str:
    return f"{location}/properties/{name}" if location else name


def _presence(name: str, required: set[str]) -> str:
    return "required" if name in required else "optional"


def _explain(iid: str, code: str | None, found: _Found, chain: tuple[ChangeOp, ...]) -> Change:
    where = display(found.path)
    if found.kind == "constraint-changed":
        bits = [f"{k} {_show(found.before.get(k))} -> {_show(found.after.get(k))}" for k in found.before]
        text = f"{where}: {'; '.join(bits)}"
        op = _find(
            chain,
            lambda o: o.op == "set" and o.at == found.location and o.keyword in found.keywords,
        )
    elif found.kind == "field-renamed":
        text = f"{display(found.path[:-1])}.{found.before} is renamed {found.after}"
        op = _find(
            chain,
            lambda o: o.op == "rename-field" and o.at == found.location and found.field in (o.field, o.to),
        )
    else:
        verbs = {
            "field-added": f"is added ({found.after})",
            "field-removed": f"is removed (it was {found.before})",
            "field-required": "becomes required",
            "field-optional": "becomes optional",
        }
        text = f"{where} {verbs[found.kind]}"
        op = _find(
            chain,
            lambda o: (
                o.at == found.location and (o.field == found.field or (o.op == "set" and o.keyword == "required"))
            ),
        )
    return _change(iid, code, found.kind, pointer(found.path), found.before, found.after, text, op)


def _change(
    iid: str,
    code: str | None,
    kind: str,
    path: str,
    before: Any,
    after: Any,
    text: str,
    op: ChangeOp | None,
) -> Change:
    if op is not None:
        text += (f": {op.why}" if op.why else "") + op.note()
    return Change(iid, code, kind, path, before, after, text, op.source if op else "")  # type: ignore[arg-type]


def _find(chain: tuple[ChangeOp, ...], test: Any) -> ChangeOp | None:
    return next((op for op in chain if test(op)), None)


def _show(value: Any) -> str:
    return "(none)" if value is None else f"'{value}'" if isinstance(value, str) else str(value)
