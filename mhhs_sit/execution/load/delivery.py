"""How long the messages of a load run took from the DIP's acceptance to their recipients, read
from the local simulator's journal once the deliveries have settled.

Only pushes to webhooks and pulls from an inbox count: a simulated participant "receives" inside
the simulator at once, which says nothing about delivery. Messages still queued when the wait
ends count as undelivered.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mhhs_sit.execution.journal import MESSAGES
from mhhs_sit.execution.load.thresholds import Delivery

if TYPE_CHECKING:
    from mhhs_sit.dip.client import DipClient

_SETTLE_S = 10.0
_FINAL = frozenset({"delivered", "dead-letter", "dropped", "failed", "no-webhook"})
_NOT_DELIVERIES = frozenset({"simulated", "none"})  # answered inside the simulator, or nowhere to go


def measured(
    client: DipClient, interface: str, sender: str, since: float, until: float, settle_s: float = _SETTLE_S
) -> Delivery | None:
    """The run's delivery figures; None when the journal cannot be read (not a local simulator)."""
    params = {"interface": interface, "participant": sender, "kind": "accepted", "since": since,
              "until": until, "limit": 100000}  # fmt: skip
    deadline = time.monotonic() + settle_s
    while True:
        exchange = client.request("GET", MESSAGES, params=params)
        body = exchange.response_body
        listed = body.get("messages") if isinstance(body, Mapping) else None
        if exchange.status != 200 or not isinstance(listed, list):
            return None
        messages = [m for m in listed if isinstance(m, Mapping) and m.get("sender") == sender]
        if not _pending(messages) or time.monotonic() >= deadline:
            return _figures(messages)
        time.sleep(0.25)


def _pushes(message: Mapping[str, object]) -> list[Mapping[str, object]]:
    deliveries = message.get("deliveries")
    found = deliveries if isinstance(deliveries, list) else []
    return [d for d in found if isinstance(d, Mapping) and d.get("channel") not in _NOT_DELIVERIES]


def _pending(messages: Sequence[Mapping[str, object]]) -> bool:
    return any(d.get("status") not in _FINAL for m in messages for d in _pushes(m))


def _figures(messages: Sequence[Mapping[str, object]]) -> Delivery | None:
    """None when nothing was delivered to a system outside the simulator: there is no latency."""
    latencies: list[float] = []
    complete = 0
    for m in messages:
        pushes = _pushes(m)
        done = [t for d in pushes if d.get("status") == "delivered" and (t := _seconds(d.get("doneAt"))) is not None]
        at = _seconds(m.get("at"))
        if at is not None:
            latencies += [(t - at) * 1000 for t in done]
        complete += len(done) == len(pushes)
    return Delivery.of(latencies, len(messages), complete) if latencies else None


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
