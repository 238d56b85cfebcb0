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
from collections.abc import Callable, Iterator
from typing import Any

TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")
Path = tuple[str | int, ...]


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _anything(value: Any) -> bool:
    return True


_SCALARS: dict[str, tuple[Callable[[Any], bool], str]] = {
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


def check_schema(schema: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """``(path, message)`` for everything wrong in ``schema``; nothing when it is sound."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        yield path, f"a schema must be a mapping (or true/false), not {type(schema).__name__}"
        return
    for key, value in schema.items():
        where = (*path, key)
        if not isinstance(key, str):
            yield where, f"keyword {key!r} must be text"
        elif key.startswith("x-"):
            continue  # the project's annotations: x-expected, x-source, x-note…
        elif key in _SCALARS:
            valid, wanted = _SCALARS[key]
            if not valid(value):
                yield where, f"{key} must be {wanted}, not {value!r}"
        elif key in _SCHEMA_LISTS:
            if not isinstance(value, list) or not value:
                yield where, f"{key} must be a non-empty list of schemas"
            else:
                for i, sub in enumerate(value):
                    yield from check_schema(sub, (*where, i))
        elif key in ("items", "not", "additionalProperties"):
            yield from check_schema(value, where)
        elif key == "properties":
            if not isinstance(value, dict):
                yield where, "properties must map field names to schemas"
            else:
                for name, sub in value.items():
                    yield from check_schema(sub, (*where, name))
        else:
            yield from _special(key, value, where)
    required, props = schema.get("required"), schema.get("properties")
    if schema.get("additionalProperties") is False and isinstance(required, list) and isinstance(props, dict):
        for i, name in enumerate(required):
            if name not in props:
                yield (*path, "required", i), f"required field {name!r} is not among the properties"
    for low, high in (("minLength", "maxLength"), ("minItems", "maxItems"), ("minimum", "maximum")):
        if _number(schema.get(low)) and _number(schema.get(high)) and schema[low] > schema[high]:
            yield (*path, low), f"{low} {schema[low]} is more than {high} {schema[high]}"


def _special(key: str, value: Any, where: Path) -> Iterator[tuple[Path, str]]:
    if key == "type":
        kinds = [value] if isinstance(value, str) else value
        if not isinstance(kinds, list) or not kinds:
            yield where, "type must be a type name or a list of them"
            return
        for i, kind in enumerate(kinds):
            if kind not in TYPES:
                at = where if isinstance(value, str) else (*where, i)
                yield at, f"{kind!r} is not one of {', '.join(TYPES)}"
    elif key == "enum":
        if not isinstance(value, list) or not value:
            yield where, "enum must be a non-empty list of the allowed values"
    elif key == "pattern":
        if not isinstance(value, str):
            yield where, "pattern must be a regular expression in quotes"
        else:
            try:
                re.compile(value)
            except re.error as exc:
                yield where, f"pattern is not a valid regular expression: {exc}"
    elif key == "required":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            yield where, "required must be a list of field names"
        elif len(set(value)) != len(value):
            yield where, "required lists a field twice"
    else:
        close = difflib.get_close_matches(key, KEYWORDS, n=1)
        hint = f"; did you mean {close[0]}?" if close else " (annotations must start with x-)"
        yield where, f"unknown schema keyword {key!r}{hint}"
