"""The JSON Schema of a whole message for one interface, event code and version.

A message is ``{"CommonBlock": {S0, S1, …}, "CustomBlock": {…}}``. The common blocks an
interface carries are listed in ``interfaces.yaml``; S0 is generated here with the interface's
id, schema version and the event code (in brackets, as sent). Interfaces modelled
``envelope-only`` accept any object as their custom block.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

from mhhs_sit.catalogue.schemastore import SchemaStore


@dataclass(frozen=True)
class EnvelopeSpec:
    """Which common blocks an interface carries and whether its custom block is modelled."""

    interface_id: str
    schema_version: str
    common_required: tuple[str, ...]  # besides S0, which every message carries
    common_optional: tuple[str, ...]
    custom_block: Literal["required", "optional"]
    detail: Literal["full", "envelope-only"]


def bracketed(event_code: str) -> str:
    """``DSApp`` -> ``[DSApp]``, the form S0.eventCode carries."""
    return f"[{event_code}]"


def message_schema(store: SchemaStore, spec: EnvelopeSpec, event_code: str) -> dict[str, object]:
    """The self-contained schema for messages of ``spec`` with ``event_code`` (no brackets)."""
    s0 = _mapping(copy.deepcopy(store.fragment("blocks/S0")))
    props = _mapping(s0["properties"])
    props["interfaceID"] = {**_mapping(props["interfaceID"]), "enum": [spec.interface_id]}
    props["schemaVersion"] = {**_mapping(props["schemaVersion"]), "enum": [spec.schema_version]}
    props["eventCode"] = {**_mapping(props["eventCode"]), "enum": [bracketed(event_code)]}
    common: dict[str, object] = {"S0": s0}
    for block in (*spec.common_required, *spec.common_optional):
        common[block] = store.fragment(f"blocks/{block}")
    if spec.detail == "full":
        custom = store.fragment(f"custom/{spec.interface_id}/{event_code}")
    else:
        custom = {"type": "object", "x-detail": "envelope-only"}
    required = ["CommonBlock", "CustomBlock"] if spec.custom_block == "required" else ["CommonBlock"]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": {
            "CommonBlock": {
                "type": "object",
                "additionalProperties": False,
                "required": ["S0", *spec.common_required],
                "properties": common,
            },
            "CustomBlock": custom,
        },
        "x-interface": spec.interface_id,
        "x-event": event_code,
    }


def _mapping(schema: object) -> dict[str, object]:
    """``schema`` as the object it must be here (S0 and its properties are the project's own)."""
    if not isinstance(schema, dict):
        raise TypeError(f"expected a schema object, found {type(schema).__name__}")
    return schema
