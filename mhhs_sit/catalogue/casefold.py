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


def _branches(schema: object) -> Iterable[dict[str, object]]:
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
    grouped, items = _gather(schemas)
    index = NameIndex()
    for lower, (name, subs) in grouped.items():
        index.props[lower] = (name, _build(subs, memo))
    index.items = _build(items, memo) if items else None
    result = index if index.props or index.items else None
    memo[key] = result
    return result


def _gather(schemas: list[object]) -> tuple[dict[str, tuple[str, list[object]]], list[object]]:
    """Across every branch of ``schemas``: the subschemas of each property (by lower-case name,
    first spelling kept) and the schemas of their items."""
    grouped: dict[str, tuple[str, list[object]]] = {}
    items: list[object] = []
    for schema in schemas:
        for branch in _branches(schema):
            for name, sub in _properties(branch).items():
                grouped.setdefault(name.lower(), (name, []))[1].append(sub)
            if isinstance(branch.get("items"), dict):
                items.append(branch["items"])
    return grouped, items


def _properties(branch: dict[str, object]) -> dict[str, object]:
    props = branch.get("properties")
    return props if isinstance(props, dict) else {}


def normalise(value: object, index: NameIndex | None) -> object:
    """``value`` with keys renamed to the schema's spelling; unchanged objects are reused."""
    if index is None:
        return value
    if isinstance(value, dict):
        return _normalise_object(value, index) if index.props else value
    if isinstance(value, list) and index.items is not None:
        new = [normalise(item, index.items) for item in value]
        return new if any(a is not b for a, b in zip(new, value, strict=True)) else value
    return value


def _normalise_object(value: dict[object, object], index: NameIndex) -> dict[object, object]:
    changed = False
    out: dict[object, object] = {}
    for key, item in value.items():
        entry = _entry(key, value, out, index)
        new_key = key if entry is None else entry[0]
        new_item = normalise(item, entry[1]) if entry is not None else item
        changed = changed or new_key != key or new_item is not item
        out[new_key] = new_item
    return out if changed else value


def _entry(
    key: object, value: dict[object, object], out: dict[object, object], index: NameIndex
) -> tuple[object, NameIndex | None] | None:
    """The schema's spelling of ``key`` and the index below it; None when the schema has no such
    property, or when its spelling is already taken by another key of the object."""
    entry = index.props.get(key.lower()) if isinstance(key, str) else None
    if entry is None or key == entry[0]:
        return entry
    if entry[0] in value or entry[0] in out:
        return None
    return entry


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


def sender_path(payload: object, path: Iterable[object]) -> list[object]:
    """``path`` (in the schema's spelling) rewritten with the keys as the sender spelt them."""
    out: list[object] = []
    node = payload
    for part in path:
        if isinstance(node, Mapping) and isinstance(part, str) and part not in node:
            lower = part.lower()
            part = next((k for k in node if isinstance(k, str) and k.lower() == lower), part)
        out.append(part)
        node = _child(node, part)
    return out


def _child(node: object, part: object) -> object:
    """``node[part]``, or None when ``part`` leads nowhere (only mappings matter for spelling)."""
    if isinstance(node, Mapping):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
        return node[part]
    return None
