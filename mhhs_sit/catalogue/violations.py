"""Turning jsonschema errors into violations a tester can act on.

jsonschema reports "'x' is a required property" against the parent object and lumps every
unexpected field into one error. Testers need one violation per faulty field, pointing at the
field itself, saying what was sent and what form was expected, in the sender's own spelling.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from jsonschema.exceptions import ValidationError, best_match

from mhhs_sit.catalogue.casefold import sender_path
from mhhs_sit.catalogue.model import Violation

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def to_violations(errors: Iterable[ValidationError], payload: object) -> list[Violation]:
    """Every violation behind ``errors``, one per faulty field, deduplicated and sorted."""
    seen: dict[tuple[str, str], Violation] = {}
    for error in errors:
        for violation in _convert(error, payload):
            seen.setdefault((violation.pointer, violation.keyword), violation)
    return sorted(seen.values())


def pointer(parts: Sequence[object]) -> str:
    """A JSON pointer (RFC 6901) for ``parts``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def display(parts: Sequence[object]) -> str:
    """``CommonBlock.S1.senderTimestamp``; list indexes as ``[0]``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the message"


def expected_form(schema: object) -> str:
    """What a value should look like, in words, from a (sub)schema: ours say it in x-expected."""
    if not isinstance(schema, dict):
        return ""
    kinds = _kinds(schema.get("type"))
    if schema.get("x-expected"):
        return str(schema["x-expected"]) + (", or null" if "null" in kinds else "")
    enum = schema.get("enum")
    bits = ["one of " + _choices(enum)] if isinstance(enum, list) and enum else _shape(schema, kinds)
    if "example" in schema and not isinstance(schema["example"], dict | list):
        bits.append(f"e.g. {schema['example']!r}")
    return ", ".join(bits)


def _kinds(kind: object) -> list[object]:
    """A schema's ``type`` as a list, whether it names one type or several."""
    if isinstance(kind, str):
        return [kind]
    return list(kind) if isinstance(kind, list | tuple) else []


def _shape(schema: dict[str, object], kinds: list[object]) -> list[str]:
    """The phrases for a value that is not one of an enumeration: its types, length, pattern."""
    bits: list[str] = []
    names = [_TYPE_NAMES.get(str(k), str(k)) for k in kinds if k != "null"]
    if names:
        bits.append(" or ".join(names))
    length = _length_phrase(schema, "minLength", "maxLength", "character")
    if length:
        bits.append(length)
    if schema.get("pattern"):
        bits.append(f"matching {schema['pattern']}")
    if "null" in kinds:
        bits.append("or null")
    return bits


def _convert(error: ValidationError, payload: object) -> list[Violation]:
    keyword = str(error.validator)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "required" and isinstance(error.instance, dict):
        return _missing_fields(error, schema, payload)
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        return _unexpected_fields(error, schema, payload)
    if keyword in ("oneOf", "anyOf") and error.context:
        return _closest_form(error, payload)
    parts = sender_path(payload, list(error.absolute_path))
    return [Violation(pointer(parts), keyword, _sentence(keyword, display(parts), error.instance, schema, error))]


def _missing_fields(error: ValidationError, schema: dict[str, object], payload: object) -> list[Violation]:
    """One violation per required field the object lacks, said where the object is."""
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    parts = sender_path(payload, list(error.absolute_path))
    where = "The message" if not parts else display(parts)
    out = []
    for name in error.validator_value:
        if name not in error.instance:
            form = expected_form(props.get(name))
            what = f" ({form})" if form else ""
            message = f"{where} lacks the required field {name}{what}."
            out.append(Violation(pointer([*parts, name]), "required", message))
    return out


def _unexpected_fields(error: ValidationError, schema: dict[str, object], payload: object) -> list[Violation]:
    """One violation per field the object may not have (jsonschema lumps them into one error)."""
    allowed = list(_mapping(schema.get("properties")))
    patterns = [re.compile(p) for p in _mapping(schema.get("patternProperties"))]
    path = list(error.absolute_path)
    out = []
    for name in error.instance:
        if name in allowed or any(p.search(name) for p in patterns):
            continue
        parts = sender_path(payload, [*path, name])
        out.append(Violation(pointer(parts), "additionalProperties", _unexpected(parts, allowed)))
    return out


def _closest_form(error: ValidationError, payload: object) -> list[Violation]:
    """For a value matching none of several forms, what is wrong against the closest one."""
    best = best_match(error.context)
    forms = f"the value may take one of {len(error.validator_value)} forms; this is the closest"
    return [Violation(v.pointer, v.keyword, f"{v.message[:-1]} ({forms}).") for v in _convert(best, payload)]


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _unexpected(parts: list[object], allowed: list[str]) -> str:
    name = str(parts[-1])
    parent = display(parts[:-1]) if len(parts) > 1 else "the message"
    text = f"{display(parts)} is not a field of {parent}"
    lowered = {a.lower(): a for a in allowed}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return f"{text}; did you mean {lowered[close[0]]}?"
    if allowed and len(allowed) <= 15:
        text += f"; its fields are {', '.join(allowed)}"
    if not allowed:
        text += ", which has no fields"
    return text + "."


