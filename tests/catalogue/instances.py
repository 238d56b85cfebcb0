"""The smallest value a (self-contained) schema accepts, built from its formats: for the tests that
send every interface and event code.

Required properties only, one item per list (or the minimum), the first of an enum, the shortest
string a pattern and the lengths allow (patterns are walked with the regex parser, so only the
constructs the catalogue's patterns use are supported: literals, classes, repeats, groups,
alternation, anchors).
"""

from __future__ import annotations

import math
import re
import re._constants as sre_c
import re._parser as sre_parse
from collections.abc import Mapping
from functools import cache
from typing import Any

_FIRST_OF_CATEGORY = {sre_c.CATEGORY_DIGIT: "0", sre_c.CATEGORY_WORD: "a", sre_c.CATEGORY_SPACE: " "}


def instance(schema: Mapping[str, Any]) -> Any:
    """A value valid under ``schema``."""
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return instance(next(s for s in schema[key] if s.get("type") != "null"))
    if "allOf" in schema:
        return instance({k: v for s in schema["allOf"] for k, v in s.items()})
    kind = _kind(schema)
    if kind == "object":
        props = schema.get("properties", {})
        return {name: instance(props.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        count = max(schema.get("minItems", 1), 1)
        count = min(count, schema.get("maxItems", count))
        return [instance(schema.get("items", {})) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return True
    return _string(schema)


def _kind(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        return "object" if "properties" in schema or "required" in schema else "string"
    return str(kind)


def _number(schema: Mapping[str, Any], kind: str) -> int | float:
    low = schema.get("minimum", 0)
    step = schema.get("multipleOf")
    value = math.ceil(low / step) * step if step else low
    return int(value) if kind == "integer" else value


def _string(schema: Mapping[str, Any]) -> str:
    if schema.get("format") == "email":
        return "a@example.com"
    text = shortest(schema["pattern"]) if "pattern" in schema else ""
    low = max(schema.get("minLength", 1), 1)
    if len(text) < low:
        text += "0" * (low - len(text)) if "pattern" in schema else "X" * (low - len(text))
    return text


@cache
def shortest(pattern: str) -> str:
    """The shortest string matching ``pattern`` (first choice of each class or branch)."""
    text = _walk(sre_parse.parse(pattern))
    assert re.search(pattern, text), (pattern, text)
    return text


def _walk(items: Any) -> str:
    out = []
    for op, arg in items:
        if op is sre_c.LITERAL:
            out.append(chr(arg))
        elif op is sre_c.IN:
            out.append(_first_in(arg))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            low, _, sub = arg
            out.append(_walk(sub) * low)
        elif op is sre_c.SUBPATTERN:
            out.append(_walk(arg[-1]))
        elif op is sre_c.BRANCH:
            out.append(_walk(arg[1][0]))
        elif op is sre_c.AT:
            continue
        else:
            raise NotImplementedError(f"regex construct {op} in a catalogue pattern")
    return "".join(out)


def _first_in(arg: Any) -> str:
    op, value = arg[0]
    if op is sre_c.LITERAL:
        return chr(value)
    if op is sre_c.RANGE:
        return chr(value[0])
    if op is sre_c.CATEGORY:
        return _FIRST_OF_CATEGORY[value]
    raise NotImplementedError(f"regex class {op} in a catalogue pattern")
