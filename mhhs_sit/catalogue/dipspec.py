"""An official DIP API spec that the user supplies (``--dip-spec PATH``), used to validate messages.

The spec is Elexon's multi-file OpenAPI 3.0 YAML (``SubmitEvents-unresolved.yaml`` and the
modules it references). Loading it is offline (:mod:`.specfiles`), OpenAPI ``nullable`` is
honoured (:mod:`.openapi`) and field names are matched case-insensitively as the DIP does
(:mod:`.casefold`). Each ``IF-nnn-Payload`` is validated by event code (:mod:`.validation`).
The spec's own examples can be checked against its schemas with :meth:`DipSpec.lint_examples`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft4Validator

from mhhs_sit.catalogue.casefold import lookup
from mhhs_sit.catalogue.catalogue import normal_interface_id
from mhhs_sit.catalogue.model import MISSING_INTERFACE_ID, Violation
from mhhs_sit.catalogue.openapi import Inliner
from mhhs_sit.catalogue.specfiles import RefError, SpecFiles
from mhhs_sit.catalogue.validation import EventSchema, InterfaceValidator
from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, load_yaml
from mhhs_sit.errors import ConfigError, DefinitionError, Problem

_PAYLOAD = re.compile(r"^((?:IF|REP)-\d{3}[A-Z]?)-Payload$")
_EXAMPLE = re.compile(r"^((?:IF|REP)-\d{3}[A-Z]?)(?![0-9A-Z])", re.IGNORECASE)
MESSAGE_SCHEMA = ("components", "schemas", "DIPMessage", "properties", "payload", "oneOf")


@dataclass(frozen=True)
class SpecExample:
    """One example message of the spec: where it is written and which interface it claims."""

    name: str  # e.g. "IF-021", or "IF-021[1]" for the second message of a multi-message example
    interface_id: str
    payload: object
    file: str
    line: int


@dataclass(frozen=True)
class Finding:
    """An example that contradicts its own interface's schema."""

    example_name: str
    interface_id: str
    violations: tuple[Violation, ...]
    file: str = ""
    line: int = 0

    @property
    def location(self) -> str:
        return f"{Path(self.file).name}:{self.line}" if self.file else ""


