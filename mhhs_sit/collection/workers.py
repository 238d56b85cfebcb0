"""What the xdist controller hands every worker, typed: the run's identity and its one DIP.

The controller decides the run id, the data seed, the ``--rerun`` selection and starts the local
simulator; workers must use the same, or their evidence, test data and webhooks would disagree.
A simulator that failed in the controller is handed over as its error, so no worker starts one
of its own: every case is reported broken with the controller's reason. A worker's queue of items
(``WorkerQueue``) is what it may start ahead of their turn (``overlap``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, cast

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


class _Pending(Protocol):
    """xdist's ``TestQueue``: the indices handed to this worker and not yet taken."""

    def lock(self) -> AbstractContextManager[Iterable[object]]: ...


class WorkerQueue:
    """What this xdist worker will run next, in order: the item pytest runs, the next one (xdist
    takes it off its queue before running the current one, to pass it as ``nextitem``), then the
    indices still queued. They are read from xdist's ``WorkerInteractor`` (``torun`` and
    ``session``), under its queue's lock; without them only the first two are known."""

    def __init__(self, plugins: pytest.PytestPluginManager):
        self._plugins = plugins
        self._found: Any = None

    def __call__(self, item: pytest.Item, nextitem: pytest.Item | None, count: int) -> list[pytest.Item]:
        upcoming = [item] if nextitem is None else [item, nextitem]
        interactor = self._interactor()
        if nextitem is None or interactor is None or len(upcoming) >= count:
            return upcoming[:count]
        items: Sequence[pytest.Item] = interactor.session.items
        pending: _Pending = interactor.torun
        with pending.lock() as queued:
            indices = [i for i in itertools.islice(queued, count - len(upcoming)) if isinstance(i, int)]
        return upcoming + [items[i] for i in indices]

    def _interactor(self) -> Any:
        if self._found is None:
            found = (p for p in self._plugins.get_plugins() if type(p).__name__ == "WorkerInteractor")
            self._found = next((p for p in found if hasattr(p, "torun") and hasattr(p, "session")), None)
        return self._found
