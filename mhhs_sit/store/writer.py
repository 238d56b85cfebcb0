"""Outcomes go to the store from a background thread, in batches.

Recording an outcome must not slow the run: the controller queues it and carries on; the writer
commits whatever has queued up in one transaction, typically within milliseconds. A run killed
before a queued outcome is committed leaves that item *not run*, which is what the store can
vouch for; nothing it holds is ever wrong.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from mhhs_sit.errors import MhhsSitError

BATCH = 500


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
            while not done and len(batch) < BATCH:
                try:
                    nxt = self._queue.get_nowait()
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