class DipSpec:
    """A loaded official spec; build it with :func:`load_dip_spec`."""

    def __init__(self, files: SpecFiles, root: str):
        self._files = files
        self.root = root
        doc = files.doc(root)
        if doc is None:
            raise DefinitionError(files.problems)
        self.version = str(_dig(doc.data, ("info", "version")) or "unknown")
        self.title = str(_dig(doc.data, ("info", "title")) or "")
        inliner = Inliner(files)
        self._events: dict[str, list[EventSchema]] = {}
        for name, parts in self._payload_schemas(doc):
            match = _PAYLOAD.match(parts[-1]) if parts else None
            if match is None:
                continue
            self._events[match.group(1)] = self._branches(inliner, name, parts)
        problems = [*files.problems, *inliner.problems]
        if not self._events:
            problems.append(doc.problem(list(MESSAGE_SCHEMA), "no IF-nnn-Payload schemas found under this path"))
        if problems:
            raise DefinitionError(problems)
        self._validators: dict[str, InterfaceValidator] = {}
        self._lock = threading.Lock()

    @property
    def interface_ids(self) -> tuple[str, ...]:
        return tuple(self._events)

    def event_codes(self, interface_id: str) -> tuple[str, ...]:
        """The event codes (in brackets, as S0 carries them) the spec allows for an interface."""
        return tuple(dict.fromkeys(c for e in self._events[self._known(interface_id)] for c in e.codes))

    def event_schema(self, interface_id: str, event_code: str) -> dict[str, object]:
        """The schema for messages of one event code: the branch named after it, else the first that lists it."""
        iid = self._known(interface_id)
        wanted = f"[{event_code.strip('[]')}]"
        branches = [e for e in self._events[iid] if wanted in e.codes]
        if not branches:
            raise KeyError(f"{iid} has no event code {wanted} in DIP spec {self.version}")
        named = [e for e in branches if e.name == f"{iid}-{wanted.strip('[]')}"]
        return (named or branches)[0].schema

    def schema(self, interface_id: str) -> dict[str, object]:
        """The interface's payload schema, converted and self-contained (``oneOf`` event codes)."""
        events = self._events[self._known(interface_id)]
        return events[0].schema if len(events) == 1 else {"oneOf": [e.schema for e in events]}

    def validate(
        self, payload: object, interface_id: str | None = None, *, exact_names: bool = False
    ) -> list[Violation]:
        """Every way ``payload`` breaks the spec's schema for its interface and event code."""
        if interface_id is None:
            found = lookup(lookup(lookup(payload, "CommonBlock"), "S0"), "interfaceID")
            if not isinstance(found, str):
                return [MISSING_INTERFACE_ID]
            interface_id = found
        iid = normal_interface_id(interface_id)
        if iid not in self._events:
            return [
                Violation(
                    "/CommonBlock/S0/interfaceID",
                    "enum",
                    f"{interface_id} is not an interface of DIP spec {self.version}.",
                )
            ]
        return self._validator(iid).validate(payload, exact_names=exact_names)

    def examples(self) -> tuple[SpecExample, ...]:
        """Every example message in the spec (referenced by its paths or under components)."""
        found: dict[tuple[str, tuple[PathPart, ...]], str] = {}
        root = self._files.doc(self.root)
        assert root is not None
        for path, ref in _example_refs(root.data):
            try:
                name, parts = self._files.resolve(ref, self.root)
                self._files.node(name, parts)
            except RefError:
                continue
            found.setdefault((name, parts), str(path[-1]))
        for name, doc in list(self._files.loaded.items()):
            examples = _dig(doc.data, ("components", "examples"))
            if isinstance(examples, dict):
                for key in examples:
                    found.setdefault((name, ("components", "examples", key)), str(key))
        out: list[SpecExample] = []
        for (name, where), label in found.items():
            example_doc = self._files.doc(name)
            assert example_doc is not None
            out.extend(self._messages(example_doc, name, where, label))
        return tuple(sorted(out, key=lambda e: (e.file, e.line)))

    def lint_examples(self) -> list[Finding]:
        """Each example that contradicts its schema, with all its violations (names ignore case)."""
        findings = []
        for example in self.examples():
            violations = self.validate(example.payload, example.interface_id)
            if violations:
                findings.append(
                    Finding(
                        example.name,
                        example.interface_id,
                        tuple(violations),
                        example.file,
                        example.line,
                    )
                )
        return findings

    # -- internals ----------------------------------------------------------------------------

    def _known(self, interface_id: str) -> str:
        iid = normal_interface_id(interface_id)
        if iid not in self._events:
            raise KeyError(f"{interface_id} is not an interface of DIP spec {self.version}")
        return iid

    def _validator(self, iid: str) -> InterfaceValidator:
        validator = self._validators.get(iid)
        if validator is None:
            with self._lock:
                validator = self._validators.get(iid)
                if validator is None:
                    label = f"{iid} in DIP spec {self.version}"
                    validator = InterfaceValidator(label, self._events[iid], Draft4Validator)
                    self._validators[iid] = validator
        return validator

    def _payload_schemas(self, doc: YamlDoc) -> list[tuple[str, tuple[str, ...]]]:
        refs = _dig(doc.data, MESSAGE_SCHEMA)
        if not isinstance(refs, list):
            return []
        out = []
        for i, item in enumerate(refs):
            ref = item.get("$ref") if isinstance(item, dict) else None
            try:
                out.append(self._files.resolve(str(ref), self.root))
            except RefError as exc:
                self._files.problems.append(doc.problem([*MESSAGE_SCHEMA, i, "$ref"], str(exc)))
        return out

    def _branches(self, inliner: Inliner, name: str, parts: tuple[str, ...]) -> list[EventSchema]:
        """One schema per event-code branch of an ``IF-nnn-Payload`` (or the payload itself)."""
        try:
            node = self._files.node(name, parts)
        except RefError as exc:
            inliner.add(Problem(name, 0, 0, "", str(exc)))
            return []
        branches = node.get("oneOf") if isinstance(node, dict) else None
        out = []
        if isinstance(branches, list) and all(isinstance(b, dict) and "$ref" in b for b in branches):
            for i, branch in enumerate(branches):
                try:
                    target = self._files.resolve(branch["$ref"], name)
                except RefError as exc:
                    doc = self._files.doc(name)
                    if doc is not None:
                        inliner.add(doc.problem([*parts, "oneOf", i, "$ref"], str(exc)))
                    continue
                out.append(_event_schema(inliner.schema(*target), target[1][-1]))
        else:
            out.append(_event_schema(inliner.schema(name, parts), parts[-1]))
        return out

    def _messages(self, doc: YamlDoc, name: str, parts: tuple[PathPart, ...], label: str) -> list[SpecExample]:
        value = _dig(doc.data, (*parts, "value"))
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            payload = lookup(item, "payload") if lookup(item, "payload") is not None else item
            iid = _example_interface(label, payload)
            if iid is None or iid not in self._events:
                continue
            where = [*parts, "value", i] if isinstance(value, list) else [*parts, "value"]
            line, _ = doc.position(where)
            shown = f"{label}[{i}]" if isinstance(value, list) and len(value) > 1 else label
            out.append(SpecExample(shown, iid, payload, doc.file, line))
        return out


