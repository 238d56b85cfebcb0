"""A compiled yes/no validity check that agrees exactly with jsonschema, for the common case.

jsonschema takes about 0.5 ms to accept one appointment message; the DIP simulator validates
every message, so that is too slow. Almost every message is valid, so the validator first asks
this check (plain closures, ~20x faster) and only runs jsonschema, which explains *why* a
message is wrong, when the answer is no.

The check implements the keywords our schemas and the official spec use, mirroring jsonschema's
semantics (bool is not a number; enum equality keeps true apart from 1; the dialect decides
whether 1.0 is an integer). A schema using any other keyword the dialect knows is not compiled
(``compile_check`` returns None) and jsonschema alone decides.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any

from jsonschema.protocols import Validator

Check = Callable[[object], bool]

_IMPLEMENTED = frozenset(
    {
        "type",
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "format",
    }
)


class _Unsupported(Exception):
    pass


def compile_check(schema: object, validator_class: type[Validator]) -> Check | None:
    """A fast exact validity check for ``schema`` under ``validator_class``, or None."""
    known = frozenset(validator_class.VALIDATORS)
    integer_floats = validator_class.TYPE_CHECKER.is_type(1.0, "integer")
    draft4 = "exclusiveMinimum" not in known  # draft 4 reads it as a flag of minimum
    try:
        return _Compiler(known, integer_floats, draft4).compile(schema)
    except _Unsupported:
        return None


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _scalar_key(value: object) -> tuple[str, object]:
    """Equality key mirroring jsonschema's ``equal`` for scalars (1 == 1.0, true != 1)."""
    if isinstance(value, bool):
        return ("bool", value)
    if value is None:
        return ("null", None)
    if isinstance(value, str):
        return ("str", value)
    if _is_number(value):
        return ("num", value)
    raise _Unsupported


def _true(x: object) -> bool:
    return True


def _all(checks: list[Check]) -> Check:
    """One predicate for several, without a generator per call (this runs per field)."""
    if not checks:
        return _true
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)
    frozen = tuple(checks)

    def every(x: object) -> bool:
        for check in frozen:  # noqa: SIM110 - all(<generator>) costs a generator per call
            if not check(x):
                return False
        return True

    return every


def _any(checks: list[Check]) -> Check:
    frozen = tuple(checks)
    return lambda x: any(c(x) for c in frozen)


def _exactly_one(checks: list[Check]) -> Check:
    frozen = tuple(checks)
    return lambda x: sum(1 for c in frozen if c(x)) == 1


def _negated(check: Check) -> Check:
    return lambda x: not check(x)


_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": lambda x, n: x >= n,
    "maximum": lambda x, n: x <= n,
    "exclusiveMinimum": lambda x, n: x > n,
    "exclusiveMaximum": lambda x, n: x < n,
}


def _bound(holds: Callable[[Any, Any], bool], limit: Any) -> Check:
    """A numeric keyword: it constrains numbers only (booleans are not numbers)."""
    return lambda x: not _is_number(x) or holds(x, limit)


