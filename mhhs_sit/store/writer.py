"""Outcomes go to the store from a background thread, in batches.

Recording an outcome must not slow the run: the controller queues it and carries on; the writer
commits what has queued up within ``LINGER_S`` in one transaction. A run killed before a queued
outcome is committed leaves that item *not run*, which is what the store can vouch for; nothing
it holds is ever wrong.
"""

from __future__ import annotations

from typing import Any

from mhhs_sit.core.background import BatchWorker
from mhhs_sit.errors import MhhsSitError

LINGER_S = 0.2  # the most a killed run can leave unrecorded (those items then read "not run")


class StoreWriter:
    def __init__(self, store: Any, run_id: str):
        self.store = store
        self.run_id = run_id
        # one transaction per outcome cost ~1 ms of the run's CPU: gather for a moment instead
        self._worker: BatchWorker[dict[str, Any]] = BatchWorker(
            self._commit, name="mhhs-store-writer", linger_s=LINGER_S, stop_on_problem=True
        )

    def _commit(self, batch: list[dict[str, Any]]) -> list[str]:
        try:
            self.store.record_many(self.run_id, batch)
        except MhhsSitError as exc:  # said once by the recorder; results.json still has everything
            return [str(exc)]
        return []

    def submit(self, record: dict[str, Any]) -> None:
        self._worker.submit(record)

    def close(self) -> str | None:
        """Commit everything queued; the problem met on the way, if any."""
        problems = self._worker.close()
        return problems[0] if problems else None
