"""The facts of an official DIP spec, extracted into the project's catalogue format.

``mhhs-sit catalogue generate --dip-spec PATH`` reads Elexon's multi-file spec (offline, as
``--dip-spec`` validation does) and writes the generated part of the catalogue: ``types.yaml``
(the spec's data types), ``blocks.yaml`` (common, custom and report blocks), ``messages.yaml``
(per interface and event code: schema version, common blocks, whether a CustomBlock is
required, optional or absent) and one ``IF-nnn.yaml`` / ``REP-nnn.yaml`` per interface (the
custom block of each event code). Only facts are taken: names, types, patterns, enums, lengths,
counts, required lists, nullability; never descriptions or examples. The output depends on the
spec alone, so generating twice gives the same bytes. ``interfaces.yaml`` (senders, recipients,
routing, names), ``roles.yaml`` and ``versions.yaml`` stay the project's own writing.

References follow the spec's meaning as :mod:`.openapi` reads it: a data type becomes a
``$ref`` to ``#/types/Name``; a block of the common-block or report files a ``$ref`` to
``#/blocks/Name``; a data item (DI-nnn) is written in place (its own facts, or the data type it
names). ``nullable: true`` beside a reference is kept.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mhhs_sit.catalogue.specfacts import EventFacts, Extraction, InterfaceFacts, Schema
from mhhs_sit.catalogue.specfiles import RefError, SpecFiles
from mhhs_sit.catalogue.specwriter import render_files

INTERFACES_FILE = "Interfaces-EventCodes-unresolved.yaml"
_PAYLOAD = re.compile(r"^((?:IF|REP)-\d{3}[A-Z]?)-Payload$")
_DATA_TYPE = re.compile(r"^DT-\d+[A-Z]?-(?P<name>.+)$")
_TYPES_FILE = re.compile(r"DataTypes")
_BLOCK_FILE = re.compile(r"CommonBlocks|Reports")
_DROPPED = frozenset(
    {"description", "example", "examples", "title", "externalDocs", "xml", "deprecated", "readOnly", "writeOnly"}
)
_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")
S0_FIELDS = ("interfaceID", "schemaVersion", "eventCode")
# S0 as every event code's branch has it once its enums (the interface, version and event code,
# which the catalogue adds per message) are taken away; S0 is written inline in each branch.
S0_BLOCK: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": list(S0_FIELDS),
    "properties": {name: {"type": "string"} for name in S0_FIELDS},
}


class GenerateError(Exception):
    """The spec does not have the shape the generator reads; the message says where."""


def generate(spec_dir: Path) -> dict[str, str]:
    """File name -> content of every generated catalogue file."""
    return render_files(extract(spec_dir))


def write(spec_dir: Path, out_dir: Path) -> list[Path]:
    """Write the generated files into ``out_dir`` (removing interface files no longer generated)."""
    files = generate(spec_dir)
    stale = [p for p in out_dir.glob("*.yaml") if _PAYLOAD.match(f"{p.stem}-Payload") and p.name not in files]
    for path in stale:
        path.unlink()
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def extract(spec_dir: Path) -> Extraction:
    """The facts of the spec in ``spec_dir``; a GenerateError when it cannot be read."""
    files = SpecFiles(Path(spec_dir))
    doc = files.doc(INTERFACES_FILE)
    if doc is None:
        why = files.problems[0].message if files.problems else "it is missing"
        raise GenerateError(
            f"{spec_dir}: {INTERFACES_FILE} cannot be read ({why}); give the directory of the spec's YAML modules"
        )
    reader = _Reader(files)
    schemas = _dig(doc.data, "components", "schemas")
    if not isinstance(schemas, dict):
        raise GenerateError(f"{INTERFACES_FILE} has no components/schemas")
    interfaces = {}
    for key in schemas:
        match = _PAYLOAD.match(str(key))
        if match:
            interfaces[match.group(1)] = reader.interface(match.group(1), ("components", "schemas", str(key)))
    version = str(_dig(doc.data, "info", "version") or "unknown")
    return Extraction(version, reader.sorted_types(), reader.sorted_blocks(), interfaces)


@dataclass
class _Reader:
    files: SpecFiles
    types: dict[str, Schema] = field(default_factory=dict)
    type_keys: dict[str, str] = field(default_factory=dict)  # type name -> the DT key it came from
    blocks: dict[str, Schema] = field(default_factory=dict)
    block_files: dict[str, str] = field(default_factory=dict)
    _names: dict[str, dict[str, str]] = field(default_factory=dict)  # file -> DT key -> type name

    # -- interfaces -----------------------------------------------------------------------------

    def interface(self, iid: str, parts: tuple[str, ...]) -> InterfaceFacts:
        node = self._node(INTERFACES_FILE, parts)
        branches = node.get("oneOf")
        targets: list[tuple[str, tuple[str, ...]]] = []
        if isinstance(branches, list) and branches and all(isinstance(b, dict) and "$ref" in b for b in branches):
            targets = [self._resolve(b["$ref"], INTERFACES_FILE) for b in branches]
        else:
            targets = [(INTERFACES_FILE, parts)]
        facts: InterfaceFacts | None = None
        chosen: dict[str, str] = {}  # event code -> name of the branch it was taken from
        for file, branch in targets:
            facts = self._branch(iid, file, branch, facts, chosen)
        if facts is None:
            raise GenerateError(f"{iid}-Payload has no branches")
        _share_identical(facts.custom)
        return facts

    def _branch(
        self, iid: str, file: str, parts: tuple[str, ...], facts: InterfaceFacts | None, chosen: dict[str, str]
    ) -> InterfaceFacts:
        node = self._node(file, parts)
        where = f"{file}#/{'/'.join(parts)}"
        props = _mapping(node.get("properties"), where)
        common = _mapping(props.get("CommonBlock"), f"{where}/properties/CommonBlock")
        blocks = _mapping(common.get("properties"), f"{where}/properties/CommonBlock/properties")
        s0 = _mapping(blocks.get("S0"), f"{where} S0")
        s0_props = _mapping(s0.get("properties"), f"{where} S0")
        codes = [str(c).strip("[]") for c in _texts(_dig(s0_props, "eventCode", "enum"))]
        versions = _texts(_dig(s0_props, "schemaVersion", "enum"))
        if not codes or len(versions) != 1:
            raise GenerateError(f"{where}: S0 needs eventCode and one schemaVersion in enums")
        facts = facts or InterfaceFacts(versions[0])
        if versions[0] != facts.schema_version:
            raise GenerateError(f"{where}: schema version {versions[0]} differs from {facts.schema_version}")
        event = self._event(file, parts, node, common, blocks, s0)
        custom = props.get("CustomBlock")
        converted = self.convert(custom, file, (*parts, "properties", "CustomBlock")) if custom is not None else None
        schema = converted if isinstance(converted, dict) else None
        name = parts[-1]
        for code in codes:
            if code in chosen and chosen[code] == f"{iid}-{code}":
                continue  # the branch named after the event code wins over one that also lists it
            if code in chosen and name != f"{iid}-{code}":
                continue
            chosen[code] = name
            facts.events[code] = event
            if schema is None:
                facts.custom.pop(code, None)
            else:
                facts.custom[code] = copy.deepcopy(schema)
        return facts

    def _event(
        self,
        file: str,
        parts: tuple[str, ...],
        node: dict[str, object],
        common: dict[str, object],
        blocks: dict[str, object],
        s0: dict[str, object],
    ) -> EventFacts:
        required = [str(b) for b in _texts(common.get("required"))]
        names: list[str] = []
        for name, value in blocks.items():
            if name == "S0":
                continue
            ref = value.get("$ref") if isinstance(value, dict) else None
            if not isinstance(ref, str):
                raise GenerateError(f"{file}#/{'/'.join(parts)}: common block {name} is not a reference")
            self._alias(str(name), self._reference(ref, file))
            names.append(str(name))
        self._check_s0(file, parts, s0)
        custom_block = "none"
        if isinstance(_dig(node, "properties", "CustomBlock"), dict):
            custom_block = "required" if "CustomBlock" in _texts(node.get("required")) else "optional"
        return EventFacts(
            common=[n for n in names if n in required],
            optional=[n for n in names if n not in required],
            custom_block=custom_block,
            s0_closed=s0.get("additionalProperties") is False,
            common_closed=common.get("additionalProperties") is False,
        )

    def _check_s0(self, file: str, parts: tuple[str, ...], s0: dict[str, object]) -> None:
        """S0 must be the generic S0 (open or closed) plus enums, which the catalogue adds itself."""
        facts = self.convert(s0, file, parts)
        if not isinstance(facts, dict) or not isinstance(facts.get("properties"), dict):
            raise GenerateError(f"{file}#/{'/'.join(parts)}: S0 has no properties")
        fields = {k: {key: v for key, v in p.items() if key != "enum"} for k, p in facts["properties"].items()}
        shape = {
            **facts,
            "properties": fields,
            "additionalProperties": False,
            "required": sorted(_texts(facts.get("required"))),
        }
        expected = {**S0_BLOCK, "required": sorted(S0_FIELDS)}
        if shape != expected:
            raise GenerateError(f"{file}#/{'/'.join(parts)}: S0 is not the generic S0 with enums: {facts}")

    def _alias(self, name: str, target: Schema) -> None:
        """A common block carried under another block's name (S2 is an S1, R1 an R0)."""
        ref = str(target.get("$ref", ""))
        block = ref.removeprefix("#/blocks/")
        if block == name:
            return
        existing = self.blocks.get(name)
        if existing is not None and existing != {"$ref": ref}:
            raise GenerateError(f"block {name} is both its own block and a copy of {block}")
        self.blocks[name] = {"$ref": ref}

    # -- schemas -------------------------------------------------------------------------------

    def convert(self, node: object, file: str, parts: tuple[str, ...]) -> object:
        """``node`` in the project's terms: facts kept, references mapped, prose dropped."""
        if isinstance(node, list):
            return [self.convert(item, file, parts) for item in node]
        if not isinstance(node, dict):
            return copy.deepcopy(node)
        if "$ref" in node:
            out = self._reference(node["$ref"], file)
            return {**out, "nullable": True} if node.get("nullable") is True else out
        result: Schema = {}
        for key, value in node.items():
            key = str(key)
            if key in _DROPPED or key.startswith("x-") or (key == "nullable" and value is not True):
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                result[key] = {str(k): self.convert(v, file, (*parts, key, str(k))) for k, v in value.items()}
            elif key in (*_SCHEMA_LISTS, *_SCHEMA_VALUES):
                result[key] = self.convert(value, file, (*parts, key))
            else:
                result[key] = copy.deepcopy(value)
        return result

    def _reference(self, ref: object, base: str) -> Schema:
        file, parts = self._resolve(ref, base)
        name = parts[-1] if parts else ""
        kind = PurePosixPath(file).name
        if _TYPES_FILE.search(kind):
            return self._type(file, parts)
        if _BLOCK_FILE.search(kind):
            self._block(name, file, parts)
            return {"$ref": f"#/blocks/{name}"}
        converted = self.convert(self._node(file, parts), file, parts)
        return converted if isinstance(converted, dict) else {"allOf": [converted]}

    def _type(self, file: str, parts: tuple[str, ...]) -> Schema:
        key = parts[-1]
        converted = self.convert(self._node(file, parts), file, parts)
        if not isinstance(converted, dict):
            raise GenerateError(f"{file}#/{'/'.join(parts)} is not a schema")
        nullable = converted.pop("nullable", False) is True
        name = self._type_name(file, key)
        self.types[name] = converted
        self.type_keys.setdefault(name, key)
        return {"$ref": f"#/types/{name}", "nullable": True} if nullable else {"$ref": f"#/types/{name}"}

    def _type_name(self, file: str, key: str) -> str:
        """``DT-003-DateTime`` -> ``DateTime``; a nullable variant that differs otherwise gets an N."""
        if file not in self._names:
            self._names[file] = _type_names(self.files, file)
        return self._names[file].get(key, key)

    def _block(self, name: str, file: str, parts: tuple[str, ...]) -> None:
        if name in self.block_files:
            if self.block_files[name] != file:
                raise GenerateError(f"block {name} is defined in both {self.block_files[name]} and {file}")
            return
        self.block_files[name] = file
        self.blocks[name] = {}  # a placeholder while its own references are followed
        converted = self.convert(self._node(file, parts), file, parts)
        if not isinstance(converted, dict):
            raise GenerateError(f"{file}#/{'/'.join(parts)} is not a schema")
        self.blocks[name] = converted

    # -- output order --------------------------------------------------------------------------

    def sorted_types(self) -> dict[str, Schema]:
        def order(name: str) -> tuple[int, str]:
            number = re.match(r"DT-(\d+)", self.type_keys.get(name, ""))
            return (int(number.group(1)) if number else 9999, name)

        return {name: self.types[name] for name in sorted(self.types, key=order)}

    def sorted_blocks(self) -> dict[str, Schema]:
        blocks = {"S0": copy.deepcopy(S0_BLOCK), **self.blocks}
        return {name: blocks[name] for name in sorted(blocks, key=_block_order)}

    # -- plumbing ------------------------------------------------------------------------------

    def _resolve(self, ref: object, base: str) -> tuple[str, tuple[str, ...]]:
        try:
            return self.files.resolve(ref, base)
        except RefError as exc:
            raise GenerateError(f"{base}: {exc}") from None

    def _node(self, file: str, parts: tuple[str, ...]) -> dict[str, object]:
        try:
            node = self.files.node(file, parts)
        except RefError as exc:
            raise GenerateError(str(exc)) from None
        return _mapping(node, f"{file}#/{'/'.join(parts)}")


