"""What a metering point is: its vocabularies, the consistent attribute mixes, its parties and
its two shapes (a row of strings in ``CSV_COLUMNS`` order, and the dict ``row_dict`` builds).

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
from types import MappingProxyType

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
_PER_THOUSAND = tuple(n for n, p in enumerate(PROFILES) for _ in range(p.weight))
# Profile index by ten bits of an item's noise: each profile's share is its weight / 1000 +- 0.1%.
PROFILE_TABLE: tuple[int, ...] = tuple(_PER_THOUSAND[i * 1000 // 1024] for i in range(1024))

# Meter timeswitch codes per profile class (industry-common range 800-999), two at most.
MTC_CHOICES: Mapping[str, tuple[str, ...]] = {
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
