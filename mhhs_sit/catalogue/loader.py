"""Reading the catalogue's YAML files into a :class:`Catalogue`, checking them on the way.

Everything wrong in the files is collected and raised at once as a DefinitionError whose
problems carry file, line and column: a malformed YAML file, an unknown key, a role code or
block that does not exist, a schema that breaks the JSON Schema meta-schema, a ``$ref`` to
nothing, or a recorded version change that does not fit the schemas it claims to change.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from mhhs_sit.catalogue.assemble import Entry, envelope, public_interfaces, source_of
from mhhs_sit.catalogue.catalogue import Catalogue
from mhhs_sit.catalogue.data import DATA_DIR
from mhhs_sit.catalogue.history import MISSING, OP_KEYS, ChangeOp, UndoError, VersionState, undo
from mhhs_sit.catalogue.messagesfile import InterfaceMessages, read_messages
from mhhs_sit.catalogue.model import Role, Version
from mhhs_sit.catalogue.parsecache import load_cached
from mhhs_sit.catalogue.schemacheck import check_schema
from mhhs_sit.catalogue.schemastore import REF_SIBLINGS, SchemaStore, ref_holders, ref_location
from mhhs_sit.catalogue.versions import VersionTable
from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, load_yaml
from mhhs_sit.errors import DefinitionError, Problem

MAIN_FILES = ("versions", "roles", "interfaces", "types", "blocks", "messages")
INTERFACE_ID = re.compile(r"^(IF-\d{3}|REP-\d{3}[A-Z]?)$")
EVENT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
SOURCES = ("published", "modelled")
ROUTINGS = ("role", "mpan", "always")
INTERFACE_KEYS = (
    "name",
    "catalogue_name",
    "process",
    "senders",
    "recipients",
    "always",
    "routing",
    "events",
    "common",
    "optional",
    "custom_block",
    "detail",
    "schema_version",
    "source",
    "notes",
)
VERSION_KEYS = ("name", "aliases", "released", "source", "summary", "changes")
OP_COMMON_KEYS = ("op", "source", "reference", "why")


@cache
def load_catalogue() -> Catalogue:
    """The project's own catalogue (loaded once per process)."""
    return load_directory(DATA_DIR)


def load_directory(directory: Path) -> Catalogue:
    """The catalogue in ``directory``; a DefinitionError listing every problem otherwise."""
    reader = _Reader(Path(directory))
    catalogue = reader.read()
    if reader.problems:
        raise DefinitionError(reader.problems)
    assert catalogue is not None
    return catalogue


@dataclass
class _Files:
    """The catalogue's files that could be read: the main ones and each interface's custom blocks."""

    versions: YamlDoc
    roles: YamlDoc
    interfaces: YamlDoc
    types: YamlDoc
    blocks: YamlDoc
    messages: YamlDoc
    custom: dict[str, YamlDoc]  # interface id -> its custom blocks per event code
    custom_ids: set[str]  # every interface with a custom file, readable or not


