"""What the xdist controller hands every worker, typed: the run's identity and its one DIP.

The controller decides the run id, the data seed, the ``--rerun`` selection and starts the local
simulator; workers must use the same, or their evidence, test data and webhooks would disagree.
A simulator that failed in the controller is handed over as its error, so no worker starts one
of its own: every case is reported broken with the controller's reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypedDict, cast

import pytest

if TYPE_CHECKING:
    from mhhs_sit.execution.local_stubs import LocalStubs


class WorkerInput(TypedDict, total=False):
    """``node.workerinput`` as this plugin fills it (xdist adds ``workerid`` and ``workercount``)."""

    workerid: str
    workercount: int
    mhhs_run_id: str
    mhhs_seed: int
    mhhs_rerun_latest: dict[str, str]
    mhhs_dip_url: str
    mhhs_api_keys: dict[str, str]
    mhhs_credentials_dir: str | None
    mhhs_stub_error: str


class WorkerNode(Protocol):
    """What the controller sees of a worker it configures (xdist's WorkerController)."""

    config: pytest.Config
    workerinput: dict[str, object]


def worker_input(config: pytest.Config) -> WorkerInput | None:
    """This process's worker input; None in the controller or a run without xdist."""
    winput = getattr(config, "workerinput", None)
    return cast("WorkerInput", winput) if winput is not None else None


def simulator_input(stubs: LocalStubs | None) -> WorkerInput:
    """Where the controller's simulator is, and the API keys it issued for this run."""
    if stubs is None:
        return {}
    return {
        "mhhs_dip_url": stubs.url,
        "mhhs_api_keys": dict(stubs.api_keys),
        "mhhs_credentials_dir": stubs.credentials_dir,
    }


def worker_slot(winput: WorkerInput) -> tuple[int, int]:
    """(this worker's data slot, number of workers); a replacement for a crashed worker (gw2 of 2)
    takes the dead worker's slot."""
    workers = int(winput.get("workercount", 1))
    worker = str(winput.get("workerid", "gw0"))
    number = int(worker[2:]) if worker[2:].isdigit() else 0
    return number % max(workers, 1), workers
