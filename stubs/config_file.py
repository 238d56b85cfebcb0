"""The simulator's configuration as a JSON file, for a simulator in another process or a container.

The (de)serialisation walks the dataclass fields and their type hints, so fields that are added
to ``SimulatorConfig`` or the dataclasses inside it (credentials, TLS, delivery policy, faults)
round-trip with no change here. The file may hold secrets (API keys, private keys): it is written
with mode 0600 into a per-run directory, never into the repository.
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
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from mhhs_sit.errors import ConfigError
from mhhs_stubs.config import SimulatorConfig

FORMAT = "mhhs-stubs-config/1"
# What a standalone simulator prints once it accepts connections, followed by its base URL.
READY = "MHHS_STUBS_READY"

_BYTES = "$bytes"  # {"$bytes": "<base64>"}: key material, certificates


def to_jsonable(value: Any, where: str = "config") -> Any:
    """Plain JSON values for a dataclass tree; ``where`` names the field in errors."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name), f"{where}.{f.name}")
            for f in dataclasses.fields(value)
            if f.init and not f.metadata.get("runtime")  # runtime state (keys made this run) stays in memory
        }
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, where)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [to_jsonable(v, f"{where}[]") for v in value]
        return sorted(items, key=json.dumps)  # stable file contents
    if isinstance(value, list | tuple):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ConfigError(f"{where}: a {type(value).__name__} cannot be written to a simulator config file")


def from_jsonable(tp: Any, data: Any, where: str = "config") -> Any:
    """Rebuild a value of type ``tp`` (a type hint) from what ``to_jsonable`` wrote."""
    if tp is Any or tp is object:
        return data
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _union(args, data, where)
    if origin is typing.Literal:
        if data not in args:
            raise ConfigError(f"{where}: {data!r} is not one of {', '.join(map(repr, args))}")
        return data
    if origin is None and isinstance(tp, type):
        return _from_class(tp, data, where)
    return _container(tp, origin or tp, args, data, where)


# Values JSON holds as text or a number of seconds.
_TEXT_READERS: dict[type, typing.Callable[[Any], Any]] = {
    dt.datetime: dt.datetime.fromisoformat,
    dt.date: dt.date.fromisoformat,
    dt.timedelta: lambda seconds: dt.timedelta(seconds=seconds),
}


def _from_class(tp: type, data: Any, where: str) -> Any:
    """A value of a plain class: a dataclass, enum, bytes, path, date or time, scalar, or bare container."""
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp, data, where)
    if issubclass(tp, enum.Enum):
        return tp(data)
    if tp in (bytes, bytearray):
        if not (isinstance(data, dict) and set(data) == {_BYTES}):
            raise ConfigError(f"{where}: expected {{'{_BYTES}': <base64>}}, found {type(data).__name__}")
        return tp(base64.b64decode(data[_BYTES]))
    if issubclass(tp, PurePath):
        return tp(data)
    reader = _TEXT_READERS.get(tp)
    if reader is not None:
        return reader(data)
    if tp in (bool, int, float, str, type(None)):
        return _scalar(tp, data, where)
    return _container(tp, tp, (), data, where)


def _scalar(tp: type, data: Any, where: str) -> Any:
    if tp is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
        raise ConfigError(f"{where}: expected {tp.__name__}, found {type(data).__name__}")
    return data


def _container(tp: Any, container: Any, args: tuple[Any, ...], data: Any, where: str) -> Any:
    """A mapping or collection ``tp`` whose class (``container``) and item types (``args``) are given."""
    if isinstance(container, type) and issubclass(container, Mapping):
        return _mapping(container, args, data, where)
    if container in (list, tuple, set, frozenset) or (
        isinstance(container, type) and container.__module__ == "collections.abc"
    ):
        return _collection(container, args, data, where)
    raise ConfigError(f"{where}: cannot read a value of type {tp!r} from a simulator config file")


def _mapping(container: type, args: tuple[Any, ...], data: Any, where: str) -> Any:
    key_tp, value_tp = args or (str, Any)
    _expect(data, dict, where)
    built = {
        from_jsonable(key_tp, _key(key_tp, k), f"{where}[{k!r}]"): from_jsonable(value_tp, v, f"{where}[{k!r}]")
        for k, v in data.items()
    }
    return built if container in (dict, Mapping) else _make(container, built)


def _collection(container: type, args: tuple[Any, ...], data: Any, where: str) -> Any:
    _expect(data, list, where)
    if container is tuple and len(args) == 2 and args[1] is Ellipsis:
        return tuple(from_jsonable(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
    if container is tuple and args:
        if len(args) != len(data):
            raise ConfigError(f"{where}: expected {len(args)} items, found {len(data)}")
        return tuple(from_jsonable(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(args, data, strict=True)))
    item_tp = args[0] if args else Any
    items = [from_jsonable(item_tp, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if container in (set, frozenset, tuple):
        return container(items)
    if container.__name__ in ("Set", "MutableSet"):
        return frozenset(items) if container.__name__ == "Set" else set(items)
    return tuple(items) if container.__name__ == "Sequence" else items


def _expect(data: Any, kind: type, where: str) -> None:
    if not isinstance(data, kind):
        raise ConfigError(f"{where}: expected a JSON {'object' if kind is dict else 'array'}, found {data!r:.60}")


def _key(tp: Any, key: str) -> Any:
    """JSON object keys are text; an int-keyed mapping gets its ints back."""
    return int(key) if tp is int else key


def _make(container: type, built: dict[Any, Any]) -> Any:
    try:
        return container(built)
    except TypeError:
        return built


def _union(args: tuple[Any, ...], data: Any, where: str) -> Any:
    if data is None and type(None) in args:
        return None
    options = [a for a in args if a is not type(None)]
    if isinstance(data, dict) and len(options) > 1:  # pick the dataclass whose fields the object names
        for a in options:
            if (
                isinstance(a, type)
                and dataclasses.is_dataclass(a)
                and set(data) <= {f.name for f in dataclasses.fields(a)}
            ):
                return _dataclass(a, data, where)
    errors = []
    for a in options:
        try:
            return from_jsonable(a, data, where)
        except (ConfigError, TypeError, ValueError) as exc:
            errors.append(str(exc))
    raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {data!r:.60} fits none of {options}")


def _dataclass(cls: type, data: Any, where: str) -> Any:
    _expect(data, dict, where)
    try:
        hints = typing.get_type_hints(cls)
    except NameError as exc:  # an annotation naming a type imported only for type checkers
        raise ConfigError(f"{where}: the fields of {cls.__name__} cannot be read back: {exc}") from None
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {unknown[0]!r} for {cls.__name__} (fields: {', '.join(fields)}); "
            "was the file written by another version of mhhs-sit?"
        )
    values = {name: from_jsonable(hints[name], data[name], f"{where}.{name}") for name in fields if name in data}
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


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
    return typing.cast(SimulatorConfig, from_jsonable(SimulatorConfig, doc.get("config"), source))


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
