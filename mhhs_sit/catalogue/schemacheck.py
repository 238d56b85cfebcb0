"""Checking the catalogue's hand-written schema fragments against the vocabulary they may use.

The JSON Schema meta-schema accepts any unknown keyword, so a typo such as ``minLenght`` or
``additionalproperties`` would silently switch a rule off. The catalogue's schemas use a small
subset of draft 2020-12, so each fragment is checked against that subset instead: every keyword
must be known and its value of the right kind. (It is also ~50 times faster than validating
against the meta-schema, which matters because every process loads the catalogue.)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TypeGuard

TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")
Path = tuple[str | int, ...]


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: object) -> bool:
    return isinstance(value, str)


def _anything(value: object) -> bool:
    return True


_SCALARS: dict[str, tuple[Callable[[object], bool], str]] = {
    "minLength": (_count, "a whole number of 0 or more"),
    "maxLength": (_count, "a whole number of 0 or more"),
    "minItems": (_count, "a whole number of 0 or more"),
    "maxItems": (_count, "a whole number of 0 or more"),
    "minimum": (_number, "a number"),
    "maximum": (_number, "a number"),
    "exclusiveMinimum": (_number, "a number"),
    "exclusiveMaximum": (_number, "a number"),
    "multipleOf": (lambda v: _number(v) and v > 0, "a number above 0"),
    "format": (_text, "text"),
    "description": (_text, "text"),
    "title": (_text, "text"),
    "$ref": (_text, "text such as '#/types/DateTime'"),
    "nullable": (lambda v: isinstance(v, bool), "true or false"),
    "const": (_anything, ""),
    "default": (_anything, ""),
    "examples": (lambda v: isinstance(v, list), "a list"),
}
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
KEYWORDS = (
    "type", "enum", "pattern", "required", "properties", "additionalProperties", "items", "not",
    *_SCALARS, *_SCHEMA_LISTS,
)  # fmt: skip


def check_schema(schema: object, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """``(path, message)`` for everything wrong in ``schema``; nothing when it is sound."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        yield path, f"a schema must be a mapping (or true/false), not {type(schema).__name__}"
        return
    for key, value in schema.items():
        yield from _keyword_problems(key, value, (*path, key))
    yield from _consistency_problems(schema, path)


def _keyword_problems(key: object, value: object, where: Path) -> Iterator[tuple[Path, str]]:
    if not isinstance(key, str):
        yield where, f"keyword {key!r} must be text"
    elif key.startswith("x-"):
        return  # the project's annotations: x-expected, x-source, x-note…
    elif key in _SCALARS:
        valid, wanted = _SCALARS[key]
        if not valid(value):
            yield where, f"{key} must be {wanted}, not {value!r}"
    else:
        yield from _STRUCTURED.get(key, _unknown)(key, value, where)


def _consistency_problems(schema: Mapping[object, object], path: Path) -> Iterator[tuple[Path, str]]:
    """Keywords that contradict each other: a closed object requiring an absent field, min > max."""
    required, props = schema.get("required"), schema.get("properties")
    if schema.get("additionalProperties") is False and isinstance(required, list) and isinstance(props, dict):
        for i, name in enumerate(required):
            if name not in props:
                yield (*path, "required", i), f"required field {name!r} is not among the properties"
    for low, high in (("minLength", "maxLength"), ("minItems", "maxItems"), ("minimum", "maximum")):
        least, most = schema.get(low), schema.get(high)
        if _number(least) and _number(most) and least > most:
            yield (*path, low), f"{low} {least} is more than {high} {most}"


def _schema_list(key: str, value: object, where: Path) -> Iterator[tuple[Path, str]]:
    if not isinstance(value, list) or not value:
        yield where, f"{key} must be a non-empty list of schemas"
        return
    for i, sub in enumerate(value):
        yield from check_schema(sub, (*where, i))


def _subschema(key: str, value: object, where: Path) -> Iterator[tuple[Path, str]]:
    return check_schema(value, where)


def _properties(key: str, value: object, where: Path) -> Iterator[tuple[Path, str]]:
    if not isinstance(value, dict):
        yield where, "properties must map field names to schemas"
        return
    for name, sub in value.items():
        yield from check_schema(sub, (*where, name))


def _type(key: str, value: object, where: Path) -> Iterator[tuple[Path, str]]:
    kinds = [value] if isinstance(value, str) else value
    if not isinstance(kinds, list) or not kinds:
        yield where, "type must be a type name or a list of them"
        return
    for i, kind in enumerate(kinds):
        if kind not in TYPES:
            at = where if isinstance(value, str) else (*where, i)
            yield at, f"{kind!r} is not one of {', '.join(TYPES)}"


def _enum(key: str, value: object, where: Path) -> Iterator[tuple[Path, str]]:
    if not isinstance(value, list) or not value:
        yield where, "enum must be a non-empty list of the allowed values"


def _pattern(key: str, value: object, where: Path) -> Iterator[tuple[Path, str]]:
    if not isinstance(value, str):
        yield where, "pattern must be a regular expression in quotes"
        return
    try:
        re.compile(value)
    except re.error as exc:
        yield where, f"pattern is not a valid regular expression: {exc}"


def _required(key: str, value: object, where: Path) -> Iterator[tuple[Path, str]]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        yield where, "required must be a list of field names"
    elif len(set(value)) != len(value):
        yield where, "required lists a field twice"


def _unknown(key: str, value: object, where: Path) -> Iterator[tuple[Path, str]]:
    close = difflib.get_close_matches(key, KEYWORDS, n=1)
    hint = f"; did you mean {close[0]}?" if close else " (annotations must start with x-)"
    yield where, f"unknown schema keyword {key!r}{hint}"


_KeywordCheck = Callable[[str, object, Path], Iterator[tuple[Path, str]]]
_STRUCTURED: dict[str, _KeywordCheck] = {
    **dict.fromkeys(_SCHEMA_LISTS, _schema_list),
    **dict.fromkeys(("items", "not", "additionalProperties"), _subschema),
    "properties": _properties,
    "type": _type,
    "enum": _enum,
    "pattern": _pattern,
    "required": _required,
}
