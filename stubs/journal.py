"""Every message the simulator accepted, refused or delivered, queryable for evidence.

Bounded: when full, the oldest entries go and the eviction count says so (never silently).
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Delivery:
    recipient: str
    channel: str  # "webhook" | "simulated" | "none"
    status: str = "pending"  # pending | delivered | failed | dead-letter | no-webhook
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "channel": self.channel, "status": self.status, "attempts": self.attempts}


@dataclass
class Entry:
    seq: int
    kind: str  # accepted | refused | event
    at: float
    interface_id: str
    sender: str | None
    transaction_id: str | None = None
    correlation_id: str | None = None
    mpan: str | None = None
    payload: Any = None
    response: Any = None
    deliveries: list[Delivery] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "at": round(self.at, 6),
            "interface": self.interface_id,
            "sender": self.sender,
            "transactionID": self.transaction_id,
            "correlationID": self.correlation_id,
            "MPAN": self.mpan,
            "payload": self.payload,
            "response": self.response,
            "deliveries": [d.as_dict() for d in self.deliveries],
            **({"note": self.note} if self.note else {}),
        }


class Journal:
    def __init__(self, limit: int = 100_000):
        self._entries: deque[Entry] = deque()
        self._limit = limit
        self._seq = itertools.count(1)
        self.evicted = 0

    def add(self, kind: str, interface_id: str, sender: str | None, **kw: Any) -> Entry:
        entry = Entry(next(self._seq), kind, time.time(), interface_id, sender, **kw)
        self._entries.append(entry)
        while len(self._entries) > self._limit:
            self._entries.popleft()
            self.evicted += 1
        return entry

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def query(
        self,
        *,
        correlation_id: str | None = None,
        mpan: str | None = None,
        interface_id: str | None = None,
        participant: str | None = None,
        kind: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 1000,
    ) -> list[Entry]:
        out = []
        for e in self._entries:
            if correlation_id and correlation_id not in (e.correlation_id, _sender_corr(e)):
                continue
            if mpan and e.mpan != mpan:
                continue
            if interface_id and e.interface_id.upper() != interface_id.upper():
                continue
            if participant and participant != e.sender and all(d.recipient != participant for d in e.deliveries):
                continue
            if kind and e.kind != kind:
                continue
            if (since is not None and e.at < since) or (until is not None and e.at > until):
                continue
            out.append(e)
            if len(out) >= limit:
                break
        return out


def _sender_corr(e: Entry) -> str | None:
    try:
        return e.payload["CommonBlock"]["S1"]["senderCorrelationID"]
    except (KeyError, TypeError):
        return None
