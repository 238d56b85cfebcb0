"""The simulator's configuration as a JSON file, for a simulator in another process or a container.

The (de)serialisation is cattrs, driven by the dataclass fields and their type hints, so fields
that are added to ``SimulatorConfig`` or the dataclasses inside it (credentials, TLS, delivery
policy, faults) round-trip with no change here. Only what JSON lacks is taught to it here: bytes,
paths, dates, durations and sets, the strictness of a file written by a program (no "4" for 4), and
errors that name the file and the field. The file may hold secrets (API keys, private keys): it is
written with mode 0600 into a per-run directory, never into the repository.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import json
import os
import types
import typing
from collections.abc import Callable, Mapping, MutableSet, Sequence, Set
from pathlib import Path, PurePath
from typing import Any, TypeVar

import cattrs
from cattrs.cols import is_mapping, list_structure_factory, mapping_structure_factory
from cattrs.errors import (
    CattrsError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
    StructureHandlerNotFoundError,
)
from cattrs.gen import make_dict_structure_fn, override

from mhhs_sit.errors import ConfigError
from mhhs_stubs.config import SimulatorConfig

FORMAT = "mhhs-stubs-config/1"
# What a standalone simulator prints once it accepts connections, followed by its base URL.
READY = "MHHS_STUBS_READY"

_BYTES = "$bytes"  # {"$bytes": "<base64>"}: key material, certificates

T = TypeVar("T")
# cattrs' own hook signature: a hook is handed whatever the file holds and the type hint wanted.
StructureHook = Callable[[Any, Any], object]


# --- writing ---------------------------------------------------------------------------------


class _Unwritable(Exception):
    """A value JSON cannot hold; ``path`` grows as the error passes up through its containers."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind
        self.path = ""


def _refuse(value: object) -> object:
    raise _Unwritable(type(value).__name__)


# Values are written by their runtime type, as cattrs does when it is given no type: a participant
# given as a subclass keeps its added fields. Anything with no writer below is refused, not passed on.
_writer = cattrs.Converter(unstructure_fallback_factory=lambda _: _refuse)


def _write_within(part: str, value: object) -> object:
    """``value`` written, with ``part`` (``.field``, ``[key]``) added to the path of an error."""
    try:
        return _writer.unstructure(value)
    except _Unwritable as exc:
        exc.path = part + exc.path
        raise


def _write_dataclass_factory(cls: type) -> Callable[[object], dict[str, object]]:
    """The init fields; runtime state (keys made this run, ``metadata={"runtime": True}``) stays in memory."""
    names = [f.name for f in dataclasses.fields(cls) if f.init and not f.metadata.get("runtime")]

    def write(value: object) -> dict[str, object]:
        return {name: _write_within(f".{name}", getattr(value, name)) for name in names}

    return write


def _write_mapping(value: Mapping[object, object]) -> dict[str, object]:
    return {str(k): _write_within(f"[{k!r}]", v) for k, v in value.items()}


def _write_set(value: Set[object]) -> list[object]:
    return sorted((_write_within("[]", v) for v in value), key=json.dumps)  # stable file contents


def _write_sequence(value: Sequence[object]) -> list[object]:
    return [_write_within(f"[{i}]", v) for i, v in enumerate(value)]


def _write_scalar(value: object) -> object:
    """JSON's own values as they are; an enum (also one that is a str or int) as its value."""
    return _writer.unstructure(value.value) if isinstance(value, enum.Enum) else value


def _write_bytes(value: bytes | bytearray) -> dict[str, str]:
    return {_BYTES: base64.b64encode(value).decode("ascii")}


def _write_iso(value: dt.date | dt.time) -> str:
    return value.isoformat()


def _write_seconds(value: dt.timedelta) -> float:
    return value.total_seconds()


_WRITERS: list[tuple[type, Callable[[Any], object]]] = [
    *((kind, _write_scalar) for kind in (type(None), bool, int, float, str, enum.Enum)),
    (bytes, _write_bytes),
    (bytearray, _write_bytes),
    (PurePath, str),
    (dt.date, _write_iso),  # and datetime
    (dt.time, _write_iso),
    (dt.timedelta, _write_seconds),
    (Mapping, _write_mapping),
    (set, _write_set),
    (frozenset, _write_set),
    (list, _write_sequence),
    (tuple, _write_sequence),
]
for _kind, _write in _WRITERS:
    _writer.register_unstructure_hook(_kind, _write)
_writer.register_unstructure_hook_factory(dataclasses.is_dataclass, _write_dataclass_factory)


# Any: the caller (mhhs-sit stubs credentials) reads the written document as the dict it is.
def to_jsonable(value: object, where: str = "config") -> Any:
    """Plain JSON values for a dataclass tree; ``where`` names the field in errors."""
    try:
        return _writer.unstructure(value)
    except _Unwritable as exc:
        raise ConfigError(f"{where}{exc.path}: a {exc.kind} cannot be written to a simulator config file") from None


