"""Every message the simulator accepted, refused or delivered, queryable for evidence and tests.

Bounded: when full, the oldest entries go and the eviction count says so (never silently).
Tests wait on it without polling: ``wait_for`` parks until a change (a new entry or a delivery
status moving) and re-checks only then.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

DELIVERY_STATUSES = (
    "queued",
    "in-flight",
    "retrying",
    "delivered",
    "failed",
    "dead-letter",
    "dropped",
    "leased",
    "no-webhook",
)
CHANNELS = ("webhook", "inbox", "simulated", "none")
KINDS = ("accepted", "refused", "event", "fault", "status")


AttemptRecord = dict[str, object]  # one push attempt: attempt, at, batch, ms, status or error, fault


@dataclass
class Delivery:
    recipient: str
    channel: str  # one of CHANNELS
    status: str = "queued"  # one of DELIVERY_STATUSES
    attempts: list[AttemptRecord] = field(default_factory=list)
    url: str | None = None
    note: str = ""
    queued_at: float = field(default_factory=time.time)
    done_at: float | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "recipient": self.recipient,
            "channel": self.channel,
            "status": self.status,
            "attempts": self.attempts,
            "queuedAt": round(self.queued_at, 6),
        }
        if self.done_at is not None:
            out["doneAt"] = round(self.done_at, 6)
        if self.url:
            out["url"] = self.url
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Entry:
    seq: int
    kind: str  # one of KINDS
    at: float
    interface_id: str
    sender: str | None
    transaction_id: str | None = None
    correlation_id: str | None = None
    mpan: str | None = None
    event_code: str | None = None
    payload: object = None  # accepted: the message as published; refused: the request body
    response: object = None
    deliveries: list[Delivery] = field(default_factory=list)
    route: dict[str, object] | None = None
    note: str = ""
    size: int = 0  # bytes the journal counts for it: the JSON received for it, or an estimate
    market_at: float | None = None  # accepted: its D0 transactionTimestamp on the simulation clock

    @property
    def egress(self) -> Mapping[str, object]:
        """The published message of an accepted entry (``{}`` for the others)."""
        return self.payload if isinstance(self.payload, Mapping) else {}

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "seq": self.seq,
            "kind": self.kind,
            "at": round(self.at, 6),
            "interface": self.interface_id,
            "sender": self.sender,
            "transactionID": self.transaction_id,
            "correlationID": self.correlation_id,
            "MPAN": self.mpan,
            "eventCode": self.event_code,
            "payload": self.payload,
            "response": self.response,
            "deliveries": [d.as_dict() for d in self.deliveries],
        }
        if self.route is not None:
            out["route"] = self.route
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Query:
    """One filter for both listing and waiting; every field optional."""

    correlation_id: str | None = None
    mpan: str | None = None
    interface_id: str | None = None
    participant: str | None = None  # sender or recipient
    recipient: str | None = None
    event_code: str | None = None
    transaction_id: str | None = None
    kind: str | None = None
    since: float | None = None
    until: float | None = None
    after_seq: int = 0

    @cached_property
    def _tests(self) -> tuple[Callable[[Query, Entry], bool], ...]:
        """The tests of the filters that are set (None and "" are not), found once per query."""
        return tuple(test for name, test in _FILTER_TESTS if getattr(self, name) not in (None, ""))

    def matches(self, e: Entry) -> bool:
        return e.seq > self.after_seq and all(test(self, e) for test in self._tests)


def _same_event_code(q: Query, e: Entry) -> bool:
    """``[MSApp]`` and ``msapp`` name the same event."""
    return (e.event_code or "").strip("[]").lower() == (q.event_code or "").strip("[]").lower()


def _involves(q: Query, e: Entry) -> bool:
    return q.participant == e.sender or any(d.recipient == q.participant for d in e.deliveries)


# Each Query field with what an entry must satisfy when it is set.
_FILTER_TESTS: tuple[tuple[str, Callable[[Query, Entry], bool]], ...] = (
    ("kind", lambda q, e: e.kind == q.kind),
    ("correlation_id", lambda q, e: q.correlation_id in (e.correlation_id, _sender_corr(e))),
    ("mpan", lambda q, e: e.mpan == q.mpan),
    ("interface_id", lambda q, e: e.interface_id.upper() == (q.interface_id or "").upper()),
    ("event_code", _same_event_code),
    ("transaction_id", lambda q, e: e.transaction_id == q.transaction_id),
    ("participant", _involves),
    ("recipient", lambda q, e: any(d.recipient == q.recipient for d in e.deliveries)),
    ("since", lambda q, e: q.since is None or e.at >= q.since),
    ("until", lambda q, e: q.until is None or e.at <= q.until),
)


ENTRY_OVERHEAD = 512  # bytes counted for an entry besides its payload (fields, deliveries)


class Journal:
    """The last ``limit`` entries within ``max_bytes``: the oldest are evicted first, and counted."""

    def __init__(self, limit: int = 100_000, max_bytes: int = 256 * 1024 * 1024):
        self._entries: deque[Entry] = deque()
        self._by_tx: dict[str, Entry] = {}
        self._limit = limit
        self.max_bytes = max_bytes
        self.bytes = 0
        self._seq = itertools.count(1)
        self.evicted = 0
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def limit(self) -> int:
        return self._limit

    # Any here and in query: Entry's and Query's fields as keywords (a TypedDict would repeat them).
    def add(self, kind: str, interface_id: str, sender: str | None, **kw: Any) -> Entry:
        entry = Entry(next(self._seq), kind, time.time(), interface_id, sender, **kw)
        entry.size += ENTRY_OVERHEAD + len(entry.note)
        self._entries.append(entry)
        self.bytes += entry.size
        if entry.transaction_id and kind == "accepted":
            self._by_tx[entry.transaction_id] = entry
        while len(self._entries) > self._limit or (self.bytes > self.max_bytes and len(self._entries) > 1):
            old = self._entries.popleft()
            self.bytes -= old.size
            if old.transaction_id and self._by_tx.get(old.transaction_id) is old:
                del self._by_tx[old.transaction_id]
            self.evicted += 1
        self.changed()
        return entry

    def changed(self) -> None:
        """Wake every waiter; each re-checks its own condition."""
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def by_transaction(self, transaction_id: str) -> Entry | None:
        return self._by_tx.get(transaction_id)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def since(self, seq: int) -> list[Entry]:
        """The entries added after ``seq``, oldest first (walks back from the newest only)."""
        newer: list[Entry] = []
        for entry in reversed(self._entries):
            if entry.seq <= seq:
                break
            newer.append(entry)
        return newer[::-1]

    @property
    def last_seq(self) -> int:
        return self._entries[-1].seq if self._entries else 0

    def query(self, q: Query | None = None, *, limit: int = 1000, **filters: Any) -> list[Entry]:
        q = q or Query(**filters)
        out = []
        for e in self._entries:
            if q.matches(e):
                out.append(e)
                if len(out) >= limit:
                    break
        return out

    def _first_after(self, after_seq: int, predicate: Callable[[Entry], bool]) -> Entry | None:
        """Scan only the entries newer than ``after_seq`` (from the right: the usual case is few)."""
        newer = []
        for e in reversed(self._entries):
            if e.seq <= after_seq:
                break
            newer.append(e)
        for e in reversed(newer):
            if predicate(e):
                return e
        return None

    async def wait_for(self, predicate: Callable[[Entry], bool], *, after_seq: int, timeout: float) -> Entry | None:
        """The first entry after ``after_seq`` for which ``predicate`` holds, waiting up to ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self._first_after(after_seq, predicate)
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout=remaining)
            except TimeoutError:
                return None


def _sender_corr(e: Entry) -> str | None:
    correlation: object = e.payload
    for key in ("CommonBlock", "S1", "senderCorrelationID"):
        correlation = correlation.get(key) if isinstance(correlation, Mapping) else None
    return correlation if isinstance(correlation, str) else None
