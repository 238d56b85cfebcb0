"""Rendering items: an item's 64 bits of keyed noise become one metering-point record.

Every attribute is a pure function of (block, HHH, LLL), so any item is cheap to rebuild and is
identical whether ``generate`` streams it to a file or a pool draws it in a test. ``RowMaker``
renders the same item three ways (a row of strings, a CSV line, a JSON line) from one decoding,
with everything shared by many items pre-rendered once: that is what makes 300,000 CSV records
a second possible without per-record Faker calls or ``csv.writer``'s per-field work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from mhhs_sit.data.addresses import PLACES_PER_GROUP, STREETS, AddressBook
from mhhs_sit.data.distributors import DISTRIBUTORS, Distributor
from mhhs_sit.data.keyed import derive_key
from mhhs_sit.data.partition import Block
from mhhs_sit.data.points import CSV_COLUMNS, MTC_CHOICES, PROFILE_TABLE, PROFILES, Parties

EFFECTIVE_FROM_START = date(2019, 1, 1)
EFFECTIVE_FROM_DAYS = 2048  # 2019-01-01 to 2024-08-09: eleven bits of each item's noise
_DATES = tuple((EFFECTIVE_FROM_START + timedelta(days=n)).isoformat() for n in range(EFFECTIVE_FROM_DAYS))
_MAKERS = "ABEFGHKLMPS"
_LETTERS = "ABCDEFGHJKLMNPRSTUWZ"


def _csv(text: str) -> str:
    """One CSV field, quoted only when it must be (as ``csv.writer`` does by default)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


@dataclass(frozen=True)
class _Kind:
    """Everything shared by items of one distributor, GSP group, profile and MTC, pre-rendered."""

    segment: str
    top: str  # profile class + MTC + LLFC: the full MPAN's top line
    row: tuple[str, ...]  # distributor_id .. line_loss_factor_class
    csv: str  # the same, as CSV fields each followed by a comma
    json: str  # the same, as JSON members each followed by a comma
    parties: tuple[str, ...]
    parties_csv: str
    parties_json: str


_YY = tuple(d[2:4] for d in _DATES)
_STREET_MASK = STREETS - 1  # 11 bits: STREETS is 2048
_PLACE_MASK = PLACES_PER_GROUP - 1  # 8 bits: PLACES_PER_GROUP is 256
_D3 = tuple(f"{n:03d}" for n in range(1000))
_D4 = tuple(f"{n:04d}" for n in range(10000))
_PROFILE_COUNT = len(PROFILES)
_KINDS_PER_GROUP = _PROFILE_COUNT * 2  # two meter timeswitch code choices per profile
_JSON = json.JSONEncoder(ensure_ascii=False).encode
# the classification columns of a metering point, in CSV order
_ROW_KEYS = CSV_COLUMNS[CSV_COLUMNS.index("distributor_id") : CSV_COLUMNS.index("address_line_1")]
_PARTY_KEYS = (
    "supplier_mpid",
    "metering_service_role",
    "metering_service_mpid",
    "data_service_role",
    "data_service_mpid",
)


def _json_value(key: str, value: str) -> str:
    if key == "domestic":
        return value
    if key.endswith("_mpid") and not value:
        return "null"
    return _JSON(value)


