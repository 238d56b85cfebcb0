"""Turning jsonschema errors into violations a tester can act on.

jsonschema reports "'x' is a required property" against the parent object and lumps every
unexpected field into one error. Testers need one violation per faulty field, pointing at the
field itself, saying what was sent and what form was expected, in the sender's own spelling.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

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
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    if schema.get("x-expected"):
        return str(schema["x-expected"]) + (", or null" if "null" in kinds else "")
    bits: list[str] = []
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        bits.append("one of " + _choices(schema["enum"]))
    else:
        names = [_TYPE_NAMES.get(k, k) for k in kinds if k != "null"]
        if names:
            bits.append(" or ".join(names))
        length = _length_phrase(schema, "minLength", "maxLength", "character")
        if length:
            bits.append(length)
        if schema.get("pattern"):
            bits.append(f"matching {schema['pattern']}")
        if "null" in kinds:
            bits.append("or null")
    if "example" in schema and not isinstance(schema["example"], dict | list):
        bits.append(f"e.g. {schema['example']!r}")
    return ", ".join(bits)


def _convert(error: ValidationError, payload: object) -> list[Violation]:
    path = list(error.absolute_path)
    keyword = str(error.validator)
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "required" and isinstance(instance, dict):
        out = []
        props = schema.get("properties", {})
        for name in error.validator_value:
            if name not in instance:
                parts = sender_path(payload, path)
                form = expected_form(props.get(name))
                what = f" ({form})" if form else ""
                where = "The message" if not parts else display(parts)
                message = f"{where} lacks the required field {name}{what}."
                out.append(Violation(pointer([*parts, name]), keyword, message))
        return out
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        out = []
        for name in instance:
            if name in allowed or any(p.search(name) for p in patterns):
                continue
            parts = sender_path(payload, [*path, name])
            out.append(Violation(pointer(parts), keyword, _unexpected(parts, allowed)))
        return out
    if keyword in ("oneOf", "anyOf") and error.context:
        best = best_match(error.context)
        return [
            Violation(
                v.pointer,
                v.keyword,
                f"{v.message[:-1]} (the value may take one of "
                f"{len(error.validator_value)} forms; this is the closest).",
            )
            for v in _convert(best, payload)
        ]
    parts = sender_path(payload, path)
    return [Violation(pointer(parts), keyword, _sentence(keyword, display(parts), instance, schema, error))]


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


def _sentence(keyword: str, field: str, value: Any, schema: dict[str, Any], error: ValidationError) -> str:
    hint = _hint(schema)
    shown = _show(value)
    if keyword == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        wanted = " or ".join(_TYPE_NAMES.get(str(k), str(k)) for k in kinds)
        return f"{field} is {shown}; expected {wanted}{hint}."
    if keyword == "enum":
        return f"{field} is {shown}; expected one of {_choices(error.validator_value)}."
    if keyword == "const":
        return f"{field} is {shown}; expected exactly {error.validator_value!r}."
    if keyword == "pattern":
        if schema.get("x-expected"):
            what = schema["x-expected"]
            return f"{field} is {shown}, which is not {what} (pattern {error.validator_value})."
        return f"{field} is {shown}, which does not match the pattern {error.validator_value}{hint}."
    if keyword in ("minLength", "maxLength"):
        length = _length_phrase(schema, "minLength", "maxLength", "character")
        return f"{field} is {shown} ({len(value)} characters); expected {length}{hint}."
    if keyword in ("minItems", "maxItems"):
        count = _length_phrase(schema, "minItems", "maxItems", "item")
        return f"{field} has {len(value)} items; expected {count}."
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{field} is {shown}; expected {_range_phrase(schema)}."
    if keyword == "multipleOf":
        return f"{field} is {shown}; expected a multiple of {error.validator_value}."
    if keyword in ("oneOf", "anyOf"):
        how_many = "more than one" if keyword == "oneOf" else "none"
        return f"{field} matches {how_many} of the allowed forms."
    return f"{field}: {error.message}."


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
