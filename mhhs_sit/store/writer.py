"""Outcomes go to the store from a background thread, in batches.

Recording an outcome must not slow the run: the controller queues it and carries on; the writer
commits what has queued up within ``LINGER_S`` in one transaction. A run killed
before a queued outcome is committed leaves that item *not run*, which is what the store can
vouch for; nothing it holds is ever wrong.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from mhhs_sit.errors import MhhsSitError

BATCH = 500
LINGER_S = 0.2  # the most a killed run can leave unrecorded (those items then read "not run")


class StoreWriter:
    def __init__(self, store: Any, run_id: str):
        self.store = store
        self.run_id = run_id
        self.error: MhhsSitError | None = None
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._drain, name="mhhs-store-writer", daemon=True)
        self._thread.start()

    def submit(self, record: dict[str, Any]) -> None:
        if self.error is None:
            self._queue.put(record)

    def _drain(self) -> None:
        done = False
        while not done:
            first = self._queue.get()
            batch = [] if first is None else [first]
            done = first is None
            deadline = time.monotonic() + LINGER_S
            while not done and len(batch) < BATCH:
                try:  # gather for a moment: one transaction per outcome cost ~1 ms of the run's CPU
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    done = True
                else:
                    batch.append(nxt)
            if batch and self.error is None:
                try:
                    self.store.record_many(self.run_id, batch)
                except MhhsSitError as exc:  # said once by the recorder; results.json still has everything
                    self.error = exc

    def close(self) -> MhhsSitError | None:
        """Commit everything queued; the problem met on the way, if any."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        return self.error
