"""Who is appointed to each MPAN, now and from a future effective date, as the DIP's lookup sees it.

A registration-service publication names the incoming party with its effective-from date (IF-036
``B014.incomingMeteringServiceDIPID`` with ``incomingMeteringServiceEffectiveFromDate``, IF-001
``B002``…) and a de-appointed party with its effective-to date (IF-037 ``B008``/``B009``). A date
still ahead on the simulation clock is a *pending* change: routing ignores it until the clock (or
real time) reaches it, then it takes effect. Thread-safe: the control API reads it from the test's
thread.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

# Within those publications, DIP IDs in fields named like this name the incoming / outgoing party,
# and the date beside them in the same block says from (to) when.
INCOMING_FIELD = re.compile(r"(incoming|new).*dipid$", re.IGNORECASE)
OUTGOING_FIELD = re.compile(r"(outgoing|old|previous|deappointed).*dipid$", re.IGNORECASE)
FROM_DATE = re.compile(r"effectivefromdate$", re.IGNORECASE)
TO_DATE = re.compile(r"effectivetodate$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Scheduled:
    """An appointment (or its end) that takes effect at ``at`` (epoch seconds, simulation clock)."""

    at: float
    seq: int
    mpan: str = field(compare=False)
    role: str = field(compare=False)
    dip_id: str = field(compare=False)
    appoint: bool = field(compare=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "role": self.role,
            "dipId": self.dip_id,
            "change": "appointed" if self.appoint else "de-appointed",
            "effective": dt.datetime.fromtimestamp(self.at, dt.UTC).isoformat(),
        }

    def describe(self) -> str:
        verb = "appointed to" if self.appoint else "no longer appointed to"
        return f"{self.role} {self.dip_id} {verb} MPAN {self.mpan} from {self.as_dict()['effective']}"


@dataclass
class Appointments:
    """MPAN -> role -> DIP ID of the party appointed now, and the changes still ahead."""

    by_mpan: dict[str, dict[str, str]] = field(default_factory=dict)
    _ahead: list[Scheduled] = field(default_factory=list)  # a heap, soonest first
    _seq: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def appoint(self, mpan: str, role: str, dip_id: str) -> None:
        with self._lock:
            self.by_mpan.setdefault(mpan, {})[role] = dip_id

    def remove(self, mpan: str, role: str, dip_id: str) -> None:
        with self._lock:
            self._remove(mpan, role, dip_id)

    def _remove(self, mpan: str, role: str, dip_id: str) -> None:
        parties = self.by_mpan.get(mpan, {})
        if parties.get(role) == dip_id:
            del parties[role]

    def schedule(self, at: float, mpan: str, role: str, dip_id: str, *, appoint: bool) -> None:
        """A change from a future effective date (``due`` makes it take effect)."""
        with self._lock:
            heapq.heappush(self._ahead, Scheduled(at, next(self._seq), mpan, role, dip_id, appoint))

    @property
    def pending(self) -> bool:
        return bool(self._ahead)

    def due(self, now: float) -> list[Scheduled]:
        """Every change whose effective date ``now`` has reached, applied in date order."""
        applied: list[Scheduled] = []
        with self._lock:
            while self._ahead and self._ahead[0].at <= now:
                change = heapq.heappop(self._ahead)
                if change.appoint:
                    self.by_mpan.setdefault(change.mpan, {})[change.role] = change.dip_id
                else:
                    self._remove(change.mpan, change.role, change.dip_id)
                applied.append(change)
        return applied

    def of(self, mpan: str) -> dict[str, str]:
        with self._lock:
            return dict(self.by_mpan.get(mpan, {}))

    def ahead_of(self, mpan: str) -> list[dict[str, object]]:
        with self._lock:
            return [c.as_dict() for c in sorted(self._ahead) if c.mpan == mpan]

    def __len__(self) -> int:
        return len(self.by_mpan)


def dated_parties(block: object, party: re.Pattern[str], date: re.Pattern[str]) -> Iterator[tuple[str, float | None]]:
    """Each DIP ID in a field ``party`` matches, with the effective date beside it (None: none given)."""
    if isinstance(block, Mapping):
        when = next((_instant(v) for k, v in block.items() if isinstance(k, str) and date.search(k)), None)
        for k, v in block.items():
            if isinstance(v, str) and isinstance(k, str) and party.search(k):
                yield v, when
            elif isinstance(v, Mapping | list):
                yield from dated_parties(v, party, date)
    elif isinstance(block, list):
        for v in block:
            yield from dated_parties(v, party, date)


def _instant(value: object) -> float | None:
    """Epoch seconds of a DIP DateTime; None when it is not one (then the change is immediate)."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None
