"""The facts read from an official DIP spec, as the generator extracts them and the writer writes
them: in a module of their own, so that reading and writing depend on them, not on each other."""

from __future__ import annotations

from dataclasses import dataclass, field

Schema = dict[str, object]


@dataclass
class EventFacts:
    """What one event code's messages carry besides their custom block."""

    common: list[str]
    optional: list[str]
    custom_block: str  # required, optional or none
    s0_closed: bool
    common_closed: bool  # CommonBlock accepts no blocks besides those listed


@dataclass
class InterfaceFacts:
    schema_version: str
    events: dict[str, EventFacts] = field(default_factory=dict)
    custom: dict[str, Schema] = field(default_factory=dict)


@dataclass
class Extraction:
    """Everything generated from one spec."""

    version: str
    types: dict[str, Schema]
    blocks: dict[str, Schema]
    interfaces: dict[str, InterfaceFacts]
