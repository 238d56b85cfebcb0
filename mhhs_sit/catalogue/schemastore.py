"""The project's schema fragments for one version, and inlining them into self-contained schemas.

Fragments live in three namespaces: ``types`` (data types such as DateTime or MPAN), ``blocks``
(common blocks S0, S1, A0… and custom blocks B0xx) and ``custom`` (the custom block of each
interface and event code). Fragments refer to each other with ``$ref: "#/types/DateTime"``.

Schemas are inlined (every ``$ref`` replaced by a copy of its target) because validators without
references are several times faster and their errors need no reference bookkeeping. Each inlined
fragment keeps ``x-from: "types/DateTime"`` so that a diff can tell which fragment a change
came from. A ``nullable: true`` beside a ``$ref`` (the OpenAPI 3.0 idiom the official spec
uses) makes the inlined copy accept null as well.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

NAMESPACES = ("types", "blocks", "custom")
REF_SIBLINGS = frozenset({"nullable", "description", "title", "x-expected", "x-source", "x-note"})


class SchemaLocationError(LookupError):
    """A location such as ``blocks/B013/properties/x`` names nothing in the store."""


@dataclass
class SchemaStore:
    """Mutable while a version is being materialised; treated as read-only afterwards."""

    types: dict[str, object]
    blocks: dict[str, object]
    custom: dict[str, dict[str, object]]  # interface id -> event code -> custom block schema
    _inlined: dict[str, object] = field(default_factory=dict, repr=False)

    def copy(self) -> SchemaStore:
        """A copy sharing the fragments: call :meth:`own` before changing one in place."""
        custom = {iid: dict(events) for iid, events in self.custom.items()}
        return SchemaStore(dict(self.types), dict(self.blocks), custom)

    def own(self, at: str) -> None:
        """Give this store its own copy of the fragment ``at`` lies in, so changing it leaves other stores alone."""
        parts = _split(at)
        holder: dict[str, object] | None = {"types": self.types, "blocks": self.blocks}.get(parts[0])
        name = parts[1] if len(parts) > 1 else ""
        if parts[0] == "custom" and len(parts) > 2:
            holder, name = self.custom.get(parts[1]), parts[2]
        if holder is not None and name in holder:
            holder[name] = copy.deepcopy(holder[name])

    def _root(self) -> dict[str, object]:
        return {"types": self.types, "blocks": self.blocks, "custom": self.custom}

    def locate(self, at: str) -> object:
        """The schema object at ``at`` (``namespace/name[/key...]``)."""
        node: object = self._root()
        for part in _split(at):
            if not isinstance(node, dict) or part not in node:
                raise SchemaLocationError(at)
            node = node[part]
        return node

    def inline(self, schema: object) -> object:
        """A copy of ``schema`` with every ``$ref`` replaced by its (inlined) target."""
        return _inline(self, schema, ())

    def fragment(self, location: str, _stack: tuple[str, ...] = ()) -> object:
        """The inlined fragment at ``types/X`` or ``blocks/Y``, tagged with ``x-from``."""
        cached = self._inlined.get(location)
        if cached is None:
            if location in _stack:
                raise ValueError(f"circular $ref: {' -> '.join((*_stack, location))}")
            cached = _inline(self, self.locate(location), (*_stack, location))
            if isinstance(cached, dict):
                cached = {**cached, "x-from": location}
            self._inlined[location] = cached
        return cached


def ref_location(ref: object) -> str:
    """``#/types/DateTime`` -> ``types/DateTime``; a ValueError for anything else."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise ValueError(f"$ref must look like '#/types/Name' or '#/blocks/Name', not {ref!r}")
    location = ref[2:]
    parts = _split(location)
    if len(parts) < 2 or parts[0] not in NAMESPACES:
        raise ValueError(f"$ref {ref!r} must point into one of {', '.join(NAMESPACES)}")
    return location


def ref_holders(
    schema: object, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], dict[str, object]]]:
    """Every mapping in ``schema`` that holds a ``$ref``, with the path to it."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            yield path, schema
        for key, value in schema.items():
            if key != "$ref":
                yield from ref_holders(value, (*path, key))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from ref_holders(value, (*path, index))


def allow_null(schema: Mapping[str, object]) -> dict[str, object]:
    """A copy of ``schema`` that also accepts null (OpenAPI 3.0 ``nullable: true``)."""
    out = dict(schema)
    kind = out.get("type")
    if kind is None and "enum" not in out:
        return {"anyOf": [out, {"type": "null"}]}
    if isinstance(kind, str) and kind != "null":
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    enum = out.get("enum")
    if isinstance(enum, list) and None not in enum:
        out["enum"] = [*enum, None]
    return out


def _split(location: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in location.strip("/").split("/")]


def _inline(store: SchemaStore, schema: object, stack: tuple[str, ...]) -> object:
    if isinstance(schema, list):
        return [_inline(store, item, stack) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        out = _inline_ref(store, schema, stack)
    else:
        out = {key: _inline(store, value, stack) for key, value in schema.items() if key != "nullable"}
    return allow_null(out) if schema.get("nullable") is True else out


def _inline_ref(store: SchemaStore, schema: dict[str, object], stack: tuple[str, ...]) -> dict[str, object]:
    """The target of ``schema``'s ``$ref``, with the reference's siblings laid over it."""
    target = store.fragment(ref_location(schema["$ref"]), stack)
    out = dict(target) if isinstance(target, dict) else {"allOf": [target]}
    for key, value in schema.items():
        if key not in ("$ref", "nullable"):
            out[key] = value
    return out