class _Compiler:
    def __init__(self, known: frozenset[str], integer_floats: bool, draft4: bool):
        self.known = known
        self.integer_floats = integer_floats
        self.draft4 = draft4

    def compile(self, schema: object) -> Check:
        if schema is True:
            return _true
        if schema is False:
            return lambda x: False
        if not isinstance(schema, dict):
            raise _Unsupported
        if self.draft4 and ("exclusiveMinimum" in schema or "exclusiveMaximum" in schema):
            raise _Unsupported  # draft 4 reads them as flags of minimum/maximum
        # Keywords the dialect does not know are ignored, exactly as jsonschema ignores them.
        schema = {k: v for k, v in schema.items() if k in self.known}
        if any(keyword not in _IMPLEMENTED for keyword in schema):
            raise _Unsupported
        leaf = _string_leaf(schema)
        if leaf is not None:
            return leaf
        checks: list[Check] = []
        if "type" in schema:
            checks.append(self._type(schema["type"]))
        if "enum" in schema:
            checks.append(_enum(schema["enum"]))
        if "const" in schema:
            checks.append(_enum([schema["const"]]))
        for part in (self._string, self._number, self._object, self._array):
            check = part(schema)
            if check is not None:
                checks.append(check)
        checks.extend(self._combinators(schema))
        return _all(checks)

    def _type(self, kind: Any) -> Check:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        preds = [self._one_type(k) for k in kinds]
        if len(preds) == 1:
            return preds[0]
        if len(preds) == 2:
            first, second = preds
            return lambda x: first(x) or second(x)
        return _any(preds)

    def _one_type(self, kind: str) -> Check:
        if kind == "string":
            return lambda x: isinstance(x, str)
        if kind == "object":
            return lambda x: isinstance(x, dict)
        if kind == "array":
            return lambda x: isinstance(x, list)
        if kind == "boolean":
            return lambda x: isinstance(x, bool)
        if kind == "null":
            return lambda x: x is None
        if kind == "number":
            return _is_number
        if kind == "integer":
            if self.integer_floats:
                return lambda x: (
                    (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer())
                )
            return lambda x: isinstance(x, int) and not isinstance(x, bool)
        raise _Unsupported

    def _string(self, schema: dict[str, Any]) -> Check | None:
        low = schema.get("minLength")
        high = schema.get("maxLength")
        search = re.compile(schema["pattern"]).search if "pattern" in schema else None
        if low is None and high is None and search is None:
            return None
        low = low or 0
        high = float("inf") if high is None else high

        def string(x: object) -> bool:
            if not isinstance(x, str):
                return True
            return low <= len(x) <= high and (search is None or search(x) is not None)

        return string

    def _number(self, schema: dict[str, object]) -> Check | None:
        out: list[Check] = []
        for keyword in ("exclusiveMinimum", "exclusiveMaximum"):
            if keyword in schema and isinstance(schema[keyword], bool):
                raise _Unsupported
        for keyword, holds in _BOUNDS.items():
            if keyword in schema:
                out.append(_bound(holds, schema[keyword]))
        if "multipleOf" in schema:
            m = schema["multipleOf"]
            if not isinstance(m, int) or isinstance(m, bool):
                raise _Unsupported  # jsonschema's float path has its own rounding rules
            out.append(_bound(lambda x, m: not x % m, m))
        return _all(out) if out else None

    def _object(self, schema: dict[str, Any]) -> Check | None:
        required = tuple(schema.get("required", ()))
        props = {k: self.compile(v) for k, v in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        closed = extra is False
        extra_check = None if extra is True or closed else self.compile(extra)
        if not required and not props and not closed and extra_check is None:
            return None

        def members(x: object) -> bool:
            if not isinstance(x, dict):
                return True
            for key in required:
                if key not in x:
                    return False
            for key, value in x.items():
                check = props.get(key)
                if check is None:
                    if closed or (extra_check is not None and not extra_check(value)):
                        return False
                elif not check(value):
                    return False
            return True

        return members

    def _array(self, schema: dict[str, Any]) -> Check | None:
        item = None
        if "items" in schema:
            if not isinstance(schema["items"], dict | bool):
                raise _Unsupported  # draft 4 tuple form
            item = self.compile(schema["items"])
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", float("inf"))
        if item is None and "minItems" not in schema and "maxItems" not in schema:
            return None

        def array(x: object) -> bool:
            if not isinstance(x, list):
                return True
            if not low <= len(x) <= high:
                return False
            if item is not None:
                for value in x:
                    if not item(value):
                        return False
            return True

        return array

    def _combinators(self, schema: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "allOf" in schema:
            out.append(_all([self.compile(s) for s in schema["allOf"]]))
        if "anyOf" in schema:
            out.append(_any([self.compile(s) for s in schema["anyOf"]]))
        if "oneOf" in schema:
            out.append(_exactly_one([self.compile(s) for s in schema["oneOf"]]))
        if "not" in schema:
            out.append(_negated(self.compile(schema["not"])))
        return out


_LEAF_KEYWORDS = frozenset({"type", "minLength", "maxLength", "pattern", "enum", "format"})


def _string_leaf(schema: dict[str, Any]) -> Check | None:
    """One closure for the commonest field: a (nullable) string with length, pattern or enum.

    Messages carry hundreds of such fields (an IF-021 day has 240), so folding the type,
    length, pattern and enum tests into a single call halves the cost of the check.
    """
    kind = schema.get("type")
    kinds = {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()
    if not schema.keys() <= _LEAF_KEYWORDS or kinds not in ({"string"}, {"string", "null"}):
        return None
    enum = schema.get("enum")
    if enum is not None and not all(v is None or isinstance(v, str) for v in enum):
        return None
    texts = None if enum is None else frozenset(v for v in enum if v is not None)
    null_ok = "null" in kinds and (enum is None or None in enum)
    low = schema.get("minLength") or 0
    high = schema.get("maxLength", float("inf"))
    search = re.compile(schema["pattern"]).search if "pattern" in schema else None

    def leaf(x: object) -> bool:
        if not isinstance(x, str):
            return x is None and null_ok
        if not low <= len(x) <= high:
            return False
        if texts is not None and x not in texts:
            return False
        return search is None or search(x) is not None

    return leaf


def _enum(values: list[object]) -> Check:
    """Membership mirroring jsonschema's ``equal``: strings by value, true apart from 1."""
    texts = frozenset(v for v in values if isinstance(v, str))
    others = frozenset(_scalar_key(v) for v in values if not isinstance(v, str))
    if not others:
        return lambda x: isinstance(x, str) and x in texts
    return lambda x: (x in texts) if isinstance(x, str) else (_key_or_none(x) in others)


def _key_or_none(value: object) -> tuple[str, object] | None:
    try:
        return _scalar_key(value)
    except _Unsupported:
        return None
