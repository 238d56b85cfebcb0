"""Reading ``messages.yaml``: per interface and event code, the blocks around the custom block.

The file is generated from an official spec (:mod:`.specgen`); it gives each interface's
S0.schemaVersion and, per event code, the common blocks required and allowed besides S0,
whether a CustomBlock is required, optional or absent (``none``) and whether S0 and the
CommonBlock are open to keys they do not list. Its event codes are the interface's event codes in the newest version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mhhs_sit.catalogue.messageschema import CustomPresence, EventEnvelope
from mhhs_sit.core.yamlsrc import PathPart, YamlDoc

INTERFACE_KEYS = ("schema_version", "events")
EVENT_KEYS = ("common", "optional", "custom_block", "s0", "common_block")
CUSTOM_PRESENCE: tuple[CustomPresence, ...] = ("required", "optional", "none")
Report = Callable[[Sequence[PathPart], str], None]


@dataclass(frozen=True)
class InterfaceMessages:
    """One interface's entry of messages.yaml."""

    schema_version: str
    events: dict[str, EventEnvelope]

    def values(self) -> dict[str, object]:
        """What the entry gives an interface: its schema version and (newest) event codes."""
        return {"schema_version": self.schema_version, "events": list(self.events)}


def read_messages(doc: YamlDoc, blocks: set[str], report: Report) -> dict[str, InterfaceMessages]:
    """Every interface's entry; each problem is passed to ``report`` with its path in the file."""
    top = doc.data if isinstance(doc.data, dict) else {}
    if not isinstance(doc.data, dict):
        report([], "messages.yaml must map interface ids to their schema version and event codes")
    out: dict[str, InterfaceMessages] = {}
    for iid, raw in top.items():
        entry = raw if isinstance(raw, dict) else {}
        if not isinstance(raw, dict):
            report([iid], f"{iid} must be a mapping with schema_version and events")
        _unknown(entry, INTERFACE_KEYS, [iid], report)
        version = entry.get("schema_version")
        if not isinstance(version, str) or not version:
            report([iid, "schema_version"], "schema_version must be a non-empty string (quote it, e.g. '011')")
        events = entry.get("events")
        if not isinstance(events, dict) or not events:
            report([iid, "events"], "events must map each event code to its blocks")
            events = {}
        parsed = {str(code): _event(value, blocks, [iid, "events", code], report) for code, value in events.items()}
        out[str(iid)] = InterfaceMessages(str(version), parsed)
    return out


def _event(raw: object, blocks: set[str], path: list[PathPart], report: Report) -> EventEnvelope:
    entry = raw if isinstance(raw, dict) else {}
    if not isinstance(raw, dict):
        report(path, "an event code must map to its common, optional and custom_block")
    _unknown(entry, EVENT_KEYS, path, report)
    lists = {key: _blocks(entry.get(key, []), blocks, [*path, key], report) for key in ("common", "optional")}
    presence = entry.get("custom_block", "required")
    if presence not in CUSTOM_PRESENCE:
        report([*path, "custom_block"], "custom_block must be required, optional or none")
    closed = {}
    for key in ("s0", "common_block"):
        value = entry.get(key, "closed")
        if value not in ("open", "closed"):
            report([*path, key], f"{key} must be open or closed")
        closed[key] = value != "open"
    custom: CustomPresence = "optional" if presence == "optional" else "none" if presence == "none" else "required"
    return EventEnvelope(tuple(lists["common"]), tuple(lists["optional"]), custom, closed["s0"], closed["common_block"])


def _blocks(value: object, known: set[str], path: list[PathPart], report: Report) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        report(path, "must be a list of common block names")
        return []
    for i, block in enumerate(value):
        if block not in known or block == "S0":
            report([*path, i], f"{block!r} is not a common block in blocks.yaml (S0 is implied)")
    return list(value)


def _unknown(entry: dict[str, object], allowed: Sequence[str], path: list[PathPart], report: Report) -> None:
    for key in entry:
        if key not in allowed:
            report([*path, key], f"unknown key {key!r}; allowed: {', '.join(allowed)}")