class RowMaker:
    """Builds records for one address book and one set of parties (tables built once).

    ``row``, ``csv_line`` and ``json_line`` render the same item three ways from the same
    decoded attributes; the tests hold them equal. Each takes (block, core, HHH, LLL).
    """

    def __init__(self, book: AddressBook, parties: Parties) -> None:
        self._streets = book.streets
        self._places = book.places
        self._parties = parties
        self._street_csv = tuple(f"{_csv(a)},{_csv(b)}," for a, b in book.streets)
        self._street_json = tuple('"address":{"lines":' + _JSON([x for x in (a, b) if x]) for a, b in book.streets)
        self._place_csv = {g: tuple(f"{_csv(t)},{_csv(p)}," for t, p in places) for g, places in book.places.items()}
        self._place_json = {
            g: tuple(f',"town":{_JSON(t)},"postcode":{_JSON(p)}}},' for t, p in places)
            for g, places in book.places.items()
        }
        self._kinds: dict[str, tuple[_Kind, ...]] = {}

    def _make_kind(self, dist: Distributor, gsp: str, profile: int, mtc_index: int) -> _Kind:
        p = PROFILES[profile]
        choices = MTC_CHOICES[p.profile_class]
        mtc = choices[mtc_index % len(choices)]
        llfc = f"{derive_key('llfc', dist.id, p.profile_class) % 900 + 100:03d}"
        dom = "true" if p.domestic else "false"
        row = (dist.id, dist.mpid, gsp, p.segment, p.direction, p.connection_type, dom,
               p.profile_class, mtc, llfc)  # fmt: skip
        parties = self._parties.columns(p.segment)
        return _Kind(
            p.segment,
            p.profile_class + mtc + llfc,
            row,
            "".join(f"{v}," for v in row),
            "".join(f'"{k}":{_json_value(k, v)},' for k, v in zip(_ROW_KEYS, row, strict=True)),
            parties,
            "".join(f"{v}," for v in parties),
            "".join(f'"{k}":{_json_value(k, v)},' for k, v in zip(_PARTY_KEYS, parties, strict=True)),
        )

    def _kinds_of(self, distributor_id: str) -> tuple[_Kind, ...]:
        """Every kind of one distributor, indexed by (group * profiles + profile) * 2 + mtc."""
        kinds = self._kinds.get(distributor_id)
        if kinds is None:
            dist = DISTRIBUTORS[distributor_id]
            groups = dist.gsp_groups[:1] if dist.is_dno else dist.gsp_groups
            kinds = tuple(
                self._make_kind(dist, g, p, m) for g in groups for p in range(len(PROFILES)) for m in range(2)
            )
            self._kinds[distributor_id] = kinds
        return kinds

    def _decode(self, b: Block, high: int, low: int) -> tuple[_Kind, int, int, str, int]:
        """(kind, street, place, meter serial, effective-from day) of one item.

        Bits 0-9 pick the profile, 10-20 the street, 21-28 the place, 30-52 the serial number
        and 53-63 the effective-from day. Everything after the split works on ints under 2**30,
        which CPython handles fastest.
        """
        z = b.noise_high[high] ^ b.noise_low[low]
        a = z & 0x3FFFFFFF
        c = z >> 30
        serial = c & 0x7FFFFF
        day = c >> 23
        kinds = self._kinds.get(b.distributor_id) or self._kinds_of(b.distributor_id)
        groups = len(kinds) // _KINDS_PER_GROUP
        kind = kinds[(serial % groups * _PROFILE_COUNT + PROFILE_TABLE[a & 1023]) * 2 + (serial >> 4 & 1)]
        segment = kind.segment
        if segment == "smart":
            meter = _YY[day] + _MAKERS[serial % 11] + _D3[serial // 10000] + _D4[serial % 10000]
        elif segment == "advanced":
            meter = (
                _LETTERS[serial % 20]
                + _LETTERS[serial // 20 % 20]
                + _YY[day]
                + _LETTERS[serial // 400 % 20]
                + _D4[serial % 10000]
                + str(serial // 10000 % 10)
            )
        else:
            meter = ""  # unmetered supplies have no meter
        return kind, a >> 10 & _STREET_MASK, a >> 21 & _PLACE_MASK, meter, day

    def row(self, b: Block, core: str, high: int, low: int) -> tuple[str, ...]:
        """The record for ``core`` (at HHH, LLL of block ``b``) as strings in ``CSV_COLUMNS``
        order."""
        kind, street, place, meter, day = self._decode(b, high, low)
        return (
            (core,)
            + kind.row
            + self._streets[street]
            + self._places[kind.row[2]][place]
            + (meter,)
            + kind.parties
            + (_DATES[day],)
        )

    def csv_line(self, b: Block, core: str, high: int, low: int) -> str:
        """The same record as one CSV line (with its newline)."""
        kind, street, place, meter, day = self._decode(b, high, low)
        return (
            f"{core},{kind.csv}{self._street_csv[street]}{self._place_csv[kind.row[2]][place]}"
            f"{meter},{kind.parties_csv}{_DATES[day]}\n"
        )

    def json_line(self, b: Block, core: str, high: int, low: int) -> str:
        """The same record as ``row_dict`` would give it, as one JSON line."""
        kind, street, place, meter, day = self._decode(b, high, low)
        serial = f'"{meter}"' if meter else "null"
        return (
            f'{{"mpan":"{core}","full_mpan":"{kind.top}{core}",{kind.json}'
            f"{self._street_json[street]}{self._place_json[kind.row[2]][place]}"
            f'"meter_serial":{serial},{kind.parties_json}"effective_from":"{_DATES[day]}"}}\n'
        )