# --- reading ---------------------------------------------------------------------------------


class _Unreadable(Exception):
    """What is wrong with one value read from a file; the path to it is added when it is reported."""


def _found(data: object) -> str:
    return type(data).__name__


def _expect_object(data: object) -> dict[str, object]:
    if not isinstance(data, dict):
        raise _Unreadable(f"expected a JSON object, found {data!r:.60}")
    return data


def _expect_array(data: object) -> list[object]:
    if not isinstance(data, list):
        raise _Unreadable(f"expected a JSON array, found {data!r:.60}")
    return data


def _read_scalar(data: object, tp: type) -> object:
    """JSON's own values, strictly: a file written by a program has no "4" for 4."""
    if issubclass(tp, enum.Enum):  # also one that is a str or int, which dispatch finds as that first
        return tp(data)
    if tp is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
        raise _Unreadable(f"expected {tp.__name__}, found {_found(data)}")
    return data


def _read_text(data: object) -> str:
    if not isinstance(data, str):
        raise _Unreadable(f"expected str, found {_found(data)}")
    return data


def _read_bytes(data: object, tp: type[bytes | bytearray]) -> bytes | bytearray:
    if not (isinstance(data, dict) and set(data) == {_BYTES}):
        raise _Unreadable(f"expected {{'{_BYTES}': <base64>}}, found {_found(data)}")
    return tp(base64.b64decode(data[_BYTES]))


def _read_path(data: object, tp: type[PurePath]) -> PurePath:
    return tp(_read_text(data))


def _read_iso(data: object, tp: type[dt.date | dt.time]) -> dt.date | dt.time:
    return tp.fromisoformat(_read_text(data))


def _read_seconds(data: object, _: object) -> dt.timedelta:
    return dt.timedelta(seconds=typing.cast(float, _read_scalar(data, float)))


def _read_as_is(data: object, _: object) -> object:
    return data


def _read_literal(data: object, tp: object) -> object:
    options = typing.get_args(tp)
    if data not in options:
        raise _Unreadable(f"{data!r} is not one of {', '.join(map(repr, options))}")
    return data


# The class a JSON array becomes for each kind of collection hint (others: a list).
_ARRAY_CLASSES: dict[object, Callable[[list[object]], object]] = {
    tuple: tuple,
    Sequence: tuple,
    set: set,
    MutableSet: set,
    frozenset: frozenset,
    Set: frozenset,
}


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_literal(tp: object) -> bool:
    return typing.get_origin(tp) is typing.Literal


def _is_array(tp: object) -> bool:
    """A list, tuple, set or ``collections.abc`` collection hint (mappings are read as objects)."""
    container = typing.get_origin(tp) or tp
    listed = container in (list, *_ARRAY_CLASSES) or getattr(container, "__module__", "") == "collections.abc"
    return listed and not is_mapping(tp)


def _read_dataclass_factory(cls: type, reader: cattrs.Converter) -> StructureHook:
    try:
        typing.get_type_hints(cls)
    except NameError as exc:  # an annotation naming a type imported only for type checkers
        problem = f"the fields of {cls.__name__} cannot be read back: {exc}"

        def unreadable(data: object, _: object) -> object:
            raise _Unreadable(problem)

        return unreadable
    # Runtime state is not in a file (a key named so is an unknown field).
    runtime = {f.name: override(omit=True) for f in dataclasses.fields(cls) if f.metadata.get("runtime")}
    build: StructureHook = make_dict_structure_fn(cls, reader, **runtime)  # type: ignore[arg-type]
    return lambda data, _: build(_expect_object(data), cls)


def _read_mapping_factory(tp: object, reader: cattrs.Converter) -> StructureHook:
    key_tp, value_tp = typing.get_args(tp) or (str, object)
    if key_tp is not int:
        build: StructureHook = mapping_structure_factory(typing.cast(type, tp), reader)
        return lambda data, _: build(_expect_object(data), tp)
    # JSON object keys are text: read with them (errors name the key as the file has it), then ints.
    by_text: StructureHook = mapping_structure_factory(typing.cast(type, dict[str, value_tp]), reader)  # type: ignore[valid-type]

    def read(data: object, _: object) -> dict[int, object]:
        read_by_text = typing.cast(dict[str, object], by_text(_expect_object(data), dict))
        return {int(k): v for k, v in read_by_text.items()}

    return read


def _read_array_factory(tp: object, reader: cattrs.Converter) -> StructureHook:
    container, args = typing.get_origin(tp) or tp, typing.get_args(tp)
    if container is tuple and args and args[-1] is not Ellipsis:
        return _read_fixed_tuple(args, reader.gen_structure_hetero_tuple(tp))
    items = list_structure_factory(typing.cast(type, list[args[0] if args else object]), reader)  # type: ignore[misc]
    make = _ARRAY_CLASSES.get(container, list)
    return lambda data, _: make(items(_expect_array(data), list))


