"""``--rerun failed|broken|not-run --cycle C2``: exactly the cases whose latest status calls for it.

The controller reads the store once and hands the statuses to every xdist worker, so all workers
select the same items even if another run of the cycle finishes meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from mhhs_sit.errors import ConfigError
from mhhs_sit.results.outcome import Status
from mhhs_sit.store import RERUN_STATUSES

UNLOADED_FILE = "file "  # a scenario file's key among the claims (``CASE[COHORT]``), which never hold a space


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
    """``CASE[COHORT] -> latest status`` over the cycle's runs (this run excluded), and for each
    scenario file the cycle could not load since it last did, ``UNLOADED_FILE + path -> definition
    error``: its cases' own latest statuses are older than that (see ``rerun_status``)."""
    from mhhs_sit.store.cycle import collection_errors, latest_statuses
    from mhhs_sit.store.store import ResultsStore

    store = ResultsStore.open(spec, root)
    try:
        rows = store.results(cycle, exclude_run=exclude_run, fields=())
    finally:
        store.close()
    out = {claim: status.value for claim, status in latest_statuses(rows).items()}  # plain str: workers receive them
    out.update((UNLOADED_FILE + nodeid, Status.DEFINITION_ERROR.value) for nodeid in collection_errors(rows))
    return out


def rerun_status(latest: Mapping[str, str], claim: str, file: str) -> str:
    """A case's status for ``--rerun``: its file's definition error when the cycle could not load the
    file last time (none of its cases ran then), else the case's own latest, else *not run*."""
    return latest.get(UNLOADED_FILE + file) or latest.get(claim, Status.NOT_RUN.value)
