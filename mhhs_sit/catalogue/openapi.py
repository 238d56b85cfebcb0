"""OpenAPI 3.0 schema objects turned into self-contained JSON Schema (draft 4 semantics).

OpenAPI 3.0's schema object is a dialect of JSON Schema draft 4/5 with one keyword that
matters here: ``nullable: true``, which JSON Schema spells as a ``"null"`` type. The conversion
adds ``"null"`` to the type (and ``null`` to an ``enum``) wherever ``nullable`` is true,
including beside a ``$ref`` (OpenAPI 3.0 would ignore such siblings; the DIP spec means them).
References are inlined, each target converted once and shared, so validators need no reference
resolution. Annotations (``description``, ``example``) are kept for messages.
"""

from __future__ import annotations

from mhhs_sit.catalogue.schemastore import allow_null
from mhhs_sit.catalogue.specfiles import MissingFile, RefError, SpecFiles
from mhhs_sit.core.yamlsrc import PathPart
from mhhs_sit.errors import Problem

_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")
_Key = tuple[str, tuple[str, ...]]  # (file, path in it) of one converted target
_OPENAPI_ONLY = frozenset({"nullable", "discriminator", "xml", "externalDocs", "readOnly", "writeOnly", "deprecated"})


class Inliner:
    """Converts schemas of one spec, following ``$ref``s across its files."""

    def __init__(self, files: SpecFiles):
        self.files = files
        self._problems: list[Problem] = []
        self._missing: dict[str, list[int]] = {}  # missing file -> [index of first problem, count]
        self._memo: dict[tuple[str, tuple[str, ...]], object] = {}

    @property
    def problems(self) -> list[Problem]:
        """Problems found so far; a missing file is reported at its first reference only."""
        out = list(self._problems)
        for relative, (index, count) in self._missing.items():
            if count > 1:
                first = out[index]
                more = f" ({count - 1} more references to {relative} are not listed)"
                out[index] = Problem(first.file, first.line, first.column, first.path, first.message + more)
        return out

    def add(self, problem: Problem) -> None:
        """Record a problem found while walking the spec around the schemas."""
        self._problems.append(problem)

    def schema(self, name: str, parts: tuple[str, ...]) -> object:
        """The converted schema at ``#/parts`` of file ``name``."""
        return self._target(name, parts, (), name, ())

    def _target(
        self,
        name: str,
        parts: tuple[str, ...],
        stack: tuple[_Key, ...],
        ref_file: str,
        ref_path: tuple[PathPart, ...],
    ) -> object:
        key = (name, parts)
        if key in self._memo:
            return self._memo[key]
        if key in stack:
            self._problem(ref_file, ref_path, f"circular $ref through {name}#/{'/'.join(parts)}")
            return {}
        try:
            node = self.files.node(name, parts)
        except RefError as exc:
            self._problem(ref_file, ref_path, str(exc))
            return {}
        converted = self._convert(node, name, tuple(parts), (*stack, key))
        self._memo[key] = converted
        return converted

    def _convert(self, node: object, name: str, path: tuple[PathPart, ...], stack: tuple[_Key, ...]) -> object:
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self._reference(node, name, path, stack)
        out: dict[str, object] = {}
        for key, value in node.items():
            if key not in _OPENAPI_ONLY:
                out[key] = self._convert_value(key, value, name, (*path, key), stack)
        return allow_null(out) if node.get("nullable") is True else out

    def _convert_value(
        self, key: str, value: object, name: str, path: tuple[PathPart, ...], stack: tuple[_Key, ...]
    ) -> object:
        """One keyword's value: converted where the keyword holds schemas, else kept as it is."""
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            return {k: self._convert(v, name, (*path, k), stack) for k, v in value.items()}
        if key in _SCHEMA_LISTS and isinstance(value, list):
            return [self._convert(v, name, (*path, i), stack) for i, v in enumerate(value)]
        if key in _SCHEMA_VALUES and isinstance(value, dict):
            return self._convert(value, name, path, stack)
        return value

    def _reference(
        self, node: dict[str, object], name: str, path: tuple[PathPart, ...], stack: tuple[_Key, ...]
    ) -> object:
        """The converted target of ``node``'s ``$ref`` (``{}`` when it cannot be followed)."""
        ref_path = (*path, "$ref")
        try:
            target_file, target_parts = self.files.resolve(node["$ref"], name)
        except MissingFile as exc:
            self._missing_file(exc, name, ref_path)
            return {}
        except RefError as exc:
            self._problem(name, ref_path, str(exc))
            return {}
        target = self._target(target_file, target_parts, stack, name, ref_path)
        return allow_null(target) if node.get("nullable") is True and isinstance(target, dict) else target

    def _missing_file(self, exc: MissingFile, name: str, ref_path: tuple[PathPart, ...]) -> None:
        """A missing file is one problem, at its first reference; later ones are only counted."""
        if exc.relative in self._missing:
            self._missing[exc.relative][1] += 1
        else:
            self._missing[exc.relative] = [len(self._problems), 1]
            self._problem(name, ref_path, str(exc))

    def _problem(self, name: str, path: tuple[PathPart, ...], message: str) -> None:
        doc = self.files.doc(name)
        if doc is None:
            self._problems.append(Problem(name, 0, 0, "", message))
        else:
            self._problems.append(doc.problem(list(path), message))