def _read_fixed_tuple(args: tuple[object, ...], build: StructureHook) -> StructureHook:
    def read(data: object, tp: object) -> object:
        if len(args) != len(items := _expect_array(data)):
            raise _Unreadable(f"expected {len(args)} items, found {len(items)}")
        return build(items, tp)

    return read


def _read_union_factory(tp: object, reader: cattrs.Converter) -> StructureHook:
    """The first option the value fits; an object goes to the dataclass whose fields it names."""
    args = typing.get_args(tp)
    options = [a for a in args if a is not type(None)]
    dataclasses_by_fields = [
        (frozenset(f.name for f in dataclasses.fields(a)), a)
        for a in options
        if isinstance(a, type) and dataclasses.is_dataclass(a)
    ]

    def read(data: object, _: object) -> object:
        if data is None and type(None) in args:
            return None
        if len(options) == 1:
            return reader.structure(data, options[0])
        if isinstance(data, dict):
            for names, cls in dataclasses_by_fields:
                if set(data) <= names:
                    return reader.structure(data, cls)
        for option in options:
            try:
                return reader.structure(data, option)
            except (cattrs.BaseValidationError, _Unreadable, TypeError, ValueError):
                continue
        raise _Unreadable(f"{data!r:.60} fits none of {options}")

    return read


_reader = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
# Classes go to cattrs' dispatch by class (it is asked first, and finds subclasses too); hints that
# are not classes (unions, literals, generic collections) to its dispatch by predicate.
_READERS: list[tuple[type, StructureHook]] = [
    *((kind, _read_scalar) for kind in (bool, int, float, str, enum.Enum)),
    (bytes, _read_bytes),
    (bytearray, _read_bytes),
    (PurePath, _read_path),
    (Path, _read_path),  # cattrs has its own for Path
    (dt.date, _read_iso),  # and datetime
    (dt.time, _read_iso),
    (dt.timedelta, _read_seconds),
]
for _kind, _read in _READERS:
    _reader.register_structure_hook(_kind, _read)
_reader.register_structure_hook_func(lambda tp: tp is object, _read_as_is)  # as cattrs reads Any
_reader.register_structure_hook_func(_is_literal, _read_literal)
_reader.register_structure_hook_factory(_is_array, _read_array_factory)
_reader.register_structure_hook_factory(is_mapping, _read_mapping_factory)
_reader.register_structure_hook_factory(dataclasses.is_dataclass, _read_dataclass_factory)
_reader.register_structure_hook_factory(_is_union, _read_union_factory)


def _first_problem(exc: BaseException, where: str) -> str:
    """The sentence for the first thing wrong in cattrs' tree of errors, naming the field it is in.

    A problem with an object itself (not an object, an unknown field) is reported before those of
    its fields, and fields in their order, as a reader going down the file would meet them.
    """
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        if without:
            return _first_problem(without[0], where)
        inner, note = with_notes[0]
        if isinstance(note, IterableValidationNote):
            return _first_problem(inner, f"{where}[{note.index!r}]")
        if isinstance(inner, KeyError):
            return f"{where}: required field {note.name!r} is missing"
        return _first_problem(inner, f"{where}.{note.name}")
    if isinstance(exc, ForbiddenExtraKeysError):
        fields = ", ".join(f.name for f in dataclasses.fields(exc.cl) if f.init)
        return (
            f"{where}: unknown field {sorted(exc.extra_fields)[0]!r} for {exc.cl.__name__} (fields: {fields}); "
            "was the file written by another version of mhhs-sit?"
        )
    if isinstance(exc, StructureHandlerNotFoundError):
        return f"{where}: cannot read a value of type {exc.type_!r} from a simulator config file"
    return f"{where}: {exc}"


def from_jsonable(tp: type[T], data: object, where: str = "config") -> T:
    """Rebuild a value of type ``tp`` from what ``to_jsonable`` wrote."""
    try:
        return _reader.structure(data, tp)
    except (cattrs.BaseValidationError, CattrsError, _Unreadable, TypeError, ValueError) as exc:
        raise ConfigError(_first_problem(exc, where)) from None


def dumps(config: SimulatorConfig) -> str:
    return json.dumps({"format": FORMAT, "config": to_jsonable(config)}, indent=1, sort_keys=True)


def loads(text: str, source: str = "config") -> SimulatorConfig:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{source}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ConfigError(f"{source}: not a simulator config file (format {found!r}, expected {FORMAT!r})")
    return from_jsonable(SimulatorConfig, doc.get("config"), source)


def write_private(path: Path, text: str) -> Path:
    """``text`` in a file only its owner can read, also when the file was there with wider rights."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(text)
    return path


def write_config(config: SimulatorConfig, path: Path) -> Path:
    """Write ``config`` readable by its owner only: it holds every participant's credentials."""
    return write_private(path, dumps(config))


def read_config(path: Path) -> SimulatorConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the simulator config: {exc.strerror or exc}") from None
    return loads(text, str(path))
