"""Overlapped waits: cases started ahead of their turn, on threads, and reported in collection order.

A SIT case spends most of its time waiting for asynchronous answers. With ``--mhhs-concurrency N``
up to N cases are in flight at once in a pytest process. Each is *prepared* on the main thread in
collection order (its data drawn, its webhooks subscribed), so every case draws exactly what it
draws in a serial run; then its steps run on a thread of their own. pytest still runs its protocol
for one item after another: an item whose case already ran (or is running) only waits for its
outcome, so the terminal, JUnit, results.json, the store and the Allure results see the same items
in the same order with the same content as in a serial run.

Not started ahead (each runs in its turn, with nothing else in flight, and nothing after it starts
before it ends): an item that is not a case, an item a marker may skip (``skip``, ``skipif``,
``xfail``), and a case with a step that changes what other cases see (``StepKind.exclusive``: a
fault).

What comes next is collection order without xdist. Under xdist (``-n``) it is what this worker has
been handed and not yet run, in the order it will run it (``workers.WorkerQueue``): the cohort
scheduler hands a worker whole work units, so the cases of a cohort it keeps on one worker overlap
there, and a worker never starts an item another may be given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest

from mhhs_sit.collection.items import CaseItem
from mhhs_sit.collection.session import state_of
from mhhs_sit.collection.started_case import StartedCase
from mhhs_sit.collection.workers import WorkerQueue
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.steps import STEP_KINDS

_MAY_SKIP = ("skip", "skipif", "xfail")
_FINISH_TIMEOUT_S = 120.0  # at the end, how long cases started but never reported may take to clean up
_INTERRUPTED_TIMEOUT_S = 5.0


Upcoming = Callable[[pytest.Item, "pytest.Item | None", int], Sequence[pytest.Item]]
"""(item pytest runs now, the next one, how many) -> up to that many items from it on, in the order
they will run."""


class CollectionOrder:
    """What comes next without xdist: the rest of the collection."""

    def __init__(self) -> None:
        self._items: Sequence[pytest.Item] = ()
        self._index: dict[str, int] = {}

    def collected(self, items: Sequence[pytest.Item]) -> None:
        self._items = list(items)
        self._index = {item.nodeid: i for i, item in enumerate(self._items)}

    def __call__(self, item: pytest.Item, nextitem: pytest.Item | None, count: int) -> Sequence[pytest.Item]:
        at = self._index.get(item.nodeid)
        return () if at is None else self._items[at : at + count]


class Overlap:
    """Keeps up to ``limit`` cases in flight from the item pytest is running on."""

    def __init__(self, limit: int, upcoming: Upcoming | None = None):
        self.limit = limit
        self._order = CollectionOrder()
        self._upcoming: Upcoming = upcoming or self._order
        self._started: dict[str, StartedCase] = {}

    def in_flight(self) -> int:
        """Cases started and not yet reported."""
        return len(self._started)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._order.collected(session.items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        # the items before this one are reported, so the next ``limit`` from it on are the ones
        # that may be in flight; a barrier runs in its own turn and nothing after it starts before
        for candidate in self._upcoming(item, nextitem, self.limit):
            if not _startable(candidate):
                break
            if candidate.nodeid not in self._started:
                self._start(candidate)
        if isinstance(item, CaseItem) and item.nodeid in self._started:
            item.started_ahead = self._started.pop(item.nodeid)

    def _start(self, item: pytest.Item) -> None:
        assert isinstance(item, CaseItem) and item.cohort is not None
        started = StartedCase(CaseRun(state_of(item.config).runtime(), item.scenario, item.case, item.cohort))
        self._started[item.nodeid] = started
        started.start()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Cases started but never reported (the session stopped early) end before the runtime
        closes, so their cleanups (a fault's removal) still run; they are recorded as not run.
        After Ctrl-C they get a few seconds, not the minutes their waits may still have."""
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        deadline = time.monotonic() + (_INTERRUPTED_TIMEOUT_S if interrupted else _FINISH_TIMEOUT_S)
        for started in self._started.values():
            started.finished(max(0.0, deadline - time.monotonic()))
        self._started.clear()


def _startable(item: pytest.Item) -> bool:
    if not isinstance(item, CaseItem) or item.cohort is None:
        return False
    if any(item.get_closest_marker(name) is not None for name in _MAY_SKIP):
        return False
    return not any(STEP_KINDS[step.kind].exclusive(step.spec) for step in item.case.steps if step.kind in STEP_KINDS)


def limit_of(config: pytest.Config) -> int:
    """Cases in flight at once in one pytest process: ``--mhhs-concurrency``, else the environment's
    ``concurrency:``."""
    given = config.getoption("mhhs_concurrency", None)
    return int(given) if given is not None else _environment_concurrency(config)


def register(config: pytest.Config) -> None:
    """Overlap cases in the process that runs them (not an xdist controller) when more than one may
    be in flight."""
    if config.option.collectonly or (getattr(config.option, "numprocesses", None) and not _is_worker(config)):
        return  # the controller runs no test
    limit = limit_of(config)
    if limit <= 1:
        return
    upcoming = WorkerQueue(config.pluginmanager) if _is_worker(config) else None
    config.pluginmanager.register(Overlap(limit, upcoming), "mhhs-overlap")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def in_flight(config: pytest.Config) -> int:
    """Cases in flight in this process: those started ahead, else the one pytest is running."""
    overlap = config.pluginmanager.get_plugin("mhhs-overlap")
    return overlap.in_flight() if isinstance(overlap, Overlap) else 1


def _environment_concurrency(config: pytest.Config) -> int:
    environment = state_of(config).project.environment[0]  # loaded once; its problems are shown at collection
    return environment.concurrency if environment is not None else 1
