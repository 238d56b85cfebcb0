"""What a simulated registration service can know about an MPAN before any message mentions it.

The data pool (``mhhs_sit.data``) issues every test MPAN from a *registered* stream (cores loaded
into participants' systems) or an *unregistered* one (cores never loaded). A simulated REGS treats
the registered stream as its register, so ``draw: mpan`` gives a known MPAN and ``draw: mpan,
registered: false`` an unknown one; a core with a wrong check digit is invalid. A real-looking core
the pool never issues (``foreign``) is taken as known: the simulator has no register to deny it.
"""

from __future__ import annotations

from functools import lru_cache

from mhhs_sit.data import describe_core, mpan_core_problem
from mhhs_sit.data.partition import REGISTERED_ROWS, block


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
    """``mpan.*`` as rules see it: the core, its status and whether the register knows it."""
    status = mpan_status(core) if core is not None else "absent"
    return {"core": core, "status": status, "known": status in ("registered", "foreign")}
