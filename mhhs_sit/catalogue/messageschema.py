"""The JSON Schema of a whole message for one interface, event code and version.

A message is ``{"CommonBlock": {S0, S1, …}, "CustomBlock": {…}}``. The common blocks each
event code carries, and whether it has a CustomBlock at all, are listed in ``messages.yaml``
(``interfaces.yaml`` gives an interface's defaults); S0 is generated here with the interface's
id, schema version and the event code (in brackets, as sent). Interfaces modelled
``envelope-only`` accept any object as their custom block; an event code whose custom block is
``none`` accepts no CustomBlock.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mhhs_sit.catalogue.schemastore import SchemaStore

CustomPresence = Literal["required", "optional", "none"]


@dataclass(frozen=True)
class EventEnvelope:
    """The blocks around one event code's custom block."""

    common_required: tuple[str, ...]  # besides S0, which every message carries
    common_optional: tuple[str, ...]
    custom_block: CustomPresence
    s0_closed: bool = True  # S0 accepts no keys besides its three
    common_closed: bool = True  # CommonBlock accepts no blocks besides those listed


@dataclass(frozen=True)
class EnvelopeSpec:
    """Which common blocks an interface carries and whether its custom block is modelled.

    The interface-level fields are the defaults; ``events`` holds each event code's own blocks
    where the catalogue lists them (an event code of an older version may have none listed).
    """

    interface_id: str
    schema_version: str
    common_required: tuple[str, ...]  # besides S0, which every message carries
    common_optional: tuple[str, ...]
    custom_block: CustomPresence
    detail: Literal["full", "envelope-only"]
    events: Mapping[str, EventEnvelope] = field(default_factory=dict)

    def for_event(self, event_code: str) -> EventEnvelope:
        found = self.events.get(event_code)
        if found is not None:
            return found
        return EventEnvelope(self.common_required, self.common_optional, self.custom_block)

    def has_custom_block(self, event_code: str) -> bool:
        """Whether messages of ``event_code`` carry a CustomBlock at all."""
        return self.for_event(event_code).custom_block != "none"


def bracketed(event_code: str) -> str:
    """``DSApp`` -> ``[DSApp]``, the form S0.eventCode carries."""
    return f"[{event_code}]"


def message_schema(store: SchemaStore, spec: EnvelopeSpec, event_code: str) -> dict[str, object]:
    """The self-contained schema for messages of ``spec`` with ``event_code`` (no brackets)."""
    event = spec.for_event(event_code)
    s0 = _mapping(copy.deepcopy(store.fragment("blocks/S0")))
    if not event.s0_closed:
        s0.pop("additionalProperties", None)
    props = _mapping(s0["properties"])
    props["interfaceID"] = {**_mapping(props["interfaceID"]), "enum": [spec.interface_id]}
    props["schemaVersion"] = {**_mapping(props["schemaVersion"]), "enum": [spec.schema_version]}
    props["eventCode"] = {**_mapping(props["eventCode"]), "enum": [bracketed(event_code)]}
    common: dict[str, object] = {"S0": s0}
    for block in (*event.common_required, *event.common_optional):
        common[block] = store.fragment(f"blocks/{block}")
    properties: dict[str, object] = {
        "CommonBlock": {
            "type": "object",
            "required": ["S0", *event.common_required],
            "properties": common,
        },
    }
    if event.common_closed:
        _mapping(properties["CommonBlock"])["additionalProperties"] = False
    if event.custom_block != "none":
        properties["CustomBlock"] = _custom_block(store, spec, event_code)
    required = ["CommonBlock", "CustomBlock"] if event.custom_block == "required" else ["CommonBlock"]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
        "x-interface": spec.interface_id,
        "x-event": event_code,
    }


def _custom_block(store: SchemaStore, spec: EnvelopeSpec, event_code: str) -> object:
    if spec.detail == "full":
        return store.fragment(f"custom/{spec.interface_id}/{event_code}")
    return {"type": "object", "x-detail": "envelope-only"}


def _mapping(schema: object) -> dict[str, object]:
    """``schema`` as the object it must be here (S0 and its properties are the project's own)."""
    if not isinstance(schema, dict):
        raise TypeError(f"expected a schema object, found {type(schema).__name__}")
    return schema
