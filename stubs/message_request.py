"""A ``MessageRequest`` (replay and requeue): checked as the DIP spec defines it, then matched
against what the journal holds as published to the recipient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from mhhs_sit.dip.envelope import field
from mhhs_stubs.journal import Entry

REPLAY_REQUIRED = ("datetimeFrom", "datetimeTo", "eventCode", "MPAN", "version")


def message_request_problems(body: object) -> list[str]:
    """``MessageRequest`` as the spec defines it; every problem named."""
    if not isinstance(body, Mapping):
        return ["the body must be a MessageRequest object"]
    problems = [f"{k}: required (may be null)" for k in REPLAY_REQUIRED if k not in body]
    problems += [
        f"{k}: a 25-character date-time like 2022-03-21T19:05:00+00:00"
        for k in ("datetimeFrom", "datetimeTo")
        if body.get(k) is not None and not _is_dip_time(body.get(k))
    ]
    if not _is_transaction_ids(body.get("transactionIDs")):
        problems.append("transactionIDs: 1 to 100 DIP transaction ids")
    unknown = sorted(set(body) - {*REPLAY_REQUIRED, "transactionIDs"})
    return problems + [f"{k}: not a MessageRequest field" for k in unknown]


def _is_dip_time(value: object) -> bool:
    return isinstance(value, str) and len(value) == 25 and parse_time(value) is not None


def _is_transaction_ids(value: object) -> bool:
    """Absent (null), or a list of 1 to 100 strings."""
    if value is None:
        return True
    return isinstance(value, list) and 1 <= len(value) <= 100 and all(isinstance(t, str) for t in value)


def parse_time(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class MessageRequest:
    """What a checked MessageRequest selects; an empty criterion selects everything."""

    start: float | None
    end: float | None
    event_code: str  # without brackets, lower case
    mpan: object
    version: object
    transaction_ids: frozenset[object]

    @classmethod
    def of(cls, body: Mapping[str, object]) -> MessageRequest:
        ids = body.get("transactionIDs")
        return cls(
            start=parse_time(body.get("datetimeFrom")),
            end=parse_time(body.get("datetimeTo")),
            event_code=str(body.get("eventCode") or "").strip("[]").lower(),
            mpan=body.get("MPAN"),
            version=body.get("version"),
            transaction_ids=frozenset(ids) if isinstance(ids, list) else frozenset(),
        )

    def selects(self, e: Entry) -> bool:
        return all(test(self, e) for test in _CRITERIA)


def _market_time(e: Entry) -> float:
    """When the DIP stamped it, on the simulation clock (what its D0 transactionTimestamp says)."""
    return e.market_at if e.market_at is not None else e.at


# What an entry must satisfy for each criterion of a MessageRequest.
_CRITERIA: tuple[Callable[[MessageRequest, Entry], bool], ...] = (
    lambda r, e: r.start is None or _market_time(e) >= r.start,
    lambda r, e: r.end is None or _market_time(e) <= r.end,
    lambda r, e: not r.event_code or (e.event_code or "").strip("[]").lower() == r.event_code,
    lambda r, e: not r.mpan or e.mpan == r.mpan,
    lambda r, e: not r.version or field(e.payload, "S0", "schemaVersion") == r.version,
    lambda r, e: not r.transaction_ids or e.transaction_id in r.transaction_ids,
)


def _published_to(e: Entry, interface_id: str, recipient: str) -> bool:
    """Accepted on ``interface_id`` and delivered (or due) to ``recipient`` outside the simulator."""
    if e.kind != "accepted" or e.interface_id.upper() != interface_id:
        return False
    return any(d.recipient == recipient and d.channel != "simulated" for d in e.deliveries)


def select_published(
    journal: Iterable[Entry], interface_id: str, recipient: str, request: Mapping[str, object]
) -> list[Entry]:
    """Messages published on ``interface_id`` to ``recipient`` that a MessageRequest selects."""
    wanted = MessageRequest.of(request)
    return [e for e in journal if _published_to(e, interface_id, recipient) and wanted.selects(e)]
