"""Metering-point attributes: a pure function of (block key, position), so any item is cheap to
rebuild and identical whether ``generate`` streams it to a file or a pool draws it in a test.

A record is first a tuple of strings in ``CSV_COLUMNS`` order (what the CSV writer wants, no
conversion per row), then, for JSON and for draws, the dict built by ``row_dict``.

Mixes are plausible, not statistics: 85% smart, 10% advanced, 5% unmetered; exports only where
the segment allows; connection type follows the segment (smart W, advanced L/H/E, unmetered U);
profile classes and meter timeswitch codes (industry-common range 800-999) are consistent with
segment and direction but are not checked against Market Domain Data. Meter serials have the
DIP's 10-character shape and are not guaranteed unique.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

from mhhs_sit.data.addresses import PLACES_PER_GROUP, STREETS, AddressBook
from mhhs_sit.data.distributors import DISTRIBUTORS
from mhhs_sit.data.keyed import derive_key, mix64
from mhhs_sit.data.partition import Block
from mhhs_sit.errors import ConfigError

SEGMENTS = ("smart", "advanced", "unmetered")
SEGMENT_CODES: Mapping[str, str] = MappingProxyType(  # DI-050 Market Segment Indicator
    {"smart": "S", "advanced": "A", "unmetered": "U"}
)
DIRECTIONS = ("import", "export")
CONNECTION_TYPES = ("W", "L", "H", "E", "U")  # DI-015: whole current, LV/HV/EHV CT, unmetered
PROFILE_CLASSES = tuple(f"{n:02d}" for n in range(9))
AGENT_ROLES: Mapping[str, tuple[str, str]] = MappingProxyType(  # (metering, data) service
    {"smart": ("MSS", "SDS"), "advanced": ("MSA", "ADS"), "unmetered": ("UMSO", "UMSDS")}
)
MPID = re.compile(r"[A-Z]{4}")

EFFECTIVE_FROM_START = date(2019, 1, 1)
EFFECTIVE_FROM_DAYS = 1800  # about 2.001 x this fits in the bits left, so the spread is even
_DATES = tuple((EFFECTIVE_FROM_START + timedelta(days=n)).isoformat() for n in range(1800))
_MAKERS = "ABEFGHKLMPS"
_LETTERS = "ABCDEFGHJKLMNPRSTUWZ"

CSV_COLUMNS: tuple[str, ...] = (
    "mpan",
    "distributor_id",
    "distributor_mpid",
    "gsp_group",
    "segment",
    "direction",
    "connection_type",
    "domestic",
    "profile_class",
    "meter_timeswitch_code",
    "line_loss_factor_class",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "meter_serial",
    "supplier_mpid",
    "metering_service_role",
    "metering_service_mpid",
    "data_service_role",
    "data_service_mpid",
    "effective_from",
)


@dataclass(frozen=True)
class Profile:
    """A consistent combination of categorical attributes and its share (per thousand)."""

    segment: str
    direction: str
    connection_type: str
    domestic: bool
    profile_class: str
    weight: int


PROFILES: tuple[Profile, ...] = (
    Profile("smart", "import", "W", True, "01", 430),
    Profile("smart", "import", "W", True, "02", 160),
    Profile("smart", "import", "W", False, "03", 100),
    Profile("smart", "import", "W", False, "04", 50),
    Profile("smart", "export", "W", True, "08", 80),
    Profile("smart", "export", "W", False, "08", 30),
    Profile("advanced", "import", "L", False, "00", 30),
    Profile("advanced", "import", "L", False, "05", 10),
    Profile("advanced", "import", "L", False, "06", 10),
    Profile("advanced", "import", "L", False, "07", 5),
    Profile("advanced", "import", "L", False, "08", 5),
    Profile("advanced", "import", "H", False, "00", 20),
    Profile("advanced", "import", "E", False, "00", 5),
    Profile("advanced", "export", "L", False, "00", 10),
    Profile("advanced", "export", "H", False, "00", 5),
    Profile("unmetered", "import", "U", False, "01", 20),
    Profile("unmetered", "import", "U", False, "08", 20),
    Profile("unmetered", "import", "U", False, "00", 10),
)
_TABLE: tuple[int, ...] = tuple(n for n, p in enumerate(PROFILES) for _ in range(p.weight))

_MTC: Mapping[str, tuple[str, ...]] = {
    "00": ("845", "846"),
    "01": ("801", "845"),
    "02": ("802", "851"),
    "03": ("801", "845"),
    "04": ("802", "851"),
    "05": ("803",),
    "06": ("803",),
    "07": ("803",),
    "08": ("801", "850"),
}


@dataclass(frozen=True)
class Parties:
    """The cohort's appointed supplier and agents (MPIDs), validated once."""

    supplier_mpid: str | None = None
    agent_mpids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        roles = {r for pair in AGENT_ROLES.values() for r in pair}
        if self.supplier_mpid is not None and not _is_mpid(self.supplier_mpid):
            raise ConfigError(f"supplier MPID {self.supplier_mpid!r} must be 4 capital letters")
        for role, mpid in self.agent_mpids.items():
            if role not in roles:
                raise ConfigError(f"agent role {role!r} is not one of {', '.join(sorted(roles))}")
            if not _is_mpid(mpid):
                raise ConfigError(f"{role} MPID {mpid!r} must be 4 capital letters")

    def columns(self, segment: str) -> tuple[str, str, str, str, str]:
        ms, ds = AGENT_ROLES[segment]
        get = self.agent_mpids.get
        return (self.supplier_mpid or "", ms, get(ms, ""), ds, get(ds, ""))


