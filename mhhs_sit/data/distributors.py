"""Distributor ids (the first two digits of an MPAN core), their MPIDs and GSP groups.

Source: ``shared/DOMAIN-FACTS.md`` section 5.2 (the ``mpan`` package's table, from Wikipedia and
the Ofgem list, 2022). Ids 10-23 are the 14 DNO areas, each serving one GSP group (listed first);
24-38 are iDNOs, which may operate in any group. Ids above 38 were not found in any source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

GSP_GROUPS: Mapping[str, str] = MappingProxyType(
    {
        "_A": "Eastern",
        "_B": "East Midlands",
        "_C": "London",
        "_D": "Merseyside and North Wales",
        "_E": "Midlands",
        "_F": "Northern",
        "_G": "North Western",
        "_H": "Southern",
        "_J": "South Eastern",
        "_K": "South Wales",
        "_L": "South Western",
        "_M": "Yorkshire",
        "_N": "South Scotland",
        "_P": "North Scotland",
    }
)

_ALL = tuple(GSP_GROUPS)


@dataclass(frozen=True)
class Distributor:
    """One distributor id; ``gsp_groups[0]`` is a DNO's home group."""

    id: str
    mpid: str
    name: str
    gsp_groups: tuple[str, ...]
    is_dno: bool
    ended: str | None = None  # ISO date after which no new MPANs are issued under this id


def _dno(id_: str, mpid: str, name: str, *groups: str) -> Distributor:
    return Distributor(id_, mpid, name, groups, True)


def _idno(id_: str, mpid: str, name: str, groups: tuple[str, ...] = _ALL, ended: str | None = None) -> Distributor:
    return Distributor(id_, mpid, name, groups, False, ended)


DISTRIBUTORS: Mapping[str, Distributor] = MappingProxyType(
    {
        d.id: d
        for d in (
            _dno("10", "EELC", "UK Power Networks (Eastern)", "_A"),
            _dno("11", "EMEB", "National Grid Electricity Distribution (East Midlands)", "_B"),
            _dno("12", "LOND", "UK Power Networks (London)", "_C"),
            _dno("13", "MANW", "SP Energy Networks (Manweb)", "_D"),
            _dno("14", "MIDE", "National Grid Electricity Distribution (West Midlands)", "_E"),
            _dno("15", "NEEB", "Northern Powergrid (Northeast)", "_F"),
            _dno("16", "NORW", "Electricity North West", "_G"),
            _dno("17", "HYDE", "SSE (Scottish Hydro Electric)", "_P", "_N"),
            _dno("18", "SPOW", "SP Energy Networks (SP Distribution)", "_N"),
            _dno("19", "SEEB", "UK Power Networks (South Eastern)", "_J"),
            # Southern Electric also acts as an iDNO outside its home group _H.
            _dno("20", "SOUT", "SSE (Southern Electric)", "_H", *(g for g in _ALL if g != "_H")),
            _dno("21", "SWAE", "National Grid Electricity Distribution (South Wales)", "_K"),
            _dno("22", "SWEB", "National Grid Electricity Distribution (South West)", "_L"),
            _dno("23", "YELG", "Northern Powergrid (Yorkshire)", "_M"),
            _idno("24", "IPNL", "Independent Power Networks"),
            _idno("25", "LENG", "ESP Electricity"),
            _idno("26", "GUCL", "Last Mile Electricity"),
            _idno("27", "ETCL", "The Electricity Network Company"),
            _idno("28", "EDFI", "UK Power Networks (IDNO)", ("_C",), ended="2014-12-17"),
            _idno("29", "HARL", "Harlaxton Energy Networks"),
            _idno("30", "PENL", "Leep Electricity Networks"),
            _idno("31", "UKPD", "UK Power Distribution", tuple(g for g in _ALL if g != "_P")),
            _idno("32", "UDNL", "Energy Assets Networks"),
            _idno("33", "GGEN", "Eclipse Power Networks"),
            _idno("34", "MPDL", "Murphy Power"),
            _idno("35", "FEAL", "Fulcrum Electricity Assets"),
            _idno("36", "VATT", "Vattenfall Networks"),
            _idno("37", "FORB", "Optimal Power Networks"),
            _idno("38", "INDI", "Indigo Power"),
        )
    }
)

DNO_IDS: tuple[str, ...] = tuple(d.id for d in DISTRIBUTORS.values() if d.is_dno)
