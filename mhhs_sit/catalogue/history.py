"""How the catalogue changed from version to version, and rebuilding any version from the newest.

The data files describe the newest version. ``versions.yaml`` lists, for each later version, the
changes it made relative to the one before (a changelog, each entry marked published or
modelled). Older versions are materialised by undoing those changes newest-first, so a change
is written once and both ``validate`` and ``diff`` see it.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

from mhhs_sit.catalogue.schemastore import SchemaLocationError, SchemaStore

MISSING: object = object()  # a change's ``before``/``after`` when its entry gives none

# op -> the keys it needs besides op/source/reference/why
OP_KEYS: dict[str, tuple[str, ...]] = {
    "add-field": ("at", "field"),
    "remove-field": ("at", "field", "schema"),
    "rename-field": ("at", "from", "to"),
    "set": ("at", "keyword", "after"),
    "add-event": ("interface", "event"),
    "remove-event": ("interface", "event"),
    "add-interface": ("interface",),
}


class UndoError(ValueError):
    """A recorded change does not fit the schemas it is said to change."""


@dataclass(frozen=True)
class ChangeOp:
    """One recorded change, introduced by ``version`` relative to the version before it."""

    version: str
    op: str
    source: str
    reference: str
    why: str = ""
    at: str = ""
    field: str = ""  # add-field / remove-field: the field; rename-field: the old name
    to: str = ""  # rename-field: the new name
    keyword: str = ""
    before: object = dataclasses.field(default=MISSING, compare=False)
    after: object = dataclasses.field(default=MISSING, compare=False)
    required: bool = False
    schema: object = dataclasses.field(default=None, compare=False)
    interface: str = ""
    event: str = ""
    yaml_path: tuple[str | int, ...] = dataclasses.field(default=(), compare=False, repr=False)

    @property
    def has_before(self) -> bool:
        return self.before is not MISSING

    def note(self) -> str:
        """``(DIN-988, published)``-style attribution for descriptions."""
        bits = [self.reference] if self.reference else []
        if self.source and self.source not in self.reference:
            bits.append(self.source)
        return f" ({'; '.join(bits)})" if bits else ""


@dataclass
class VersionState:
    """Everything that differs between versions: schemas, event codes, which interfaces exist."""

    store: SchemaStore
    events: dict[str, list[str]]  # interface id -> event codes (no brackets)
    interfaces: list[str]

    def copy(self) -> VersionState:
        return VersionState(self.store.copy(), copy.deepcopy(self.events), list(self.interfaces))


def undo(state: VersionState, op: ChangeOp) -> None:
    """Turn ``state`` (the version ``op`` belongs to) into the version before it, in place."""
    try:
        if op.at:
            state.store.own(op.at)
        _UNDO[op.op](state, op)
    except SchemaLocationError as exc:
        raise UndoError(f"'at: {exc.args[0]}' names no schema in the catalogue") from None


def _object(state: VersionState, op: ChangeOp) -> tuple[dict[str, object], dict[str, object]]:
    """The object schema ``op`` changes, and its properties."""
    target = state.store.locate(op.at)
    if not isinstance(target, dict) or not isinstance(target.get("properties"), dict):
        raise UndoError(f"'at: {op.at}' is not an object schema with properties")
    return target, target["properties"]


def _required(target: dict[str, object]) -> list[object]:
    """The object's required fields (none when it lists none)."""
    required = target.get("required", [])
    return required if isinstance(required, list) else []


def _undo_add_field(state: VersionState, op: ChangeOp) -> None:
    target, props = _object(state, op)
    if op.field not in props:
        raise UndoError(f"{op.at} has no field {op.field!r} for this version to have added")
    del props[op.field]
    if op.field in _required(target):
        target["required"] = [r for r in _required(target) if r != op.field]


def _undo_remove_field(state: VersionState, op: ChangeOp) -> None:
    target, props = _object(state, op)
    if op.field in props:
        raise UndoError(f"{op.at} still has field {op.field!r}, which this version removed")
    props[op.field] = copy.deepcopy(op.schema)
    if op.required:
        target["required"] = [*_required(target), op.field]


def _undo_rename_field(state: VersionState, op: ChangeOp) -> None:
    target, props = _object(state, op)
    if op.to not in props or op.field in props:
        raise UndoError(f"{op.at} must have {op.to!r} and not {op.field!r} for this rename")
    target["properties"] = {(op.field if k == op.to else k): v for k, v in props.items()}
    if "required" in target:
        target["required"] = [op.field if r == op.to else r for r in _required(target)]


def _undo_set(state: VersionState, op: ChangeOp) -> None:
    target = state.store.locate(op.at)
    if not isinstance(target, dict):
        raise UndoError(f"'at: {op.at}' is not a schema object")
    if target.get(op.keyword, MISSING) != op.after:
        raise UndoError(
            f"{op.at} has {op.keyword} = {target.get(op.keyword, '(absent)')!r}, "
            f"not the {op.after!r} this version is said to set"
        )
    if op.has_before:
        target[op.keyword] = copy.deepcopy(op.before)
    else:
        del target[op.keyword]


def _codes(state: VersionState, op: ChangeOp) -> list[str]:
    if op.interface not in state.events:
        raise UndoError(f"{op.interface} is not an interface of this version")
    return state.events[op.interface]


def _undo_add_event(state: VersionState, op: ChangeOp) -> None:
    codes = _codes(state, op)
    if op.event not in codes:
        raise UndoError(f"{op.interface} has no event code {op.event!r} to have been added")
    codes.remove(op.event)


def _undo_remove_event(state: VersionState, op: ChangeOp) -> None:
    codes = _codes(state, op)
    if op.event in codes:
        raise UndoError(f"{op.interface} still has event code {op.event!r}")
    codes.append(op.event)
    if op.schema is not None:
        state.store.custom.setdefault(op.interface, {})[op.event] = copy.deepcopy(op.schema)


def _undo_add_interface(state: VersionState, op: ChangeOp) -> None:
    if op.interface not in state.interfaces:
        raise UndoError(f"{op.interface} is not an interface of this version")
    state.interfaces.remove(op.interface)
    del state.events[op.interface]


_UNDO = {
    "add-field": _undo_add_field,
    "remove-field": _undo_remove_field,
    "rename-field": _undo_rename_field,
    "set": _undo_set,
    "add-event": _undo_add_event,
    "remove-event": _undo_remove_event,
    "add-interface": _undo_add_interface,
}
