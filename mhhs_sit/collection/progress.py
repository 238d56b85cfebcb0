"""Progress of a long cycle: a plain line every so often with done, in flight, to go, rate and ETA.

pytest's own dots and percentages say little when a cycle runs for an hour and most of it is
waiting; a line such as ``mhhs-sit: 420/1000 done (3 failed, 1 broken), 16 in flight, 580 to go,
7.1 cases/s, about 1m22s left`` every ``--mhhs-progress`` seconds does, in a terminal and in a CI
log alike (a plain line, never a rewritten one, so logs stay readable). Only scenario cases are
counted; the line is written where reports are shown (the controller under xdist).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from mhhs_sit.collection.recorder import is_scenario_item as _is_case
from mhhs_sit.collection.reporting import BROKEN_WORD, DEFINITION_WORD, outcome_word

AUTO_FROM = 200  # cases: a shorter run has pytest's own output only, unless --mhhs-progress asks
AUTO_EVERY_S = 30.0


class Progress:
    """Counts finished cases as their reports arrive; writes the line when ``every_s`` has passed."""

    def __init__(
        self,
        every_s: float,
        write: Callable[[str], None],
        in_flight: Callable[[], int],
        *,
        minimum: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.every_s, self.write, self.in_flight, self.minimum, self.clock = every_s, write, in_flight, minimum, clock
        self.total = self.done = self.failed = self.broken = self.definition = 0
        self.started = self._last = clock()
        self._seen: set[str] = set()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = sum(1 for item in session.items if _is_case(item.nodeid))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        self.total = max(self.total, sum(1 for n in ids if _is_case(n)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not _is_case(report.nodeid) or report.nodeid in self._seen:
            return
        if report.when != "call" and report.passed:
            return  # setup passed: the case's own report comes with the call
        self._seen.add(report.nodeid)
        self.done += 1
        if report.failed:
            word = outcome_word(report)
            definition = word == DEFINITION_WORD
            broken = not definition and (word == BROKEN_WORD or report.when != "call")
            self.definition += definition
            self.broken += broken
            self.failed += not (broken or definition)
        now = self.clock()
        if self.total >= self.minimum and self.done < self.total and now - self._last >= self.every_s:
            self._last = now
            self.write(self.line(now))

    def line(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        left = self.total - self.done
        eta = _duration(left / rate) if rate > 0 else "unknown"
        counts = ((self.failed, "failed"), (self.broken, "broken"), (self.definition, "definition error"))
        troubles = ", ".join(f"{n} {w}{'s' if n > 1 and w.endswith('error') else ''}" for n, w in counts if n)
        return (
            f"mhhs-sit: {self.done}/{self.total} done{f' ({troubles})' if troubles else ''}, "
            f"{self.in_flight()} in flight, {left} to go, {rate:.1f} cases/s, about {eta} left"
        )


def _duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def register(config: pytest.Config, in_flight: Callable[[], int]) -> None:
    """A progress line every ``--mhhs-progress`` seconds (0: never); without the option, every
    30 s in runs of 200 cases or more."""
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    given = config.getoption("mhhs_progress", None)
    every = float(given) if given is not None else AUTO_EVERY_S
    if every > 0:
        minimum = 1 if given is not None else AUTO_FROM
        config.pluginmanager.register(Progress(every, _writer(config), in_flight, minimum=minimum), "mhhs-progress")


def _writer(config: pytest.Config) -> Callable[[str], None]:
    """Writes through pytest's terminal reporter (registered after this plugin configures)."""

    def write(text: str) -> None:
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            # under -q the row of outcome letters is open and ensure_newline() does not end it
            if getattr(getattr(terminal, "_tw", None), "width_of_current_line", 1):
                terminal.write("\n")
            terminal.write_line(text)

    return write