def _is_mpid(value: object) -> bool:
    return isinstance(value, str) and MPID.fullmatch(value) is not None


class RowMaker:
    """Builds record rows for one address book and one set of parties (tables built once)."""

    def __init__(self, book: AddressBook, parties: Parties) -> None:
        self._streets = book.streets
        self._places = book.places
        self._mids = tuple(
            (p.segment, p.direction, p.connection_type, "true" if p.domestic else "false",
             p.profile_class)
            for p in PROFILES
        )  # fmt: skip
        self._parties = tuple(parties.columns(p.segment) for p in PROFILES)
        self._llfc: dict[tuple[str, str], str] = {}

    def _line_loss(self, distributor_id: str, profile_class: str) -> str:
        key = (distributor_id, profile_class)
        llfc = self._llfc.get(key)
        if llfc is None:
            llfc = f"{derive_key('llfc', *key) % 900 + 100:03d}"
            self._llfc[key] = llfc
        return llfc

    def row(self, b: Block, core: str, position: int) -> tuple[str, ...]:
        """The record for ``core``, at ``position`` (HHH * 1000 + LLL) in block ``b``."""
        z = mix64(b.key ^ position)
        profile = _TABLE[z % 1000]
        z //= 1000
        line1, line2 = self._streets[z % STREETS]
        z //= STREETS
        place = z % PLACES_PER_GROUP
        z //= PLACES_PER_GROUP
        serial = z % 10_000_000
        eff = _DATES[(z // 10_000_000) % EFFECTIVE_FROM_DAYS]
        dist = DISTRIBUTORS[b.distributor_id]
        groups = dist.gsp_groups
        gsp = groups[0] if dist.is_dno else groups[serial % len(groups)]
        town, postcode = self._places[gsp][place]
        mid = self._mids[profile]
        segment, pc = mid[0], mid[4]
        choices = _MTC[pc]
        mtc = choices[(serial // 10) % len(choices)]
        if segment == "smart":
            meter = f"{eff[2:4]}{_MAKERS[serial % 11]}{serial:07d}"
        elif segment == "advanced":
            meter = f"{_LETTERS[serial % 20]}{_LETTERS[serial // 20 % 20]}{eff[2:4]}" + (
                f"{_LETTERS[serial // 400 % 20]}{serial % 100_000:05d}"
            )
        else:
            meter = ""
        return (
            (core, dist.id, dist.mpid, gsp)
            + mid
            + (mtc, self._line_loss(dist.id, pc), line1, line2, town, postcode, meter)
            + self._parties[profile]
            + (eff,)
        )


def row_dict(row: tuple[str, ...]) -> dict[str, object]:
    """The JSON-ready dict for a record row (what ``draw('metering_point')`` returns)."""
    (mpan, did, dmpid, gsp, seg, direction, ct, dom, pc, mtc, llfc, l1, l2, town, postcode,
     serial, sup, msr, msm, dsr, dsm, eff) = row  # fmt: skip
    return {
        "mpan": mpan,
        "full_mpan": pc + mtc + llfc + mpan,
        "distributor_id": did,
        "distributor_mpid": dmpid,
        "gsp_group": gsp,
        "segment": seg,
        "direction": direction,
        "connection_type": ct,
        "domestic": dom == "true",
        "profile_class": pc,
        "meter_timeswitch_code": mtc,
        "line_loss_factor_class": llfc,
        "address": {"lines": [x for x in (l1, l2) if x], "town": town, "postcode": postcode},
        "meter_serial": serial or None,
        "supplier_mpid": sup or None,
        "metering_service_role": msr,
        "metering_service_mpid": msm or None,
        "data_service_role": dsr,
        "data_service_mpid": dsm or None,
        "effective_from": eff,
    }
