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
from collections.abc import Callable, Mapping
from typing import TypeGuard

from jsonschema.protocols import Validator

Check = Callable[[object], bool]
Schema = dict[str, object]
_Real = int | float  # what a JSON number is; other numbers.Number types compare the same way

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


def _is_number(x: object) -> TypeGuard[_Real]:
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


_BOUNDS: dict[str, Callable[[_Real, _Real], bool]] = {
    "minimum": lambda x, n: x >= n,
    "maximum": lambda x, n: x <= n,
    "exclusiveMinimum": lambda x, n: x > n,
    "exclusiveMaximum": lambda x, n: x < n,
}


def _bound(holds: Callable[[_Real, _Real], bool], limit: object) -> Check:
    """A numeric keyword: it constrains numbers only (booleans are not numbers)."""
    if not _is_number(limit):
        raise _Unsupported
    return lambda x: not _is_number(x) or holds(x, limit)


def _limit(schema: Schema, keyword: str, default: float) -> float:
    """A length or count keyword's value; ``default`` when it is absent."""
    value = schema.get(keyword)
    if value is None:
        return default
    if not _is_number(value):
        raise _Unsupported
    return value


def _search(schema: Schema) -> Callable[[str], object] | None:
    """The ``pattern`` keyword as a compiled search, None when there is none."""
    if "pattern" not in schema:
        return None
    pattern = schema["pattern"]
    if not isinstance(pattern, str):
        raise _Unsupported
    return re.compile(pattern).search


def _schemas(value: object) -> list[object]:
    """The subschemas of a combinator (a list), or unsupported."""
    if not isinstance(value, list):
        raise _Unsupported
    return value


def _kinds(kind: object) -> list[object]:
    """The ``type`` keyword as a list of type names."""
    if isinstance(kind, str):
        return [kind]
    if not isinstance(kind, list):
        raise _Unsupported
    return kind


def _is_integer(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_integral(x: object) -> bool:
    """An integer, where the dialect counts 1.0 as one."""
    return (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer())


_TYPES: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": _is_number,
}


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
        schema = self._known(schema)
        leaf = _string_leaf(schema)
        if leaf is not None:
            return leaf
        checks: list[Check] = []
        if "type" in schema:
            checks.append(self._type(schema["type"]))
        if "enum" in schema:
            checks.append(_enum(_schemas(schema["enum"])))
        if "const" in schema:
            checks.append(_enum([schema["const"]]))
        for part in (self._string, self._number, self._object, self._array):
            check = part(schema)
            if check is not None:
                checks.append(check)
        checks.extend(self._combinators(schema))
        return _all(checks)

    def _known(self, schema: Schema) -> Schema:
        """The keywords of ``schema`` the dialect knows (jsonschema ignores the others), all of
        which must be implemented here."""
        if self.draft4 and ("exclusiveMinimum" in schema or "exclusiveMaximum" in schema):
            raise _Unsupported  # draft 4 reads them as flags of minimum/maximum
        known = {k: v for k, v in schema.items() if k in self.known}
        if any(keyword not in _IMPLEMENTED for keyword in known):
            raise _Unsupported
        return known

    def _type(self, kind: object) -> Check:
        preds = [self._one_type(k) for k in _kinds(kind)]
        if len(preds) == 1:
            return preds[0]
        if len(preds) == 2:
            first, second = preds
            return lambda x: first(x) or second(x)
        return _any(preds)

    def _one_type(self, kind: object) -> Check:
        if kind == "integer":
            return _is_integral if self.integer_floats else _is_integer
        check = _TYPES.get(kind) if isinstance(kind, str) else None
        if check is None:
            raise _Unsupported
        return check

    def _string(self, schema: Schema) -> Check | None:
        search = _search(schema)
        if "minLength" not in schema and "maxLength" not in schema and search is None:
            return None
        low = _limit(schema, "minLength", 0)
        high = _limit(schema, "maxLength", float("inf"))

        def string(x: object) -> bool:
            if not isinstance(x, str):
                return True
            return low <= len(x) <= high and (search is None or search(x) is not None)

        return string

    def _number(self, schema: Schema) -> Check | None:
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

    def _object(self, schema: Schema) -> Check | None:
        required = tuple(_schemas(schema.get("required", [])))
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            raise _Unsupported
        props = {k: self.compile(v) for k, v in properties.items()}
        extra = schema.get("additionalProperties", True)
        closed = extra is False
        extra_check = None if extra is True or closed else self.compile(extra)
        if not required and not props and not closed and extra_check is None:
            return None

        return _members(required, props, closed, extra_check)

    def _array(self, schema: Schema) -> Check | None:
        item = None
        if "items" in schema:
            if not isinstance(schema["items"], dict | bool):
                raise _Unsupported  # draft 4 tuple form
            item = self.compile(schema["items"])
        low = _limit(schema, "minItems", 0)
        high = _limit(schema, "maxItems", float("inf"))
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

    def _combinators(self, schema: Schema) -> list[Check]:
        out: list[Check] = []
        for keyword, combine in _COMBINE.items():
            if keyword in schema:
                out.append(combine([self.compile(s) for s in _schemas(schema[keyword])]))
        if "not" in schema:
            out.append(_negated(self.compile(schema["not"])))
        return out


_COMBINE: dict[str, Callable[[list[Check]], Check]] = {"allOf": _all, "anyOf": _any, "oneOf": _exactly_one}
_LEAF_KEYWORDS = frozenset({"type", "minLength", "maxLength", "pattern", "enum", "format"})


def _string_leaf(schema: Schema) -> Check | None:
    """One closure for the commonest field: a (nullable) string with length, pattern or enum.

    Messages carry hundreds of such fields (an IF-021 day has 240), so folding the type,
    length, pattern and enum tests into a single call halves the cost of the check.
    """
    kinds = _leaf_kinds(schema)
    if kinds is None:
        return None
    enum = schema.get("enum")
    if enum is not None and not _text_enum(enum):
        return None
    texts = None if enum is None else frozenset(v for v in enum if v is not None)
    null_ok = "null" in kinds and (enum is None or None in enum)
    low = _limit(schema, "minLength", 0)
    high = _limit(schema, "maxLength", float("inf"))
    search = _search(schema)

    def leaf(x: object) -> bool:
        if not isinstance(x, str):
            return x is None and null_ok
        if not low <= len(x) <= high:
            return False
        if texts is not None and x not in texts:
            return False
        return search is None or search(x) is not None

    return leaf


def _text_enum(enum: object) -> TypeGuard[list[str | None]]:
    """An enumeration of strings (and maybe null), which the string leaf can test itself."""
    return isinstance(enum, list) and all(v is None or isinstance(v, str) for v in enum)


def _leaf_kinds(schema: Schema) -> set[object] | None:
    """The types of a schema that is a string leaf (``string``, maybe with ``null``), else None."""
    if not schema.keys() <= _LEAF_KEYWORDS:
        return None
    kind = schema.get("type")
    kinds = {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()
    return kinds if kinds in ({"string"}, {"string", "null"}) else None


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


def _members(
    required: tuple[object, ...], props: Mapping[object, Check], closed: bool, extra_check: Check | None
) -> Check:
    """An object's check: its required keys, its known properties, what it allows beyond them."""

    def members(x: object) -> bool:
        if not isinstance(x, dict):
            return True
        if any(key not in x for key in required):
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
