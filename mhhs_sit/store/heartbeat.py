"""A running run's heartbeat: the store's proof, for every reader, that the run is still alive.

A case may wait minutes for a message, so outcomes alone say nothing of a run's life; this
thread touches the run's ``heartbeat`` every ``HEARTBEAT_S`` until stopped. A run killed
(``kill -9``, a lost machine) stops beating, and after ``STALE_S`` every reader, on any host of a
shared PostgreSQL, reads it as *interrupted*. A store problem stops the beat and is kept for the
caller to say: results are never lost to it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from mhhs_sit.errors import MhhsSitError

if TYPE_CHECKING:
    from mhhs_sit.store.store import ResultsStore


class Heartbeat:
    def __init__(self, store: ResultsStore, run_id: str, interval_s: float | None = None):
        from mhhs_sit.store.store import HEARTBEAT_S

        self.store = store
        self.run_id = run_id
        self.interval_s = HEARTBEAT_S if interval_s is None else interval_s
        self.problem: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="mhhs-store-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.store.beat(self.run_id)
            except MhhsSitError as exc:
                self.problem = str(exc)
                return

    def stop(self) -> str | None:
        """Stop beating (at once); the problem met, if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.problem

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
