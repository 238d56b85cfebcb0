"""A file's structure checked against its JSON Schema, each error turned into a located sentence.

The fast check (fastjsonschema) answers "is this file valid?"; only an invalid file pays for
jsonschema's full list of errors, and for importing it. Both are compiled on first use: compiling
every schema when the module was imported cost every command a tenth of a second, ``--help``
included.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import fastjsonschema

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, format_path
from mhhs_sit.definitions import schemas
from mhhs_sit.errors import Problem

if TYPE_CHECKING:
    import jsonschema

Explained = list[tuple[list[PathPart], str, bool]]  # (YAML path, sentence, points at the key)

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true/false",
    "null": "empty",
}


def suggest(word: str, choices: Iterable[str]) -> str:
    options = [str(c) for c in choices]
    same = [c for c in options if c.lower() == str(word).lower() and c != word]  # c1 -> C1
    match = same or difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def type_name(value: object) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "empty",
    }.get(type(value), type(value).__name__)


class FileSchema:
    """One kind of file's schema, with its two validators made once, on first use."""

    def __init__(self, schema: Mapping[str, object]):
        self.schema = schema

    @cached_property
    def _fast(self) -> Callable[[object], object]:
        check: Callable[[object], object] = fastjsonschema.compile(_any_for_one(dict(self.schema)))
        return check

    @cached_property
    def _full(self) -> jsonschema.Draft202012Validator:
        import jsonschema

        return jsonschema.Draft202012Validator(self.schema)

    def problems(self, doc: YamlDoc) -> list[Problem]:
        try:
            self._fast(doc.data)
            return []
        except fastjsonschema.JsonSchemaException:
            pass
        problems: list[Problem] = []
        for error in self._full.iter_errors(doc.data):
            if error.validator == "propertyNames":
                problems += _bad_names(doc, error)
                continue
            for path, message, key in explain(error):
                problems.append(doc.problem(path, message, key=key))
        return problems


def _any_for_one(schema: object) -> Any:
    """``schema`` for the fast check: each ``oneOf`` of alternatives of different types as an
    ``anyOf`` with the text one first. At most one of them can hold, so the verdict is the same;
    but the check stops at the first that holds instead of trying all and raising (and
    formatting) an error for each that does not: a duration ``10s`` was not a number at each of
    10,000 expects, four fifths of the check's time. Invalid files are explained with the schema
    as written."""
    if isinstance(schema, list):
        return [_any_for_one(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {str(k): _any_for_one(v) for k, v in schema.items()}
    if _disjoint_types(out.get("oneOf")) and "anyOf" not in out:  # text first: what YAML mostly holds
        out["anyOf"] = sorted(out.pop("oneOf"), key=lambda alternative: alternative["type"] != "string")
    return out


def _disjoint_types(alternatives: object) -> bool:
    if not isinstance(alternatives, list):
        return False
    types = [a.get("type") if isinstance(a, Mapping) else None for a in alternatives]
    if not all(isinstance(t, str) for t in types):
        return False
    return len(set(types)) == len(types) and not {"integer", "number"} <= set(types)


_FILES = {"cohort": FileSchema(schemas.COHORT), "environment": FileSchema(schemas.ENVIRONMENT)}


def schema_problems(doc: YamlDoc, kind: str) -> list[Problem]:
    """A cohort or environment file's structural problems (scenarios: their registry's schema)."""
    return _FILES[kind].problems(doc)


def _bad_names(doc: YamlDoc, error: jsonschema.ValidationError) -> list[Problem]:
    """Report the offending key itself rather than the mapping that holds it."""
    import jsonschema

    names = jsonschema.Draft202012Validator(error.validator_value)
    allowed = error.validator_value.get("enum")
    hint = (
        f"; use one of: {', '.join(allowed)}"
        if allowed
        else " (names are letters, digits and _ and may not start with a digit)"
    )
    return [
        doc.problem([*error.absolute_path, key], f"'{key}' is not a valid name here{hint}", key=True)
        for key in error.instance
        if not names.is_valid(key)
    ]


def explain(error: jsonschema.ValidationError) -> Explained:
    """jsonschema error -> [(yaml path, sentence, points-at-key)]."""
    path: list[PathPart] = list(error.absolute_path)
    sentence = _SENTENCES.get(str(error.validator))
    found = sentence(error, path) if sentence else None
    return found if found is not None else [(path, error.message, False)]


def _unknown_keys(error: jsonschema.ValidationError, path: list[PathPart]) -> Explained | None:
    if not isinstance(error.instance, dict):
        return None
    allowed = list(error.schema.get("properties", {}))
    return [
        ([*path, key], f"unknown key '{key}'{suggest(key, allowed)}; allowed here: {', '.join(allowed)}", True)
        for key in error.instance
        if key not in allowed
    ]


def _missing(error: jsonschema.ValidationError, path: list[PathPart]) -> Explained:
    where = format_path(path) or "the document"
    missing = [k for k in error.validator_value if k not in error.instance]
    return [(path, f"'{k}' is required in {where} but missing", False) for k in missing]


def _not_allowed(error: jsonschema.ValidationError, path: list[PathPart]) -> Explained:
    choices = [str(c) for c in error.validator_value]
    value = error.instance
    return [
        (path, f"{value!r} is not allowed here{suggest(str(value), choices)}; use one of: {', '.join(choices)}", False)
    ]


def _wrong_type(error: jsonschema.ValidationError, path: list[PathPart]) -> Explained:
    expected = error.validator_value
    names = expected if isinstance(expected, list) else [expected]
    want = " or ".join(_TYPE_WORDS.get(n, str(n)) for n in names)
    return [(path, f"expected {want}, found {type_name(error.instance)} ({error.instance!r})", False)]


def _wrong_form(error: jsonschema.ValidationError, path: list[PathPart]) -> Explained:
    return [(path, f"{error.instance!r} does not have the required form (regex {error.validator_value})", False)]


def _bad_name(error: jsonschema.ValidationError, path: list[PathPart]) -> Explained:
    return [(path, f"{error.message}", False)]


def _empty(error: jsonschema.ValidationError, path: list[PathPart]) -> Explained | None:
    if error.instance:
        return None
    return [(path, f"{format_path(path) or 'the document'} must not be empty", False)]


def _none_of(error: jsonschema.ValidationError, path: list[PathPart]) -> Explained | None:
    if "description" not in error.schema:
        return None
    return [(path, f"{error.instance!r} is not {error.schema['description']}", False)]


def _out_of_range(error: jsonschema.ValidationError, path: list[PathPart]) -> Explained:
    return [(path, f"{error.instance!r} is out of range ({error.validator} {error.validator_value})", False)]


_SENTENCES: dict[str, Callable[[jsonschema.ValidationError, list[PathPart]], Explained | None]] = {
    "additionalProperties": _unknown_keys,
    "required": _missing,
    "enum": _not_allowed,
    "type": _wrong_type,
    "pattern": _wrong_form,
    "propertyNames": _bad_name,
    "minItems": _empty,
    "minProperties": _empty,
    "oneOf": _none_of,
    "minimum": _out_of_range,
    "maximum": _out_of_range,
}
