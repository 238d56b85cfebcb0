"""Turning the interfaces read from the catalogue's files into the values the catalogue hands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mhhs_sit.catalogue.history import VersionState
from mhhs_sit.catalogue.messageschema import CustomPresence, EnvelopeSpec, EventEnvelope
from mhhs_sit.catalogue.model import Interface, Source
from mhhs_sit.catalogue.versions import VersionTable
from mhhs_sit.core.yamlsrc import PathPart


@dataclass
class Entry:
    """An interface as read from interfaces.yaml and messages.yaml, before versions are applied."""

    id: str
    values: dict[str, object]
    path: tuple[PathPart, ...]
    events: dict[str, EventEnvelope] = field(default_factory=dict)  # from messages.yaml

    def text(self, key: str, default: str = "") -> str:
        return str(self.values.get(key, default))

    def codes(self, key: str) -> tuple[str, ...]:
        """A list of role codes, block names or event codes (checked to be strings on reading)."""
        value = self.values.get(key, [])
        return tuple(str(v) for v in value) if isinstance(value, list) else ()


def envelope(entry: Entry) -> EnvelopeSpec:
    presence = entry.values.get("custom_block")
    custom: CustomPresence = "optional" if presence == "optional" else "none" if presence == "none" else "required"
    return EnvelopeSpec(
        interface_id=entry.id,
        schema_version=entry.text("schema_version"),
        common_required=entry.codes("common"),
        common_optional=entry.codes("optional"),
        custom_block=custom,
        detail=detail_of(entry.values.get("detail")),
        events=dict(entry.events),
    )


def public_interfaces(
    entries: list[Entry], states: dict[str, VersionState], table: VersionTable
) -> tuple[Interface, ...]:
    out = []
    for e in entries:
        present = tuple(name for name, state in states.items() if e.id in state.events)
        spec = envelope(e)
        out.append(
            Interface(
                id=e.id,
                publication_id=e.id if e.id.startswith("REP") else "PUB-" + e.id[3:],
                name=e.text("name"),
                catalogue_name=e.text("catalogue_name"),
                process=e.text("process"),
                senders=frozenset(e.codes("senders")),
                recipients=frozenset(e.codes("recipients")),
                always=frozenset(e.codes("always")),
                routing=frozenset(e.codes("routing")),
                schema_version=e.text("schema_version"),
                source=source_of(e.values.get("source")),
                detail=detail_of(e.values.get("detail")),
                versions=present,
                notes=e.text("notes"),
                event_table=tuple((name, tuple(states[name].events[e.id])) for name in present),
                resolve=table.resolve,
                without_custom_block=frozenset(
                    code for name in present for code in states[name].events[e.id] if not spec.has_custom_block(code)
                ),
            )
        )
    return tuple(out)


# The narrowings below read values already checked on reading: a catalogue with problems is never built.


def source_of(value: object) -> Source:
    return "published" if value == "published" else "modelled"


def detail_of(value: object) -> Literal["full", "envelope-only"]:
    return "full" if value == "full" else "envelope-only"
