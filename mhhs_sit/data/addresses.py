"""Pre-built address pools, so a million metering points cost a million lookups, not Faker calls.

Street lines come from Faker ``en_GB`` (seeded); post towns and postcodes come from the real
postcode areas of each GSP group's region, so an MPAN in ``_C`` gets a London postcode. Postcodes
have the real shape (area, district, sector digit, two unit letters from the 20 letters Royal Mail
uses) but are not checked against the Postcode Address File.

Faker's output for a seed can change between Faker releases; pin Faker where data generated on
one machine must match data drawn on another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from mhhs_sit.data.distributors import GSP_GROUPS
from mhhs_sit.data.keyed import derive_key, mix64

STREETS = 2048  # a power of two: an item picks its street with a bit mask
PLACES_PER_GROUP = 256
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # inward-code letters: no C I K M O V

# Postcode areas (and their post towns) in each GSP group's region.
POSTCODE_AREAS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "_A": (("CB", "Cambridge"), ("CO", "Colchester"), ("IP", "Ipswich"), ("NR", "Norwich"),
           ("CM", "Chelmsford"), ("SG", "Stevenage"), ("LU", "Luton"), ("PE", "Peterborough")),
    "_B": (("NG", "Nottingham"), ("LE", "Leicester"), ("DE", "Derby"), ("NN", "Northampton"),
           ("LN", "Lincoln")),
    "_C": (("E", "London"), ("N", "London"), ("SE", "London"), ("SW", "London"),
           ("W", "London"), ("NW", "London")),
    "_D": (("L", "Liverpool"), ("CH", "Chester"), ("LL", "Llandudno")),
    "_E": (("B", "Birmingham"), ("CV", "Coventry"), ("WV", "Wolverhampton"), ("DY", "Dudley"),
           ("WS", "Walsall"), ("ST", "Stoke-on-Trent"), ("WR", "Worcester"), ("HR", "Hereford")),
    "_F": (("NE", "Newcastle upon Tyne"), ("DH", "Durham"), ("SR", "Sunderland"),
           ("TS", "Middlesbrough"), ("DL", "Darlington")),
    "_G": (("M", "Manchester"), ("BL", "Bolton"), ("OL", "Oldham"), ("PR", "Preston"),
           ("BB", "Blackburn"), ("LA", "Lancaster"), ("CA", "Carlisle"), ("WN", "Wigan")),
    "_H": (("SO", "Southampton"), ("PO", "Portsmouth"), ("RG", "Reading"), ("OX", "Oxford"),
           ("SP", "Salisbury")),
    "_J": (("BN", "Brighton"), ("TN", "Tunbridge Wells"), ("CT", "Canterbury"),
           ("ME", "Maidstone"), ("RH", "Redhill")),
    "_K": (("CF", "Cardiff"), ("SA", "Swansea"), ("NP", "Newport")),
    "_L": (("EX", "Exeter"), ("PL", "Plymouth"), ("TQ", "Torquay"), ("TR", "Truro"),
           ("BS", "Bristol"), ("BA", "Bath"), ("TA", "Taunton")),
    "_M": (("LS", "Leeds"), ("BD", "Bradford"), ("HX", "Halifax"), ("HD", "Huddersfield"),
           ("WF", "Wakefield"), ("HU", "Hull"), ("S", "Sheffield"), ("DN", "Doncaster"),
           ("YO", "York")),
    "_N": (("G", "Glasgow"), ("EH", "Edinburgh"), ("KA", "Kilmarnock"), ("ML", "Motherwell"),
           ("DG", "Dumfries"), ("TD", "Galashiels")),
    "_P": (("AB", "Aberdeen"), ("IV", "Inverness"), ("PH", "Perth"), ("KW", "Kirkwall"),
           ("DD", "Dundee")),
}  # fmt: skip


@dataclass(frozen=True)
class AddressBook:
    """Street lines (shared) and (town, postcode) pairs per GSP group, for one seed."""

    streets: tuple[tuple[str, str], ...]  # (line 1, line 2); line 2 "" when there is no flat
    places: Mapping[str, tuple[tuple[str, str], ...]]


def _postcode(area: str, z: int) -> str:
    district = 1 + z % 19
    z //= 19
    sector = z % 10
    z //= 10
    unit = UNIT_LETTERS[z % 20] + UNIT_LETTERS[z // 20 % 20]
    return f"{area}{district} {sector}{unit}"


def _places(group: str, seed: int) -> tuple[tuple[str, str], ...]:
    areas = POSTCODE_AREAS[group]
    key = derive_key("places", group, seed)
    out = []
    for n in range(PLACES_PER_GROUP):
        z = mix64(key ^ n)
        area, town = areas[z % len(areas)]
        out.append((town, _postcode(area, z // len(areas))))
    return tuple(out)


def _streets(seed: int) -> tuple[tuple[str, str], ...]:
    from faker import Faker  # imported here: costs a quarter of a second, needed only here

    fake = Faker("en_GB")
    fake.seed_instance(derive_key("streets", seed))
    out = []
    for n in range(STREETS):
        line = f"{fake.building_number()} {fake.street_name()}"
        if n % 7 == 3:  # about one address in seven is a flat
            out.append((f"Flat {1 + fake.random_int(0, 39)}", line))
        else:
            out.append((line, ""))
    return tuple(out)


@lru_cache(maxsize=8)
def address_book(seed: int) -> AddressBook:
    """Build (once per process and seed) the pools that addresses are drawn from."""
    return AddressBook(_streets(seed), {g: _places(g, seed) for g in GSP_GROUPS})
