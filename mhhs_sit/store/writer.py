"""Outcomes go to the store from a background thread, in batches.

Recording an outcome must not slow the run: the controller queues it and carries on; the writer
commits what has queued up within ``LINGER_S`` in one transaction. A run killed before a queued
outcome is committed leaves that item *not run*, which is what the store can vouch for; nothing
it holds is ever wrong. Results are frozen, so the run's thread hands them over without a copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mhhs_sit.core.background import BatchWorker
from mhhs_sit.errors import MhhsSitError
from mhhs_sit.results.model import CaseResult

if TYPE_CHECKING:
    from mhhs_sit.store.store import ResultsStore

LINGER_S = 0.2  # the most a killed run can leave unrecorded (those items then read "not run")


class StoreWriter:
    def __init__(self, store: ResultsStore, run_id: str):
        self.store = store
        self.run_id = run_id
        # one transaction per outcome cost ~1 ms of the run's CPU: gather for a moment instead
        self._worker: BatchWorker[CaseResult] = BatchWorker(
            self._commit, name="mhhs-store-writer", linger_s=LINGER_S, stop_on_problem=True
        )

    def _commit(self, batch: list[CaseResult]) -> list[str]:
        try:
            self.store.record_many(self.run_id, batch)
        except MhhsSitError as exc:  # said once by the recorder; results.json still has everything
            return [str(exc)]
        return []

    def submit(self, result: CaseResult) -> None:
        self._worker.submit(result)

    def close(self) -> str | None:
        """Commit everything queued; the problem met on the way, if any."""
        problems = self._worker.close()
        return problems[0] if problems else None