_BLOCK_GROUPS = ("S", "A", "D", "M", "R", "P", "B")


def _block_order(name: str) -> tuple[int, int, str]:
    """Common blocks first (S0, S1, S2, A0, D0, M0…), then custom blocks by number, then the rest."""
    short = re.fullmatch(r"([A-Z])(\d+)([A-Z]?)", name)
    if short and short.group(1) in _BLOCK_GROUPS:
        group = _BLOCK_GROUPS.index(short.group(1)) if len(short.group(2)) <= 2 else len(_BLOCK_GROUPS)
        return (group, int(short.group(2)), name)
    return (len(_BLOCK_GROUPS) + 1, 0, name)


def _type_names(files: SpecFiles, file: str) -> dict[str, str]:
    """The name of every data type of ``file``, chosen from the whole file (not the order of use)."""
    doc = files.doc(file)
    found = _dig(doc.data if doc is not None else None, "components", "schemas")
    schemas: dict[str, object] = found if isinstance(found, dict) else {}
    keys = [str(k) for k in schemas]
    groups: dict[str, list[str]] = {}
    for key in keys:
        match = _DATA_TYPE.match(key)
        groups.setdefault(match.group("name") if match else key, []).append(key)
    names: dict[str, str] = {}
    for base, members in groups.items():
        shapes = {json.dumps(_without_null(schemas[k]), sort_keys=True) for k in members}
        for key in members:
            nullable_variant = re.match(r"DT-\d+N-", key) is not None
            names[key] = f"{base}N" if len(shapes) > 1 and nullable_variant else base
    return names


def _without_null(node: object) -> object:
    """A data type's facts without its nullability and prose, to tell variants apart."""
    if not isinstance(node, dict):
        return node
    return {k: v for k, v in node.items() if k not in _DROPPED and k != "nullable" and not str(k).startswith("x-")}


def _share_identical(custom: dict[str, Schema]) -> None:
    """Event codes with the same custom block share one object (written once, with an anchor)."""
    seen: dict[str, Schema] = {}
    for code, schema in custom.items():
        key = json.dumps(schema, sort_keys=True)
        custom[code] = seen.setdefault(key, schema)


def _mapping(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise GenerateError(f"{where}: expected a mapping")
    return value


def _texts(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _dig(data: object, *path: str) -> object:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data
