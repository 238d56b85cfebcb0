"""The type of JSON values, so DIP messages and schemas are typed without falling back to ``Any``.

Mappings in these types are ``dict`` (what ``json.loads`` and YAML give); code that only reads a
value should accept ``object`` and narrow with ``isinstance``, since dicts are invariant.
"""

from __future__ import annotations

from typing import TypeAlias

JsonScalar: TypeAlias = "str | int | float | bool | None"
JsonValue: TypeAlias = "JsonScalar | list[JsonValue] | dict[str, JsonValue]"
JsonObject: TypeAlias = "dict[str, JsonValue]"
JsonArray: TypeAlias = "list[JsonValue]"