def _example_interface(label: str, payload: object) -> str | None:
    """The interface an example is of: its name says so, else its S0.interfaceID."""
    match = _EXAMPLE.match(label)
    if match:
        return normal_interface_id(match.group(1))
    claimed = lookup(lookup(lookup(payload, "CommonBlock"), "S0"), "interfaceID")
    return normal_interface_id(claimed) if isinstance(claimed, str) else None


def load_dip_spec(path: str | Path) -> DipSpec:
    """The DIP spec at ``path``: a directory of its YAML modules, or its SubmitEvents file.

    Loaded once per path and file modification times (so an edited spec is reloaded).
    """
    given = Path(path)
    if not given.exists():
        raise ConfigError(f"--dip-spec {path}: no such file or directory")
    directory, root = (given.parent, given.name) if given.is_file() else (given, _root_file(given))
    stamps = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(directory.rglob("*.yaml")))
    return _load(directory.resolve(), root, stamps)


@lru_cache(maxsize=4)
def _load(directory: Path, root: str, stamps: tuple[tuple[str, int], ...]) -> DipSpec:
    return DipSpec(SpecFiles(directory), root)


def _root_file(directory: Path) -> str:
    """The spec's root file: the one redocly.yaml names, else SubmitEvents*.yaml."""
    redocly = directory / "redocly.yaml"
    if redocly.is_file():
        apis = _dig(load_yaml(redocly).data, ("apis",))
        if isinstance(apis, dict):
            for api in apis.values():
                root = api.get("root") if isinstance(api, dict) else None
                if isinstance(root, str) and (directory / root).is_file():
                    return root
    candidates = sorted(p.name for p in directory.glob("SubmitEvents*.yaml"))
    if not candidates:
        raise ConfigError(
            f"--dip-spec {directory}: no SubmitEvents*.yaml here; give the directory holding the "
            "DIP spec's YAML modules or the SubmitEvents file itself"
        )
    return candidates[0]


def _event_schema(schema: object, name: str) -> EventSchema:
    codes = _dig(schema, ("properties", "CommonBlock", "properties", "S0", "properties", "eventCode", "enum"))
    codes = tuple(c for c in codes if isinstance(c, str)) if isinstance(codes, list) else ()
    return EventSchema(codes, schema if isinstance(schema, dict) else {}, name)


def _dig(data: object, path: tuple[PathPart, ...]) -> object:
    """The value at ``path`` in a parsed document; None where the path leads nowhere."""
    for part in path:
        if isinstance(data, dict):
            if part not in data:
                return None
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _example_refs(data: object, path: tuple[PathPart, ...] = ()) -> list[tuple[tuple[PathPart, ...], str]]:
    """``(path, $ref)`` of every entry of every ``examples`` mapping in the document."""
    out: list[tuple[tuple[PathPart, ...], str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "examples" and isinstance(value, dict):
                for name, example in value.items():
                    if isinstance(example, dict) and isinstance(example.get("$ref"), str):
                        out.append(((*path, key, name), example["$ref"]))
            else:
                out.extend(_example_refs(value, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.extend(_example_refs(value, (*path, i)))
    return out