@dataclass
class _Reader:
    directory: Path
    problems: list[Problem] = field(default_factory=list)

    # -- plumbing -----------------------------------------------------------------------------

    def _load(self, name: str) -> YamlDoc | None:
        path = self.directory / name
        if not path.is_file():
            self.problems.append(Problem(str(path), 0, 0, "", "file is missing"))
            return None
        doc = load_cached(path) if self.directory == DATA_DIR else load_yaml(path)
        self.problems.extend(doc.problems)
        if doc.data is None and not doc.problems:
            self.problems.append(Problem(str(path), 0, 0, "", "the file is empty"))
        return doc if doc.data is not None and not doc.problems else None

    def _report(self, doc: YamlDoc, path: Sequence[PathPart], message: str, *, key: bool = False) -> None:
        self.problems.append(doc.problem(path, message, key=key))

    def _mapping(self, doc: YamlDoc, path: Sequence[PathPart], value: object, what: str) -> dict[str, object]:
        if isinstance(value, dict):
            return value
        self._report(doc, path, f"{what} must be a mapping, not {_kind(value)}")
        return {}

    def _text(self, doc: YamlDoc, path: Sequence[PathPart], value: object, what: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        hint = " (quote it, e.g. '1.8')" if isinstance(value, int | float) else ""
        self._report(doc, path, f"{what} must be a non-empty string, not {_kind(value)}{hint}")
        return None

    def _texts(self, doc: YamlDoc, path: Sequence[PathPart], value: object, what: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self._report(doc, path, f"{what} must be a list of strings")
            return []
        return value

    def _unknown_keys(
        self,
        doc: YamlDoc,
        path: Sequence[PathPart],
        mapping: dict[str, object],
        allowed: Iterable[str],
    ) -> None:
        allowed = list(allowed)
        for key in mapping:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"; did you mean {close[0]}?" if close else f"; allowed: {', '.join(allowed)}"
                self._report(doc, [*path, key], f"unknown key {key!r}{hint}", key=True)

    # -- the files ------------------------------------------------------------------------------

    def read(self) -> Catalogue | None:
        files = self._files()
        if files is None:
            return None
        roles = self._roles(files.roles)
        versions, default, ops = self._versions(files.versions)
        store = self._schemas(files)
        messages = read_messages(
            files.messages, set(store.blocks), lambda at, text: self._report(files.messages, at, text)
        )
        entries = self._interfaces(files.interfaces, roles, set(store.blocks), files.custom_ids, messages)
        if self.problems or not versions:
            return None
        states = self._materialise(files.versions, versions, ops, store, entries)
        if self.problems:
            return None
        self._check_custom_events(entries, states, files.custom, files.interfaces)
        if self.problems:
            return None
        table = VersionTable(tuple(versions), default)
        return Catalogue(
            table=table,
            roles=roles,
            interfaces=public_interfaces(entries, states, table),
            states=states,
            envelopes={e.id: envelope(e) for e in entries},
            ops=tuple(ops),
            directory=self.directory,
        )

    def _files(self) -> _Files | None:
        """Every file parsed (so that all their problems are reported); None if a main one is unusable."""
        loaded = [self._load(f"{name}.yaml") for name in MAIN_FILES]
        custom_files = [p for p in sorted(self.directory.glob("*.yaml")) if INTERFACE_ID.match(p.stem)]
        custom_docs = {p.stem: doc for p in custom_files if (doc := self._load(p.name)) is not None}
        main = [doc for doc in loaded if doc is not None]
        if len(main) < len(loaded):
            return None
        versions, roles, interfaces, types, blocks, messages = main
        return _Files(versions, roles, interfaces, types, blocks, messages, custom_docs, {p.stem for p in custom_files})

    def _schemas(self, files: _Files) -> SchemaStore:
        """The schema fragments of every namespace, each checked, and their references checked."""
        types = self._fragments(files.types, "types")
        blocks = self._fragments(files.blocks, "blocks")
        custom = {iid: self._fragments(doc, f"custom/{iid}") for iid, doc in files.custom.items()}
        names: dict[str, set[str]] = {"types": set(types), "blocks": set(blocks), "custom": set()}
        for doc, namespace in (
            (files.types, "types"),
            (files.blocks, "blocks"),
            *((d, "custom") for d in files.custom.values()),
        ):
            self._check_refs(doc, names, namespace)
        return SchemaStore(types, blocks, custom)

    def _roles(self, doc: YamlDoc) -> dict[str, Role]:
        roles: dict[str, Role] = {}
        for code, value in self._mapping(doc, [], doc.data, "roles.yaml").items():
            entry = self._mapping(doc, [code], value, f"role {code}")
            self._unknown_keys(doc, [code], entry, ("name", "evidence"))
            if not re.fullmatch(r"[A-Z]{3,5}", str(code)):
                self._report(doc, [code], f"role code {code!r} must be 3 to 5 capital letters", key=True)
            evidence = entry.get("evidence")
            if evidence not in ("published", "third-party", "modelled"):
                self._report(doc, [code, "evidence"], "evidence must be published, third-party or modelled")
            roles[str(code)] = Role(str(code), str(entry.get("name", code)), str(evidence))
        return roles

    def _versions(self, doc: YamlDoc) -> tuple[list[Version], str, list[ChangeOp]]:
        top = self._mapping(doc, [], doc.data, "versions.yaml")
        self._unknown_keys(doc, [], top, ("default", "versions"))
        raw = top.get("versions")
        if not isinstance(raw, list) or not raw:
            self._report(doc, ["versions"], "versions must be a non-empty list, oldest first")
            return [], "", []
        versions: list[Version] = []
        ops: list[ChangeOp] = []
        seen: dict[str, str] = {}
        for i, item in enumerate(raw):
            path: list[PathPart] = ["versions", i]
            entry = self._mapping(doc, path, item, "a version")
            version = self._version(doc, path, entry, seen)
            if version is not None:
                versions.append(version)
                ops.extend(self._changes(doc, path, entry.get("changes", []), version.name, oldest=i == 0))
        default = top.get("default", versions[-1].name if versions else "")
        if versions and default not in [v.name for v in versions]:
            self._report(
                doc,
                ["default"],
                f"default {default!r} is not one of the versions ({', '.join(v.name for v in versions)})",
            )
        return versions, str(default), ops

    def _version(
        self, doc: YamlDoc, path: list[PathPart], entry: dict[str, object], seen: dict[str, str]
    ) -> Version | None:
        """One entry of ``versions``; ``seen`` maps every name and alias so far (lower case) to its version."""
        self._unknown_keys(doc, path, entry, VERSION_KEYS)
        name = self._text(doc, [*path, "name"], entry.get("name"), "the version name")
        aliases = self._texts(doc, [*path, "aliases"], entry.get("aliases", []), "aliases")
        source = entry.get("source")
        if source not in SOURCES:
            self._report(doc, [*path, "source"], "source must be published or modelled")
        if name is None:
            return None
        for label in (name, *aliases):
            if label.lower() in seen:
                self._report(doc, [*path, "name"], f"{label!r} already names version {seen[label.lower()]}")
            seen[label.lower()] = name
        summary = " ".join(str(entry.get("summary", "")).split())
        return Version(name, tuple(aliases), str(entry.get("released", "")), source_of(source), summary)

    def _changes(
        self, doc: YamlDoc, path: list[PathPart], changes: object, version: str, *, oldest: bool
    ) -> list[ChangeOp]:
        """The changes a version lists (the oldest can list none)."""
        if oldest and changes:
            self._report(
                doc,
                [*path, "changes"],
                "the oldest version cannot list changes (there is nothing before it)",
            )
        if not isinstance(changes, list):
            self._report(doc, [*path, "changes"], "changes must be a list")
            return []
        parsed = (self._op(doc, [*path, "changes", j], op, version) for j, op in enumerate(changes))
        return [op for op in parsed if op is not None]

    def _op(self, doc: YamlDoc, path: list[PathPart], raw: object, version: str) -> ChangeOp | None:
        entry = self._mapping(doc, path, raw, "a change")
        kind = entry.get("op")
        if not isinstance(kind, str) or kind not in OP_KEYS:
            self._report(doc, [*path, "op"], f"op must be one of {', '.join(OP_KEYS)}, not {kind!r}")
            return None
        if not self._op_complete(doc, path, entry, kind):
            return None
        return _change_op(entry, kind, version, path)

    def _op_complete(self, doc: YamlDoc, path: list[PathPart], entry: dict[str, object], kind: str) -> bool:
        """Report the change's unknown, missing or wrong keys; whether it has every key it needs."""
        optional = {"before", "required"} if kind in ("set", "add-field", "remove-field") else set()
        if kind == "remove-event":
            optional = {"schema"}  # the custom block the withdrawn event code had
        self._unknown_keys(doc, path, entry, (*OP_COMMON_KEYS, *OP_KEYS[kind], *optional))
        missing = [k for k in (*OP_KEYS[kind], "source", "reference") if k not in entry]
        for key in missing:
            self._report(doc, path, f"a {kind} change needs {key!r}")
        if entry.get("source") not in (*SOURCES, None):
            self._report(doc, [*path, "source"], "source must be published or modelled")
        return not missing

    def _fragments(self, doc: YamlDoc, namespace: str) -> dict[str, object]:
        """Schemas by name, each checked against the vocabulary the catalogue may use."""
        fragments = self._mapping(doc, [], doc.data, doc.file)
        for name, schema in fragments.items():
            if not isinstance(schema, dict):
                self._report(
                    doc,
                    [name],
                    f"{namespace}/{name} must be a schema (a mapping), not {_kind(schema)}",
                )
                continue
            for where, message in check_schema(schema, (name,)):
                self._report(doc, list(where), f"{namespace}/{name}: {message}")
        return fragments

    def _check_refs(self, doc: YamlDoc, names: dict[str, set[str]], namespace: str) -> None:
        for path, holder in ref_holders(doc.data):
            ref = holder["$ref"]
            try:
                location = ref_location(ref)
            except ValueError as exc:
                self._report(doc, [*path, "$ref"], str(exc))
                continue
            space, _, name = location.partition("/")
            if name not in names.get(space, set()):
                close = difflib.get_close_matches(name, sorted(names.get(space, ())), n=1)
                hint = f"; did you mean #/{space}/{close[0]}?" if close else ""
                self._report(doc, [*path, "$ref"], f"$ref {ref!r} names no schema{hint}")
            for key in holder:
                if key != "$ref" and key not in REF_SIBLINGS and not str(key).startswith("x-"):
                    self._report(
                        doc,
                        [*path, key],
                        f"{key!r} cannot stand beside $ref (only "
                        f"{', '.join(sorted(REF_SIBLINGS))} and x-* annotations can)",
                        key=True,
                    )

    def _interfaces(
        self,
        doc: YamlDoc,
        roles: dict[str, Role],
        blocks: set[str],
        custom_files: set[str],
        messages: dict[str, InterfaceMessages],
    ) -> list[Entry]:
        top = self._mapping(doc, [], doc.data, "interfaces.yaml")
        self._unknown_keys(doc, [], top, ("defaults", "interfaces"))
        defaults = self._mapping(doc, ["defaults"], top.get("defaults", {}), "defaults")
        self._unknown_keys(doc, ["defaults"], defaults, INTERFACE_KEYS)
        entries: list[Entry] = []
        for iid, raw in self._mapping(doc, ["interfaces"], top.get("interfaces"), "interfaces").items():
            path: tuple[PathPart, ...] = ("interfaces", iid)
            entry = self._mapping(doc, path, raw, f"interface {iid}")
            self._unknown_keys(doc, path, entry, INTERFACE_KEYS)
            found = messages.get(str(iid))
            values = {**defaults, **entry, **(found.values() if found else {})}
            if not INTERFACE_ID.match(str(iid)):
                self._report(doc, path, f"interface id {iid!r} must look like IF-031 or REP-002A", key=True)
            self._check_interface(doc, path, str(iid), values, roles, blocks, custom_files)
            entries.append(Entry(str(iid), values, path, found.events if found else {}))
        for iid in sorted(set(messages) - {e.id for e in entries}):
            self.problems.append(Problem(doc.file, 0, 0, "", f"messages.yaml lists {iid}, which interfaces.yaml lacks"))
        return entries

    def _check_interface(
        self,
        doc: YamlDoc,
        path: tuple[PathPart, ...],
        iid: str,
        values: dict[str, object],
        roles: dict[str, Role],
        blocks: set[str],
        custom_files: set[str],
    ) -> None:
        for key in ("name", "catalogue_name", "process", "schema_version"):
            self._text(doc, [*path, key], values.get(key), key)
        self._check_parties(doc, path, iid, values, roles)
        self._check_routing(doc, path, values)
        self._check_blocks(doc, path, values, blocks)
        self._check_events(doc, path, values)
        self._check_detail(doc, path, iid, values, custom_files)

    def _check_parties(
        self, doc: YamlDoc, path: tuple[PathPart, ...], iid: str, values: dict[str, object], roles: dict[str, Role]
    ) -> None:
        """Senders, recipients and fixed recipients: known role codes, and some of each."""
        for key in ("senders", "recipients", "always"):
            for i, code in enumerate(self._texts(doc, [*path, key], values.get(key, []), key)):
                if code not in roles:
                    close = difflib.get_close_matches(code, list(roles), n=1)
                    hint = f"; did you mean {close[0]}?" if close else ""
                    self._report(
                        doc,
                        [*path, key, i],
                        f"unknown role code {code!r}{hint} (roles.yaml lists the known ones)",
                    )
        if not values.get("senders") or not values.get("recipients"):
            self._report(doc, path, f"{iid} needs senders and recipients")

    def _check_routing(self, doc: YamlDoc, path: tuple[PathPart, ...], values: dict[str, object]) -> None:
        routing = self._texts(doc, [*path, "routing"], values.get("routing", []), "routing")
        if not routing or any(r not in ROUTINGS for r in routing):
            self._report(doc, [*path, "routing"], f"routing must list some of {', '.join(ROUTINGS)}")
        if bool(values.get("always")) != ("always" in routing):
            self._report(
                doc,
                [*path, "routing"],
                "routing includes 'always' exactly when `always` lists roles",
            )
        if not _members(values.get("always", [])) <= _members(values.get("recipients", [])):
            self._report(doc, [*path, "always"], "`always` roles must also be recipients")

    def _check_blocks(
        self, doc: YamlDoc, path: tuple[PathPart, ...], values: dict[str, object], blocks: set[str]
    ) -> None:
        for key in ("common", "optional"):
            for i, block in enumerate(self._texts(doc, [*path, key], values.get(key, []), key)):
                if block not in blocks or block == "S0":
                    self._report(
                        doc,
                        [*path, key, i],
                        f"{block!r} is not a common block in blocks.yaml (S0 is implied)",
                    )

    def _check_events(self, doc: YamlDoc, path: tuple[PathPart, ...], values: dict[str, object]) -> None:
        events = self._texts(doc, [*path, "events"], values.get("events"), "events")
        for i, code in enumerate(events):
            if not EVENT_CODE.match(code):
                self._report(
                    doc,
                    [*path, "events", i],
                    f"event code {code!r} must be written without brackets, like DSApp",
                )

    def _check_detail(
        self, doc: YamlDoc, path: tuple[PathPart, ...], iid: str, values: dict[str, object], custom_files: set[str]
    ) -> None:
        """The custom block, the evidence and the detail (a full detail's custom blocks are checked later)."""
        if values.get("custom_block") not in ("required", "optional", "none"):
            self._report(doc, [*path, "custom_block"], "custom_block must be required, optional or none")
        if values.get("source") not in SOURCES:
            self._report(doc, [*path, "source"], "source must be published or modelled")
        detail = values.get("detail")
        if detail not in ("full", "envelope-only"):
            self._report(doc, [*path, "detail"], "detail must be full or envelope-only")
        elif detail == "envelope-only" and iid in custom_files:
            self._report(doc, [*path, "detail"], f"{iid} has {iid}.yaml, so its detail should be full")

    def _materialise(
        self,
        doc: YamlDoc,
        versions: list[Version],
        ops: list[ChangeOp],
        store: SchemaStore,
        entries: list[Entry],
    ) -> dict[str, VersionState]:
        """Each version's state, the newest from the files and older ones by undoing changes."""
        newest = VersionState(store, {e.id: list(e.codes("events")) for e in entries}, [e.id for e in entries])
        states = {versions[-1].name: newest}
        state = newest
        for version in reversed(versions[1:]):
            state = state.copy()
            self._undo_version(doc, state, [o for o in ops if o.version == version.name])
            states[_previous(versions, version.name)] = state
        return {v.name: states[v.name] for v in versions}

    def _undo_version(self, doc: YamlDoc, state: VersionState, ops: list[ChangeOp]) -> None:
        """Turn ``state`` into the version before the one ``ops`` came with, newest change first."""
        for op in reversed(ops):
            if op.op == "add-interface" and op.interface not in state.events:
                self._report(doc, op.yaml_path, f"{op.interface} is not in interfaces.yaml")
                continue
            try:
                undo(state, op)
            except UndoError as exc:
                self._report(doc, op.yaml_path, f"this change does not fit the catalogue: {exc}")

    def _check_custom_events(
        self,
        entries: list[Entry],
        states: dict[str, VersionState],
        custom_docs: dict[str, YamlDoc],
        interfaces: YamlDoc,
    ) -> None:
        """A full interface has a custom block for each event code that carries one, in every version."""
        for entry in entries:
            doc = custom_docs.get(entry.id)
            spec = envelope(entry)
            if spec.detail != "full":
                continue
            missing: set[str] = set()
            for state in states.values():
                held = state.store.custom.get(entry.id, {})
                missing.update(c for c in state.events.get(entry.id, []) if spec.has_custom_block(c) and c not in held)
            for code in sorted(missing):
                if doc is None:
                    self._report(
                        interfaces,
                        [*entry.path, "detail"],
                        f"{entry.id} needs {entry.id}.yaml with "
                        f"its custom block per event code (it has none for {code})",
                    )
                else:
                    self._report(doc, [], f"{entry.id}.yaml has no custom block for event code {code}")
            wanted = {
                c for state in states.values() for c in state.events.get(entry.id, []) if spec.has_custom_block(c)
            }
            if doc is None:
                continue
            for code in sorted(set(doc.data) - wanted):
                self._report(doc, [code], f"{code} is not an event code of {entry.id} with a custom block in any "
                             "version", key=True)  # fmt: skip


def _members(value: object) -> set[object]:
    """The items of a list the file gives (nothing for a scalar, which is reported elsewhere)."""
    return set(value) if isinstance(value, Iterable) else set()


def _change_op(entry: dict[str, object], kind: str, version: str, path: list[PathPart]) -> ChangeOp:
    """The change an entry of ``changes`` records (its keys already checked)."""

    def text(key: str) -> str:
        return str(entry[key]) if key in entry else ""

    return ChangeOp(
        version=version,
        op=kind,
        source=str(entry["source"]),
        reference=str(entry["reference"]),
        why=str(entry.get("why", "")),
        at=text("at"),
        field=text("from") if "from" in entry else text("field"),
        to=text("to"),
        keyword=text("keyword"),
        before=entry.get("before", MISSING),
        after=entry.get("after", MISSING),
        required=bool(entry.get("required", False)),
        schema=entry.get("schema"),
        interface=text("interface"),
        event=text("event"),
        yaml_path=tuple(path),
    )


def _previous(versions: list[Version], name: str) -> str:
    names = [v.name for v in versions]
    return names[names.index(name) - 1]


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(type(value), type(value).__name__)
