"""Writing extracted spec facts as the catalogue's YAML files, byte for byte the same each time.

The layout is the one the loader reads (:mod:`.loader`); the headers and the ``x-expected``
phrases (what violation messages say a value should look like) are the project's own words.
"""

from __future__ import annotations

import yaml

from mhhs_sit.catalogue.specfacts import EventFacts, Extraction, InterfaceFacts, Schema

# The project's wording of what a value of a data type looks like (by the type's name).
EXPECTED = {
    "InterfaceID": "an interface id such as IF-031 or REP-002A",
    "DateTime": "a date-time of exactly 25 characters with its UTC offset, like 2022-03-21T19:05:00+00:00",
    "Date": "a date such as 2022-03-21",
    "DIPParticipantID": "a DIP participant id of exactly 10 characters, like 2300000001",
    "DIPParticipantRole": "a DIP role code of 3 to 5 characters, like SUP",
    "MPAN": "a 13-digit MPAN core, like 2000056535971",
    "MPID": "a market participant id of 4 characters, like EMEB",
    "SenderUniqueReference": (
        "S-<interface>-<10-character DIP id>-<role>-<yyyymmdd>-<reference>, like S-IF-031-2300000001-SUP-20240101-0001"
    ),
    "CorrelationID": "a correlation id",
    "PublicationID": "a publication id such as PUB-031 or REP-002A",
    "Decimal-9-3": "a decimal as a string, up to 9 digits before the point and exactly 3 after, like 12.345",
    "Decimal-13-3": "a decimal as a string, up to 13 digits before the point and exactly 3 after, like 12.345",
    "Decimal-9-6": "a decimal as a string, up to 9 digits before the point and exactly 6 after, like 1.234567",
    "Decimal-15-2": "a decimal as a string, up to 15 digits before the point and exactly 2 after, like 12.34",
}

_GENERATED = (
    "# Generated from the official DIP API spec {version} by `mhhs-sit catalogue generate --dip-spec PATH`:\n"
    "# the spec's facts only (names, types, patterns, enums, lengths, required lists), in the\n"
    "# catalogue's own format. Do not edit by hand: regenerate (docs/catalogue.md says how).\n"
)
_HEADERS = {
    "types.yaml": "# Data types: JSON Schema fragments named after the spec's DT-nnn types; other files\n"
    "# refer to them as  $ref: '#/types/Name'  (nullable: true beside a $ref also allows null).\n"
    "# x-expected is the project's wording of the expected form, used in violation messages.\n",
    "blocks.yaml": "# Blocks: the common blocks (S0, S1, A0, D0, M0, M1, R0…), the custom blocks (B0xx, B9xx),\n"
    "# the ISD and report blocks (P0x, R0xx, REP-…); refer to one as  $ref: '#/blocks/B071'.\n",
    "messages.yaml": "# Per interface and event code: S0.schemaVersion, the common blocks required besides S0\n"
    "# (common) and allowed (optional), whether a CustomBlock is required, optional or absent\n"
    "# (custom_block, required when not given), and whether S0 and CommonBlock accept keys besides\n"
    "# those listed (s0: open, common_block: open; closed when not given).\n",
}


class _Dumper(yaml.SafeDumper):
    """Block style for structure, flow style for leaves; anchors named after what they share."""

    def ignore_aliases(self, data: object) -> bool:
        return not isinstance(data, dict)


def _dump(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=4096, allow_unicode=True)


def render_files(extraction: Extraction) -> dict[str, str]:
    """File name -> text of each generated file."""
    head = _GENERATED.format(version=extraction.version)
    files = {
        "types.yaml": head + _HEADERS["types.yaml"] + "\n" + _dump(_with_expected(extraction.types)),
        "blocks.yaml": head + _HEADERS["blocks.yaml"] + "\n" + _dump(extraction.blocks),
        "messages.yaml": head + _HEADERS["messages.yaml"] + "\n" + _dump(_messages(extraction.interfaces)),
    }
    for iid, facts in extraction.interfaces.items():
        if facts.custom:
            note = f"# {iid}: the custom block of each event code that has one (see messages.yaml).\n"
            files[f"{iid}.yaml"] = head + note + "\n" + _dump(facts.custom)
    return files


def _with_expected(types: dict[str, Schema]) -> dict[str, Schema]:
    return {
        name: ({**schema, "x-expected": EXPECTED[name]} if name in EXPECTED else schema)
        for name, schema in types.items()
    }


def _messages(interfaces: dict[str, InterfaceFacts]) -> dict[str, object]:
    return {
        iid: {"schema_version": facts.schema_version, "events": {c: _event(e) for c, e in facts.events.items()}}
        for iid, facts in interfaces.items()
    }


def _event(event: EventFacts) -> dict[str, object]:
    out: dict[str, object] = {"common": list(event.common), "optional": list(event.optional)}
    if event.custom_block != "required":
        out["custom_block"] = event.custom_block
    if not event.s0_closed:
        out["s0"] = "open"
    if not event.common_closed:
        out["common_block"] = "open"
    return out
