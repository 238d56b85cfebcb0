"""``--rerun``: which cases a run repeats, from their latest status in a cycle's results store.

Decided once, by the controller (or a serial run), and handed to the workers in their input, so
every worker selects the same cases even while the store changes under the run.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from mhhs_sit.collection.selection import Selection
from mhhs_sit.collection.workers import worker_input
from mhhs_sit.errors import MhhsSitError
from mhhs_sit.project import Project

if TYPE_CHECKING:
    from mhhs_sit.collection.session import SessionState


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


def nothing_to_rerun(session: pytest.Session, state: SessionState) -> bool:
    """Whether this is a ``--rerun`` that found nothing to re-run; if so it says so on the terminal.
    Nothing to re-run is good news (every case's latest status is fine), not pytest's "no tests"."""
    selection = state.selection
    if selection.rerun_latest is None or session.exitstatus != pytest.ExitCode.NO_TESTS_COLLECTED:
        return False
    cycle = session.config.getoption("mhhs_cycle", None)
    wanted = " or ".join(sorted(selection.rerun))
    matching = sum(1 for status in selection.rerun_latest.values() if status in selection.rerun)
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line(
            f"mhhs-sit: nothing to re-run: no case × cohort of cycle {cycle} selected here has a latest status of "
            f"{wanted} ({matching} of {len(selection.rerun_latest)} recorded results in the cycle have, none of "
            "them among the cases selected)"
            if matching
            else f"mhhs-sit: nothing to re-run: no case × cohort of cycle {cycle} has a latest status of {wanted} "
            f"({len(selection.rerun_latest)} recorded results in the cycle)",
            green=True,
        )
    return True
