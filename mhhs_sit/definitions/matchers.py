"""Paths into JSON values and the checks that compare them, shared by every step kind.

A path is ``a.b[0].c``; for messages ``S1.senderDIPID`` is short for
``CommonBlock.S1.senderDIPID``. An expectation is either a plain value (equality) or a mapping of
one or more operators: ``{matches: "^CI-"}``, ``{in: [A, R]}``, ``{exists: false}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from mhhs_sit.dip.envelope import block_path

_MISSING = object()
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")
PATH_RE = re.compile(r"^[^.\[\]\s]+(\.[^.\[\]\s]+|\[-?\d+\])*$")


@lru_cache(maxsize=8192)
def split_path(path: str) -> tuple[str | int, ...]:
    if not PATH_RE.match(path):
        raise ValueError(f"'{path}' is not a path such as 'S1.senderDIPID' or 'json.items[0].id'")
    return tuple(int(m.group(2)) if m.group(2) is not None else m.group(1) for m in _SEGMENT.finditer(path))


def resolve(value: object, path: str, *, blocks: bool = False) -> object:
    """The value at ``path`` or ``MISSING``; JSON field names match case-insensitively."""
    if blocks:
        path = block_path(path)
    for part in split_path(path):
        value = _child(value, part)
        if value is _MISSING:
            break
    return value


def _child(value: object, part: str | int) -> object:
    if isinstance(part, int):
        in_range = isinstance(value, list) and -len(value) <= part < len(value)
        return value[part] if in_range and isinstance(value, list) else _MISSING
    if not isinstance(value, Mapping):
        return _MISSING
    if part in value:
        return value[part]
    low = part.lower()
    return next((v for k, v in value.items() if isinstance(k, str) and k.lower() == low), _MISSING)


def is_missing(value: object) -> bool:
    return value is _MISSING


MISSING = _MISSING


def _regex(actual: object, pattern: object) -> bool:
    return isinstance(actual, str) and re.search(str(pattern), actual) is not None


def _number(x: Any) -> float:
    return float(x)


def _day_before(actual: object, expected: object) -> bool:
    """An ISO date or timestamp whose date comes before the expected one's (``2026-12-05T00:00:00+00:00``
    is before ``2026-12-06``): what a rule needs to refuse a retrospective effective date."""
    return isinstance(actual, str) and len(actual) >= 10 and actual[:10] < str(expected)[:10]


OPERATORS: Mapping[str, tuple[Callable[[Any, Any], bool], str]] = {
    "eq": (lambda a, e: a == e, "equal to {e!r}"),
    "ne": (lambda a, e: a != e, "different from {e!r}"),
    "in": (lambda a, e: a in e, "one of {e!r}"),
    "not_in": (lambda a, e: a not in e, "none of {e!r}"),
    "contains": (lambda a, e: e in a, "containing {e!r}"),
    "startswith": (lambda a, e: isinstance(a, str) and a.startswith(str(e)), "starting with {e!r}"),
    "matches": (_regex, "matching /{e}/"),
    "gt": (lambda a, e: _number(a) > _number(e), "greater than {e!r}"),
    "ge": (lambda a, e: _number(a) >= _number(e), "at least {e!r}"),
    "lt": (lambda a, e: _number(a) < _number(e), "less than {e!r}"),
    "le": (lambda a, e: _number(a) <= _number(e), "at most {e!r}"),
    "before": (_day_before, "a date before {e!r}"),
    "length": (lambda a, e: len(a) == int(e), "of length {e}"),
    "type": (
        lambda a, e: (
            type(a).__name__
            == {
                "string": "str",
                "integer": "int",
                "number": "float",
                "boolean": "bool",
                "object": "dict",
                "array": "list",
                "null": "NoneType",
            }.get(str(e), str(e))
            or (e == "number" and isinstance(a, int) and not isinstance(a, bool))
        ),
        "of JSON type {e}",
    ),
}
OPERATOR_NAMES = frozenset(OPERATORS) | {"exists"}


def is_operator_mapping(expected: object) -> bool:
    return isinstance(expected, Mapping) and bool(expected) and set(expected) <= OPERATOR_NAMES


def mismatch(label: str, actual: Any, expected: Any) -> str | None:
    """None when ``actual`` satisfies ``expected``; otherwise a sentence saying how it differs."""
    if is_operator_mapping(expected):
        return next(filter(None, (_operator_mismatch(label, actual, op, arg) for op, arg in expected.items())), None)
    if is_missing(actual):
        return f"{label} is missing, expected {expected!r}"
    if (actual == expected and type(actual) is type(expected)) or _same_scalar(actual, expected):
        return None
    hint = ""
    if str(actual) == str(expected):
        hint = f" (same text, but {type(actual).__name__} vs {type(expected).__name__}: quote the YAML value)"
    return f"{label} is {actual!r}, expected {expected!r}{hint}"


def _operator_mismatch(label: str, actual: object, op: str, arg: object) -> str | None:
    """None when ``actual`` passes the operator ``op`` with ``arg``; otherwise how it fails."""
    if op == "exists":
        if bool(arg) != is_missing(actual):
            return None
        state = "is missing" if is_missing(actual) else f"is present ({actual!r})"
        return f"{label} {state}, expected it {'present' if arg else 'absent'}"
    test, text = OPERATORS[op]
    if is_missing(actual):
        return f"{label} is missing, expected a value {text.format(e=arg)}"
    try:
        ok = test(actual, arg)
    except (TypeError, ValueError):
        ok = False
    return None if ok else f"{label} is {actual!r}, expected a value {text.format(e=arg)}"


def _same_scalar(actual: object, expected: object) -> bool:
    # int 1 vs float 1.0 are equal in JSON; bool is not a number.
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    return isinstance(actual, dict | list) and actual == expected


def mismatches(value: object, checks: Mapping[str, object], *, blocks: bool = False) -> list[str]:
    """Every failed check of ``checks`` (path -> expectation) against ``value``."""
    out = []
    for path, expected in checks.items():
        problem = mismatch(path, resolve(value, path, blocks=blocks), expected)
        if problem:
            out.append(problem)
    return out
