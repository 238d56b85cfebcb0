"""Timers on the simulation clock: what a simulated role does when a date comes, not a message.

A rule's ``schedule`` sets a timer: at an instant (``at``) or after a span (``after``) on the
simulation clock, the trigger it names reaches a simulated party (by default the rule's own), and
that party's ``when: {trigger: NAME}`` rules run with the timer's ``data`` as ``msg``: an
appointment request the proposed service has not answered lapses, a reminder goes out, a
settlement run is made for a settlement day. A timer with a ``key`` replaces the one set earlier
under that key (one run per settlement day and run code, however many messages asked for it).

Due timers run when the clock moves (a listener on SimClock: ``clock: {advance: 6d}`` runs every
timer the jump passes, in date order) and when real time reaches them (one event-loop timer armed
for the next due one, so nothing polls). Running a timer may set others; those already due run in
the same pass. Bounded: at ``limit`` timers ahead a new one is refused (the caller journals it),
and timers replaced under their key are dropped from the heap once they outnumber the live ones.
Thread-safe: the control API reads it from the test's thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from mhhs_stubs.clock import SimClock

MAX_WAIT = 60.0  # seconds: the real-time timer wakes at least this often (the clock may be moved meanwhile)
MAX_PASS = 10_000  # timers one pass runs at most: a timer that keeps setting due timers is a defect, not a hang
TIMER_LIMIT = 200_000  # timers ahead at most (a load run sets one per appointment); beyond it none is set


@dataclass(frozen=True, order=True)
class Timer:
    """One scheduled trigger: at ``at`` (epoch seconds, simulation clock) ``trigger`` reaches ``dip_id``."""

    at: float
    seq: int
    dip_id: str = field(compare=False)
    trigger: str = field(compare=False)
    data: Mapping[str, object] = field(compare=False, default_factory=dict)
    where: Mapping[str, str] = field(
        compare=False, default_factory=dict
    )  # its M0: MPANCore, GSPGroupID, distributorDIPID
    correlation: str | None = field(compare=False, default=None)
    key: str | None = field(compare=False, default=None)
    source: str = field(compare=False, default="")  # the rule that set it (file:line)

    @property
    def due(self) -> str:
        return dt.datetime.fromtimestamp(self.at, dt.UTC).replace(microsecond=0).isoformat()

    def as_dict(self) -> dict[str, object]:
        return {"trigger": self.trigger, "dipId": self.dip_id, "due": self.due, "key": self.key, "setBy": self.source}


@dataclass
class Scheduler:
    """The timers still ahead, soonest first; ``run`` is what a due timer does (the simulators' trigger)."""

    clock: SimClock
    run: Callable[[Timer], None]
    limit: int = TIMER_LIMIT
    _ahead: list[Timer] = field(default_factory=list)  # a heap
    _live: dict[str, int] = field(default_factory=dict)  # key -> seq of the timer that holds it now
    _seq: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _wake: asyncio.TimerHandle | None = None
    _running: bool = False

    def __post_init__(self) -> None:
        self.clock.on_change(self._clock_moved)

    def _clock_moved(self, _now: dt.datetime) -> None:
        self.run_due()

    def add(
        self,
        at: float,
        dip_id: str,
        trigger: str,
        *,
        data: Mapping[str, object] | None = None,
        where: Mapping[str, str] | None = None,
        correlation: str | None = None,
        key: str | None = None,
        source: str = "",
    ) -> Timer | None:
        """Set a timer (replacing the one under ``key``); it runs once the clock reaches ``at``.
        None when ``limit`` timers are ahead already (a replacement is always set)."""
        with self._lock:
            if len(self._ahead) >= self.limit:
                self._compact()
            if len(self._ahead) >= self.limit and (key is None or key not in self._live):
                return None
            timer = Timer(
                at, next(self._seq), dip_id, trigger, dict(data or {}), dict(where or {}), correlation, key, source
            )
            if key is not None:
                self._live[key] = timer.seq
            heapq.heappush(self._ahead, timer)
            if len(self._ahead) > 2 * len(self._live) + 1024:
                self._compact()
        self._arm()
        return timer

    def _compact(self) -> None:
        """Drop the timers replaced under their key (called with the lock held)."""
        kept = [t for t in self._ahead if t.key is None or self._live.get(t.key) == t.seq]
        if len(kept) < len(self._ahead):
            heapq.heapify(kept)
            self._ahead = kept

    def _pop_due(self, now: float) -> Timer | None:
        with self._lock:
            while self._ahead and self._ahead[0].at <= now:
                timer = heapq.heappop(self._ahead)
                if timer.key is None:
                    return timer
                if self._live.get(timer.key) == timer.seq:  # else replaced by a later one under its key
                    del self._live[timer.key]
                    return timer
            return None

    def run_due(self) -> int:
        """Run every timer the clock has reached, in date order; how many ran."""
        if self._running:  # a timer's rules set a due timer: the pass running now takes it
            return 0
        self._running = True
        ran = 0
        try:
            while ran < MAX_PASS and (timer := self._pop_due(self.clock.now().timestamp())) is not None:
                self.run(timer)
                ran += 1
        finally:
            self._running = False
        self._arm()
        return ran

    def ahead(self, dip_id: str | None = None) -> list[Timer]:
        """The timers still to run (for ``dip_id`` only, if given), soonest first."""
        with self._lock:
            live = [t for t in sorted(self._ahead) if t.key is None or self._live.get(t.key) == t.seq]
        return [t for t in live if dip_id is None or t.dip_id == dip_id]

    def __len__(self) -> int:
        return len(self.ahead())

    def _arm(self) -> None:
        """Wake the event loop when the next timer is due in real time (nothing to do outside one)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        with self._lock:
            if not self._ahead:
                return
            delay = self._ahead[0].at - self.clock.now().timestamp()
        self._wake = loop.call_later(min(max(delay, 0.0), MAX_WAIT), self._woken)

    def _woken(self) -> None:
        self._wake = None
        self.run_due()
