"""The simulation clock: what "now" is to the simulated market, real time unless a test moves it.

Everything the simulator writes as market time reads it: D0 ``transactionTimestamp`` and the date
in transaction IDs, the simulated roles' ``senderTimestamp`` and unique references, the rules'
``now``/``today``/``midnight`` (so the effective dates they write), StandardResponse timestamps,
and which future-dated appointments are in force. What measures real elapsed time does not:
delivery retries and leases, the journal's ``at`` (``since``/``until``), fault windows, request
signatures and TLS certificates.

The clock is an offset from real time, so it keeps running after it is set or advanced. Moving
it calls the listeners (the router brings due appointments into force). ``current_stamp`` is the
answering simulator's "now" for code that has no simulator at hand (the answer bodies).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from mhhs_sit.core.clock_change import ClockChange
from mhhs_sit.definitions import templating
from mhhs_sit.dip.envelope import dip_timestamp


class SimClock:
    def __init__(self, real: Callable[[], float] = time.time):
        self._real = real
        self._offset = 0.0  # seconds the simulated market is ahead of (or behind) real time
        self._listeners: list[Callable[[dt.datetime], None]] = []

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._real() + self._offset, dt.UTC)

    def stamp(self) -> str:
        """Now as the DIP's 25-character DateTime."""
        if self._offset == 0.0 and self._real is time.time:
            return dip_timestamp()  # real time: formatted once per second, on the hot path
        return dip_timestamp(self.now())

    @property
    def simulated(self) -> bool:
        return self._offset != 0.0

    def on_change(self, listener: Callable[[dt.datetime], None]) -> None:
        self._listeners.append(listener)

    def change(self, change: ClockChange) -> dt.datetime:
        """Advance, set or reset the clock; every listener is told the new now."""
        if change.advance is not None:
            self._offset += change.advance.total_seconds()
        elif change.set is not None:
            self._offset = change.set.timestamp() - self._real()
        else:
            self._offset = 0.0
        moment = self.now()
        for listener in self._listeners:
            listener(moment)
        return moment

    def as_dict(self) -> dict[str, object]:
        """What ``GET /_sim/clock`` answers: now, and the UK clock date and midnight it makes."""
        values = templating.builtins(self.now())
        return {
            "now": values["now"],
            "today": values["today"],
            "midnight": values["midnight"],
            "simulated": self.simulated,
            "offsetSeconds": round(self._offset, 3),
        }


_ANSWERING: contextvars.ContextVar[SimClock | None] = contextvars.ContextVar("mhhs_stubs_clock", default=None)


def current_stamp() -> str:
    """Now on the clock of the simulator handling this request (real time outside one)."""
    clock = _ANSWERING.get()
    return clock.stamp() if clock is not None else dip_timestamp()


class ClockContext:
    """ASGI middleware: the requests it passes (and the tasks they start) answer on ``clock``."""

    def __init__(self, app: ASGIApp, clock: SimClock):
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _ANSWERING.set(self.clock)
        try:
            await self.app(scope, receive, send)
        finally:
            _ANSWERING.reset(token)
