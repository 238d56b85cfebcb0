"""``--rerun``: which cases a run repeats, from their latest status in a cycle's results store.

Decided once, by the controller (or a serial run), and handed to the workers in their input, so
every worker selects the same cases even while the store changes under the run.
"""

from __future__ import annotations

import dataclasses

import pytest

from mhhs_sit.collection.selection import Selection
from mhhs_sit.collection.workers import worker_input
from mhhs_sit.errors import MhhsSitError
from mhhs_sit.project import Project


def with_rerun(config: pytest.Config, selection: Selection, project: Project, run_id: str) -> Selection:
    """``selection`` with the ``--rerun`` statuses and the cycle's latest statuses, if asked for."""
    values = config.getoption("mhhs_rerun", None)
    if not values:
        return selection
    from mhhs_sit.store.rerun import parse_rerun

    try:
        statuses = parse_rerun(values)
    except MhhsSitError as exc:
        raise pytest.UsageError(str(exc)) from None
    winput = worker_input(config)
    latest = dict(winput["mhhs_rerun_latest"]) if winput is not None else _latest(config, project, run_id)
    return dataclasses.replace(selection, rerun=statuses, rerun_latest=latest)


def _latest(config: pytest.Config, project: Project, run_id: str) -> dict[str, str]:
    from mhhs_sit.store.rerun import cycle_statuses

    cycle, spec = config.getoption("mhhs_cycle", None), project.store_spec(config.getoption("mhhs_store", None))
    if not cycle:
        raise pytest.UsageError("--rerun needs --cycle NAME: the cycle whose latest results decide what to re-run")
    if spec is None:
        raise pytest.UsageError("--rerun needs a results store (--mhhs-store is 'none')")
    try:
        return cycle_statuses(spec, project.root, str(cycle), exclude_run=run_id)
    except MhhsSitError as exc:
        raise pytest.UsageError(str(exc)) from None
