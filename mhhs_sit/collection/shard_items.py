"""Which collected items this shard keeps (``--mhhs-shard K/N``): the plan of ``sharding`` applied
to the session's items, weighed by the durations the store recorded in other cycles."""

from __future__ import annotations

import pytest

from mhhs_sit.collection.items import CaseItem
from mhhs_sit.collection.session import state_of
from mhhs_sit.collection.sharding import keep, requested
from mhhs_sit.errors import MhhsSitError
from mhhs_sit.execution.steps import STEP_KINDS


def apply(config: pytest.Config, items: list[pytest.Item]) -> str | None:
    """Deselect the other shards' items; the plan's fingerprint for the header, None unsharded."""
    shard = requested(config)
    if shard is None:
        return None

    def describe(item: pytest.Item) -> tuple[str | None, bool] | None:
        if not isinstance(item, CaseItem):
            return None
        binds = any(s.kind not in STEP_KINDS or STEP_KINDS[s.kind].binds_cohort(s.spec) for s in item.case.steps)
        return (item.cohort.id if item.cohort else None), binds

    kept, others, digest = keep(items, shard, describe, recorded_durations(config))
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = kept
    return digest


def recorded_durations(config: pytest.Config) -> dict[str, float]:
    """nodeid -> seconds of its latest outcome in another cycle's finished run (none: no store)."""
    state = state_of(config)
    spec = state.project.store_spec(config.getoption("mhhs_store", None))
    if spec is None:
        return {}
    from mhhs_sit.store.store import ResultsStore  # only when sharding: the store's driver is heavy

    cycle = config.getoption("mhhs_cycle", None)
    try:
        store = ResultsStore.open(spec, config.rootpath)
        try:
            found = store.results(fields=["duration_s"])
        finally:
            store.close()
    except MhhsSitError:
        return {}  # the store's trouble is reported where the run is recorded
    return {
        r.nodeid: r.duration_s for r in found if r.duration_s is not None and r.run.finished and r.run.cycle != cycle
    }
