"""Matching JSON field names case-insensitively, as the DIP does on ingress.

The DIP "will not be enforcing capitalisation validation on JSON field names" (the data itself
is case-sensitive). JSON Schema has no such mode, so before validating we rename the message's
keys to the schema's spelling: walk the schema alongside the message, and wherever a key is not
spelt as the schema spells it but matches one property ignoring case, rename it. Properties of
every ``allOf``/``anyOf``/``oneOf`` branch count, so a name is recognised whichever branch the
validator later picks. A key that collides with a correctly spelt one is left alone (and then
reported as an unexpected field). Violations are reported back with the sender's spelling.

Schemas must be self-contained (no ``$ref``): both catalogues inline theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_COMBINATORS = ("allOf", "anyOf", "oneOf")


class NameIndex:
    """For one schema node: property names by lower-case spelling, and the index of items."""

    __slots__ = ("items", "props")

    def __init__(self) -> None:
        self.props: dict[str, tuple[str, NameIndex | None]] = {}
        self.items: NameIndex | None = None


def build_index(schema: object) -> NameIndex | None:
    """The name index of ``schema``; None when nothing below it has named properties."""
    return _build([schema], {})


def _branches(schema: Any) -> Iterable[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for key in _COMBINATORS:
            for sub in schema.get(key, ()):
                yield from _branches(sub)


def _build(schemas: list[object], memo: dict[tuple[int, ...], NameIndex | None]) -> NameIndex | None:
    key = tuple(id(s) for s in schemas)
    if key in memo:
        return memo[key]
    memo[key] = None  # guards against self-reference while building
    grouped: dict[str, tuple[str, list[object]]] = {}
    items: list[object] = []
    for schema in schemas:
        for branch in _branches(schema):
            for name, sub in (branch.get("properties") or {}).items():
                grouped.setdefault(name.lower(), (name, []))[1].append(sub)
            if isinstance(branch.get("items"), dict):
                items.append(branch["items"])
    index = NameIndex()
    for lower, (name, subs) in grouped.items():
        index.props[lower] = (name, _build(subs, memo))
    index.items = _build(items, memo) if items else None
    result = index if index.props or index.items else None
    memo[key] = result
    return result


def normalise(value: object, index: NameIndex | None) -> object:
    """``value`` with keys renamed to the schema's spelling; unchanged objects are reused."""
    if index is None:
        return value
    if isinstance(value, dict):
        if not index.props:
            return value
        changed = False
        out: dict[object, object] = {}
        for key, item in value.items():
            entry = index.props.get(key.lower()) if isinstance(key, str) else None
            new_key = key
            if entry is not None and key != entry[0]:
                if entry[0] in value or entry[0] in out:
                    entry = None  # the schema's spelling is already taken
                else:
                    new_key = entry[0]
                    changed = True
            new_item = normalise(item, entry[1]) if entry is not None else item
            changed = changed or new_item is not item
            out[new_key] = new_item
        return out if changed else value
    if isinstance(value, list) and index.items is not None:
        new = [normalise(item, index.items) for item in value]
        return new if any(a is not b for a, b in zip(new, value, strict=True)) else value
    return value


def lookup(mapping: object, name: str) -> object:
    """``mapping[name]``, matching the key case-insensitively; None when absent."""
    if not isinstance(mapping, Mapping):
        return None
    if name in mapping:
        return mapping[name]
    lower = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lower:
            return value
    return None


def sender_path(payload: Any, path: Iterable[Any]) -> list[Any]:
    """``path`` (in the schema's spelling) rewritten with the keys as the sender spelt them."""
    out: list[object] = []
    node = payload
    for part in path:
        if isinstance(node, Mapping) and isinstance(part, str) and part not in node:
            lower = part.lower()
            part = next((k for k in node if isinstance(k, str) and k.lower() == lower), part)
        out.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return out
