"""A case started ahead of its turn (``--mhhs-concurrency``): prepared on the run's thread, its
steps on a thread of their own, reported in the item's own turn."""

from __future__ import annotations

import threading

from mhhs_sit.execution.case import CaseRun


class StartedCase:
    """A case started ahead of its turn: prepared here, its steps on a thread of their own."""

    def __init__(self, run: CaseRun):
        self.run = run
        run.overlapped = True
        self._done = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        from mhhs_sit.execution.engine import prepare_case

        try:
            prepare_case(self.run)
        except BaseException as exc:  # reported in the item's own turn, as a serial run reports it
            self._error = exc
            self._done.set()
            return
        threading.Thread(target=self._steps, name=f"mhhs-case {self.run.claim}", daemon=True).start()

    def _steps(self) -> None:
        from mhhs_sit.execution.engine import run_prepared

        try:
            run_prepared(self.run)
        except BaseException as exc:
            self._error = exc
        finally:
            self._done.set()

    def outcome(self) -> None:
        """Wait for the case to end; raise what it raised."""
        self._done.wait()
        if self._error is not None:
            raise self._error

    def finished(self, timeout: float) -> bool:
        return self._done.wait(timeout)
