"""``--rerun failed|broken|not-run --cycle C2``: exactly the cases whose latest status calls for it.

The controller reads the store once and hands the statuses to every xdist worker, so all workers
select the same items even if another run of the cycle finishes meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mhhs_sit.errors import ConfigError
from mhhs_sit.store import RERUN_STATUSES


def parse_rerun(values: Iterable[str]) -> frozenset[str]:
    """``["failed,broken", "not-run"]`` -> the store statuses ``{"failed", "broken", "not run"}``."""
    wanted = set()
    for value in values:
        for name in (v.strip().lower() for v in value.split(",")):
            if not name:
                continue
            key = name.replace(" ", "-").replace("_", "-")
            if key not in RERUN_STATUSES:
                raise ConfigError(f"--rerun {name}: not a status to re-run; use one of {', '.join(RERUN_STATUSES)}")
            wanted.add(RERUN_STATUSES[key])
    if not wanted:
        raise ConfigError(f"--rerun needs a status: {', '.join(RERUN_STATUSES)}")
    return frozenset(wanted)


def cycle_statuses(spec: str, root: Path, cycle: str, *, exclude_run: str | None = None) -> dict[str, str]:
    """``CASE[COHORT] -> latest status`` over the cycle's runs (this run excluded)."""
    from mhhs_sit.store.cycle import latest_statuses
    from mhhs_sit.store.store import ResultsStore

    store = ResultsStore.open(spec, root)
    try:
        latest = latest_statuses(store.results(cycle, exclude_run=exclude_run, fields=()))
    finally:
        store.close()
    return {claim: status.value for claim, status in latest.items()}  # plain str: workers receive them
