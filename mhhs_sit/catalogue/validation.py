"""Validating messages of one interface: pick the event code's schema, then report every fault.

Used for both the project's catalogue and an official DIP spec. The schema is chosen by
S0.eventCode (instead of validating against a ``oneOf`` of all event codes, whose only error
would be "not valid under any of the given schemas"). Field names are matched
case-insensitively unless ``exact_names`` is asked for (see :mod:`.casefold`). A compiled
fast check (:mod:`.fastcheck`) accepts valid messages; jsonschema explains invalid ones.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from jsonschema.protocols import Validator

from mhhs_sit.catalogue.casefold import NameIndex, build_index, lookup, normalise, sender_path
from mhhs_sit.catalogue.fastcheck import Check, compile_check
from mhhs_sit.catalogue.model import Violation
from mhhs_sit.catalogue.violations import pointer, to_violations

EVENT_PATH = ("CommonBlock", "S0", "eventCode")


@dataclass(frozen=True)
class EventSchema:
    """A message schema and the S0.eventCode values (in brackets) it is for."""

    codes: tuple[str, ...]
    schema: dict[str, object]
    name: str = ""  # e.g. "IF-020-RelatedCreate", to name schemas in messages


class _Compiled:
    """One schema, compiled once: the jsonschema validator, the fast check, the name index."""

    def __init__(self, event: EventSchema, validator_class: type[Validator]):
        self.event = event
        self.validator = validator_class(event.schema)
        self.check: Check | None = compile_check(event.schema, validator_class)
        self.open_objects = _has_open_objects(event.schema)
        self._index: NameIndex | None = None
        self._indexed = False
        self._lock = threading.Lock()

    @property
    def index(self) -> NameIndex | None:
        if not self._indexed:
            with self._lock:
                if not self._indexed:
                    self._index = build_index(self.event.schema)
                    self._indexed = True
        return self._index

    def run(self, payload: object, exact_names: bool) -> list[Violation]:
        instance = payload
        normalised = False
        if not exact_names and self.open_objects:
            instance, normalised = normalise(payload, self.index), True
        if self.check is not None and self.check(instance):
            return []
        if not exact_names and not normalised:
            instance = normalise(payload, self.index)
            if instance is not payload and self.check is not None and self.check(instance):
                return []
        return to_violations(self.validator.iter_errors(instance), payload)


class InterfaceValidator:
    """Validates payloads (``{"CommonBlock": …, "CustomBlock": …}``) of one interface."""

    def __init__(self, label: str, events: Sequence[EventSchema], validator_class: type[Validator]):
        if not events:
            raise ValueError(f"{label} has no event schemas")
        self.label = label  # e.g. "IF-031 in catalogue version 2.1.0"
        self._events = [_Compiled(e, validator_class) for e in events]
        self._fallback = _Compiled(EventSchema((), _loosen(events[0].schema)), validator_class)
        self.codes = tuple(dict.fromkeys(c for e in events for c in e.codes))

    def validate(self, payload: object, *, exact_names: bool = False) -> list[Violation]:
        """Every violation of ``payload``; an empty list when it is valid."""
        if not isinstance(payload, dict):
            return [
                Violation(
                    "",
                    "type",
                    'The message is not a JSON object; expected {"CommonBlock": {...}, "CustomBlock": {...}}.',
                )
            ]
        code = _event_code(payload, exact_names)
        matches = [c for c in self._events if code in c.event.codes]
        if len(matches) == 1:
            return matches[0].run(payload, exact_names)
        if not matches:
            return self._unknown_event(payload, code, exact_names)
        return self._overlapping(payload, code, matches, exact_names)

    def _unknown_event(self, payload: dict[str, object], code: object, exact_names: bool) -> list[Violation]:
        """An event code no schema is for: the common blocks' faults, and the code itself."""
        found = self._fallback.run(payload, exact_names)
        if isinstance(code, str):
            parts = sender_path(payload, EVENT_PATH)
            message = (
                f"CommonBlock.S0.eventCode is {code!r}, which is not an event code of "
                f"{self.label}; expected one of {', '.join(self.codes)}."
            )
            found.append(Violation(pointer(parts), "enum", message))
        return sorted(found)

    def _overlapping(
        self, payload: dict[str, object], code: object, matches: list[_Compiled], exact_names: bool
    ) -> list[Violation]:
        """Several schemas for one event code (the spec's oneOf): valid under exactly one of them."""
        results = [(c, c.run(payload, exact_names)) for c in matches]
        valid = [c.event.name or "?" for c, found in results if not found]
        if len(valid) == 1:
            return []
        if len(valid) > 1:
            message = (
                f"The message is valid under {len(valid)} schemas for {code} "
                f"({', '.join(valid)}) but the spec's oneOf accepts exactly one: "
                f"the schemas overlap, which is a defect of {self.label}."
            )
            return [Violation("", "oneOf", message)]
        return min((found for _, found in results), key=len)


def _event_code(payload: dict[str, object], exact_names: bool) -> object:
    node: object = payload
    for name in EVENT_PATH:
        exact = node.get(name) if isinstance(node, dict) else None
        node = exact if exact_names else lookup(node, name)
    return node


def _loosen(schema: dict[str, object]) -> dict[str, object]:
    """``schema`` accepting any event code and any custom block: checks the common blocks only."""
    top_props = _member(schema, "properties")
    common = _member(top_props, "CommonBlock")
    common_props = _member(common, "properties")
    s0 = _member(common_props, "S0")
    s0_props = _member(s0, "properties")
    if top_props is None or common is None or common_props is None or s0 is None or s0_props is None:
        return schema
    s0 = {**s0, "properties": {**s0_props, "eventCode": {"type": "string"}}}
    common = {**common, "properties": {**common_props, "S0": s0}}
    return {
        **schema,
        "properties": {**top_props, "CommonBlock": common, "CustomBlock": {"type": "object"}},
    }


def _member(node: dict[str, object] | None, key: str) -> dict[str, object] | None:
    """``node[key]`` when both are objects, else None."""
    value = node.get(key) if node is not None else None
    return value if isinstance(value, dict) else None


def _has_open_objects(schema: object) -> bool:
    """Whether any object schema names properties but admits others (see :func:`_Compiled.run`).

    Only then can a message valid as sent become invalid once its field names are matched to
    the schema's spelling, so only then must names be normalised before the fast check.
    """
    if isinstance(schema, list):
        return any(_has_open_objects(s) for s in schema)
    if not isinstance(schema, dict):
        return False
    if schema.get("properties") and schema.get("additionalProperties", True) is not False:
        return True
    return any(_has_open_objects(v) for k, v in schema.items() if k not in ("enum", "const", "example"))
