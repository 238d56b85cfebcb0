"""Address pools and the attribute mix behind metering points."""

from __future__ import annotations

from collections import Counter

from mhhs_sit.data import DISTRIBUTORS, GSP_GROUPS
from mhhs_sit.data.addresses import (
    PLACES_PER_GROUP,
    POSTCODE_AREAS,
    STREETS,
    address_book,
)
from mhhs_sit.data.filecheck import POSTCODE
from mhhs_sit.data.generate import iter_record_chunks
from mhhs_sit.data.points import PROFILE_TABLE, PROFILES, Parties
from mhhs_sit.data.render import RowMaker
from mhhs_sit.data.sequence import make_stream


def test_every_gsp_group_has_postcode_areas_and_every_distributor_a_known_group() -> None:
    assert set(POSTCODE_AREAS) == set(GSP_GROUPS)
    assert all(set(d.gsp_groups) <= set(GSP_GROUPS) for d in DISTRIBUTORS.values())
    assert [d for d in DISTRIBUTORS if DISTRIBUTORS[d].is_dno] == [str(n) for n in range(10, 24)]


def test_address_pools_are_sized_for_the_bit_layout_and_reproducible() -> None:
    book = address_book(0)
    # RowMaker picks streets and places with 11- and 8-bit masks.
    assert len(book.streets) == STREETS == 2048 and PLACES_PER_GROUP == 256
    assert all(len(places) == 256 for places in book.places.values())
    assert book == address_book.__wrapped__(0)  # rebuilt from scratch: identical
    assert book.streets != address_book(1).streets


def test_postcodes_look_real_and_belong_to_their_region() -> None:
    for group, places in address_book(0).places.items():
        areas = tuple(area for area, _town in POSTCODE_AREAS[group])
        for town, postcode in places:
            assert POSTCODE.fullmatch(postcode), postcode
            assert postcode[: len(postcode) - 4].rstrip("0123456789") in areas
            assert town in {t for _a, t in POSTCODE_AREAS[group]}


def test_profile_weights_give_the_documented_mix() -> None:
    assert sum(p.weight for p in PROFILES) == 1000 and len(PROFILE_TABLE) == 1024
    rows = [
        r
        for chunk in iter_record_chunks(make_stream(3, ["10", "24"], 0), 40_000, RowMaker(address_book(0), Parties()))
        for r in chunk
    ]
    segments = Counter(r[4] for r in rows)
    assert abs(segments["smart"] / len(rows) - 0.85) < 0.02
    assert abs(segments["advanced"] / len(rows) - 0.10) < 0.01
    assert abs(segments["unmetered"] / len(rows) - 0.05) < 0.01
    idno_groups = Counter(r[3] for r in rows if r[1] == "24")
    assert set(idno_groups) == set(GSP_GROUPS)  # an iDNO's points spread over every group
    assert len({r[15] for r in rows if r[15]}) > 0.99 * sum(1 for r in rows if r[15])
