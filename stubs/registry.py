"""What a simulated registration service can know about an MPAN before any message mentions it.

The data pool (``mhhs_sit.data``) issues every test MPAN from a *registered* stream (cores loaded
into participants' systems) or an *unregistered* one (cores never loaded). A simulated REGS treats
the registered stream as its register, so ``draw: mpan`` gives a known MPAN and ``draw: mpan,
registered: false`` an unknown one; a core with a wrong check digit is invalid. A real-looking core
the pool never issues (``foreign``) is taken as known: the simulator has no register to deny it.

The register's site data for a pool MPAN is the pool's own metering point (``site_of``: the
GSP-correct address, segment, connection type, direction, domestic flag, DUoS tariff), so what REGS
writes in B022-B026/B028 agrees with what ``draw: metering_point`` gives a test; a foreign core gets
the fixed test site. Every pool point is energised (the pool draws no de-energised points).
Modelled: the DUoS tariff (B024 DUOSTariffID, at most 3 characters) is the point's line loss factor
class, the three characters of the full MPAN's top line that the MHHS DUoS Tariff ID takes over.
"""

from __future__ import annotations

from functools import lru_cache

from mhhs_sit.data import describe_core, mpan_core_problem
from mhhs_sit.data.addresses import address_book
from mhhs_sit.data.partition import REGISTERED_ROWS, block
from mhhs_sit.data.points import SEGMENT_CODES, Parties, row_dict
from mhhs_sit.data.render import RowMaker

# The site of an MPAN the pool did not issue: the fixed test values REGS wrote before it had a register.
TEST_SITE: dict[str, object] = {
    "postcode": "SW1A 2AA", "line1": "1 Test Street", "line2": None, "town": "London", "gsp_group": None,
    "segment": "S", "connection_type": "W", "direction": "I", "metered": True, "domestic": True,
    "energisation": "E", "duos_tariff": "101",
}  # fmt: skip


@lru_cache(maxsize=4096)
def mpan_status(core: object) -> str:
    """``invalid``, ``unregistered``, ``registered`` or ``foreign`` (valid, not from the pool)."""
    if not isinstance(core, str) or mpan_core_problem(core) is not None:
        return "invalid"
    origin = describe_core(core)
    if origin is None:
        return "foreign"
    where = block(origin.distributor_id, origin.cohort_index, origin.seed).locate(core)
    if where is None:
        return "foreign"
    return "registered" if where[0] in REGISTERED_ROWS else "unregistered"


def mpan_view(core: object) -> dict[str, object]:
    """``mpan.*`` as rules see it: the core, its status, whether the register knows it and its site."""
    status = mpan_status(core) if core is not None else "absent"
    return {"core": core, "status": status, "known": status in ("registered", "foreign"), "site": site_of(core)}


@lru_cache(maxsize=8)
def _rows(seed: int) -> RowMaker:
    return RowMaker(address_book(seed), Parties())


@lru_cache(maxsize=4096)
def site_of(core: object) -> dict[str, object]:
    """The site data the register holds for ``core`` (a pool point's own; else ``TEST_SITE``)."""
    origin = describe_core(core) if isinstance(core, str) and mpan_core_problem(core) is None else None
    if origin is None:
        return TEST_SITE
    b = block(origin.distributor_id, origin.cohort_index, origin.seed)
    where = b.locate(str(core))
    if where is None:  # pragma: no cover - describe_core found it in this very block
        return TEST_SITE
    point = row_dict(_rows(origin.seed).row(b, *b.cell(*where)))
    address = point["address"]
    assert isinstance(address, dict)
    lines = [*address["lines"], None, None]
    segment = SEGMENT_CODES[str(point["segment"])]
    return {
        "postcode": address["postcode"], "line1": lines[0], "line2": lines[1], "town": address["town"],
        "gsp_group": point["gsp_group"], "segment": segment, "connection_type": point["connection_type"],
        "direction": "E" if point["direction"] == "export" else "I", "metered": segment != "U",
        "domestic": point["domestic"], "energisation": "E", "duos_tariff": point["line_loss_factor_class"],
    }  # fmt: skip
