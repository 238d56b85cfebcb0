"""Work handed to one background thread in batches, so the run's own thread never waits on disk
or database. Both evidence files and the results store go through it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_STOP = object()


class BatchWorker(Generic[T]):
    """Calls ``handle(batch)`` on a background thread with what has queued up.

    ``linger_s`` > 0 waits that long after the first item for more, so a handler with a fixed cost
    per call (a database transaction) pays it once per batch; the thread sleeps meanwhile rather
    than waking for each item. ``handle`` returns the problems it
    met (text); after the first, ``stop_on_problem`` drops the rest. ``close`` waits for every
    queued item and returns every problem, so nothing is lost without being said.
    """

    def __init__(
        self,
        handle: Callable[[list[T]], list[str]],
        *,
        name: str,
        linger_s: float = 0.0,
        batch: int = 500,
        stop_on_problem: bool = False,
    ):
        self._handle = handle
        self._name = name
        self._linger_s = linger_s
        self._batch = batch
        self._stop_on_problem = stop_on_problem
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()  # ends a linger early: nothing more is coming
        self.problems: list[str] = []

    def submit(self, item: T) -> None:
        if self._stop_on_problem and self.problems:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name=self._name, daemon=True)
                self._thread.start()
        self._queue.put(item)

    def _drain(self) -> None:
        done = False
        while not done:
            batch, done = self._take()
            if batch and not (self._stop_on_problem and self.problems):
                try:
                    self.problems += self._handle(batch)
                except Exception as exc:  # a handler's own failure is a problem to report, not a dead thread
                    self.problems.append(f"{type(exc).__name__}: {exc}")

    def _take(self) -> tuple[list[T], bool]:
        """The next batch (waiting for its first item), and whether the stop signal came with it."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch: list[T] = [first]  # type: ignore[list-item]
        if self._linger_s > 0:
            # sleep, then take what came: waking for each item as it arrives would take the
            # interpreter lock from the run's thread once per item (measured: ~1 ms a case);
            # a close ends the wait at once (what is queued by then is all there will be)
            self._closing.wait(self._linger_s)
        while len(batch) < self._batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)  # type: ignore[arg-type]
        return batch, False

    def close(self) -> list[str]:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            self._closing.set()
            thread.join()
            self._closing.clear()
        return self.problems