def _sentence(keyword: str, field: str, value: object, schema: dict[str, object], error: ValidationError) -> str:
    phrase = _SENTENCES.get(keyword)
    if phrase is None:
        return f"{field}: {error.message}."
    return phrase(_Failed(field, _show(value), value, schema, error.validator_value, _hint(schema)))


@dataclass(frozen=True)
class _Failed:
    """What a sentence about one failed keyword can say: the field, its value, the rule broken."""

    field: str
    shown: str
    value: object
    schema: dict[str, object]
    rule: object  # the keyword's value in the schema
    hint: str


def _type_sentence(f: _Failed) -> str:
    kinds = f.rule if isinstance(f.rule, list) else [f.rule]
    wanted = " or ".join(_TYPE_NAMES.get(str(k), str(k)) for k in kinds)
    return f"{f.field} is {f.shown}; expected {wanted}{f.hint}."


def _pattern_sentence(f: _Failed) -> str:
    if f.schema.get("x-expected"):
        return f"{f.field} is {f.shown}, which is not {f.schema['x-expected']} (pattern {f.rule})."
    return f"{f.field} is {f.shown}, which does not match the pattern {f.rule}{f.hint}."


def _length_sentence(f: _Failed) -> str:
    length = _length_phrase(f.schema, "minLength", "maxLength", "character")
    return f"{f.field} is {f.shown} ({_size(f.value)} characters); expected {length}{f.hint}."


def _items_sentence(f: _Failed) -> str:
    count = _length_phrase(f.schema, "minItems", "maxItems", "item")
    return f"{f.field} has {_size(f.value)} items; expected {count}."


def _size(value: object) -> int:
    """The length of a string or list that failed a length rule (only those can)."""
    return len(value) if isinstance(value, str | list) else 0


def _forms_sentence(how_many: str) -> Callable[[_Failed], str]:
    return lambda f: f"{f.field} matches {how_many} of the allowed forms."


_SENTENCES: dict[str, Callable[[_Failed], str]] = {
    "type": _type_sentence,
    "enum": lambda f: f"{f.field} is {f.shown}; expected one of {_choices(_sequence(f.rule))}.",
    "const": lambda f: f"{f.field} is {f.shown}; expected exactly {f.rule!r}.",
    "pattern": _pattern_sentence,
    "minLength": _length_sentence,
    "maxLength": _length_sentence,
    "minItems": _items_sentence,
    "maxItems": _items_sentence,
    **dict.fromkeys(
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
        lambda f: f"{f.field} is {f.shown}; expected {_range_phrase(f.schema)}.",
    ),
    "multipleOf": lambda f: f"{f.field} is {f.shown}; expected a multiple of {f.rule}.",
    "oneOf": _forms_sentence("more than one"),
    "anyOf": _forms_sentence("none"),
}


def _sequence(value: object) -> Sequence[object]:
    return value if isinstance(value, list | tuple) else [value]


def _hint(schema: dict[str, object]) -> str:
    """A short reminder of the expected form: ours say it in x-expected, the spec by example."""
    if schema.get("x-expected"):
        return f" ({schema['x-expected']})"
    if "example" in schema and not isinstance(schema["example"], dict | list):
        return f" (e.g. {schema['example']!r})"
    return ""


def _show(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {text!r}" if not value else repr(text)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return repr(value)


def _choices(values: Sequence[object]) -> str:
    shown = [("null" if v is None else repr(v)) for v in values[:12]]
    more = f" (and {len(values) - 12} more)" if len(values) > 12 else ""
    return ", ".join(shown) + more


def _length_phrase(schema: dict[str, object], low_key: str, high_key: str, unit: str) -> str:
    low, high = schema.get(low_key), schema.get(high_key)
    if low is not None and low == high:
        return f"exactly {low} {unit}{'s' if low != 1 else ''}"
    if low and high is not None:
        return f"{low} to {high} {unit}s"
    if high is not None:
        return f"at most {high} {unit}{'s' if high != 1 else ''}"
    if low:
        return f"at least {low} {unit}{'s' if low != 1 else ''}"
    return ""


def _range_phrase(schema: dict[str, object]) -> str:
    bits = []
    if "minimum" in schema:
        bits.append(f"at least {schema['minimum']}")
    if "exclusiveMinimum" in schema and not isinstance(schema["exclusiveMinimum"], bool):
        bits.append(f"more than {schema['exclusiveMinimum']}")
    if "maximum" in schema:
        bits.append(f"at most {schema['maximum']}")
    if "exclusiveMaximum" in schema and not isinstance(schema["exclusiveMaximum"], bool):
        bits.append(f"less than {schema['exclusiveMaximum']}")
    return " and ".join(bits) or "a value in range"
