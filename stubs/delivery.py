"""The delivery engine: every accepted message reaches each recipient, or the journal says why not.

Mock servers deliver webhooks fire-and-forget. The DIP does not, and neither does this: each
recipient endpoint has an ordered queue drained by one worker, which pushes what is waiting as
one ``DIPMessageEgressArray`` (up to the webhook's ``maxMessageCount``; under light load that is
one message, sent at once, so batching never adds latency), retries 408/429/5xx, timeouts and
refused connections with exponential backoff (``Retry-After`` honoured), journals every attempt,
and dead-letters after the last. 400/401/403/404/405/406/413/505 are not retried, as the DIP
spec annotates its callbacks. A recipient with no webhook gets an inbox to pull from, with
acknowledgement. Outbound faults (drop, duplicate, delay, reorder, fail the first N tries,
recipient down) are applied here, from the fault plan, and journalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.utils
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import aiohttp

from mhhs_sit.dip.envelope import dip_timestamp, field
from mhhs_stubs.config import DeliveryPolicy
from mhhs_stubs.faults import FaultPlan, OutboundAction
from mhhs_stubs.journal import AttemptRecord, Delivery, Entry, Journal

NO_RETRY = frozenset({400, 401, 403, 404, 405, 406, 413, 505})
MAX_RETRY_AFTER_S = 30.0


@dataclass(frozen=True)
class Subscription:
    interface_id: str
    dip_id: str
    url: str
    max_messages: int = 100


@dataclass
class Pending:
    delivery: Delivery
    egress: Mapping[str, object]
    entry: Entry
    ready_at: float = 0.0  # loop time from which it may be pushed (later when a fault holds it)
    seq: int = 0  # arrival order, kept among messages that are not held
    held: bool = False  # a fault delayed it: it goes in release order, not arrival order
    decided: bool = False  # outbound faults for the first attempt already drawn
    first_action: OutboundAction | None = None
    leased_until: float = 0.0  # inbox: invisible to other pulls until then
    element: object = None  # what goes into the pushed array; default {"payload": egress}

    def body_element(self) -> object:
        return {"payload": self.egress} if self.element is None else self.element


@dataclass
class _Endpoint:
    key: tuple[str, str]  # (dip_id, url)
    max_messages: int
    queue: deque[Pending] = dataclass_field(default_factory=deque)
    holding: bool = False  # some queued message is held by a fault (delay, reorder)
    wake: asyncio.Event = dataclass_field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


Signer = Callable[[str, str, bytes], Mapping[str, str]]


class DeliveryEngine:
    def __init__(
        self,
        policy: DeliveryPolicy,
        journal: Journal,
        *,
        sign: Signer | None = None,
        faults: FaultPlan | None = None,
    ):
        self.policy = policy
        self.journal = journal
        self.sign = sign
        self.faults = faults
        self.subscriptions: dict[tuple[str, str], Subscription] = {}  # (interface, dip_id)
        self._endpoints: dict[tuple[str, str], _Endpoint] = {}
        self._inbox: dict[str, deque[Pending]] = {}
        self._inbox_wake: dict[str, asyncio.Event] = {}
        self._http: aiohttp.ClientSession | None = None
        self.in_flight = 0
        self._seq = itertools.count()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.policy.timeout),
            connector=aiohttp.TCPConnector(limit=256),
        )

    async def stop(self) -> None:
        for ep in self._endpoints.values():
            if ep.task is not None:
                ep.task.cancel()
        if self._http is not None:
            await self._http.close()

    def busy(self) -> bool:
        """A push is queued or in flight (inbox messages wait for their recipient, not for us)."""
        return self.in_flight > 0 or any(ep.queue for ep in self._endpoints.values())

    # -- subscriptions --------------------------------------------------------------------

    def subscribe(self, sub: Subscription) -> None:
        self.subscriptions[(sub.interface_id.upper(), sub.dip_id)] = sub

    def unsubscribe(self, interface_id: str, dip_id: str) -> bool:
        return self.subscriptions.pop((interface_id.upper(), dip_id), None) is not None

    # -- publishing -----------------------------------------------------------------------

    def publish(
        self, entry: Entry, dip_id: str, egress: Mapping[str, object], *, note: str = "", element: object = None
    ) -> Delivery:
        """Queue ``egress`` for ``dip_id``: its webhook for the channel, else its inbox."""
        sub = self.subscriptions.get((entry.interface_id.upper(), dip_id))
        if sub is None:
            d = Delivery(dip_id, "inbox", status="queued", note=note)
            entry.deliveries.append(d)
            self._inbox.setdefault(dip_id, deque()).append(Pending(d, egress, entry, element=element))
            self._inbox_event(dip_id).set()
            self.journal.changed()
            return d
        d = Delivery(dip_id, "webhook", status="queued", url=sub.url, note=note)
        entry.deliveries.append(d)
        self._enqueue(sub, Pending(d, egress, entry, element=element))
        return d

    def _enqueue(self, sub: Subscription, pending: Pending) -> None:
        key = (sub.dip_id, sub.url)
        ep = self._endpoints.get(key)
        if ep is None or ep.task is None or ep.task.done():
            ep = ep or _Endpoint(key, max(1, sub.max_messages))
            self._endpoints[key] = ep
            ep.task = asyncio.ensure_future(self._drain(ep))
        ep.max_messages = max(1, sub.max_messages)
        pending.ready_at = asyncio.get_running_loop().time()
        pending.seq = next(self._seq)
        ep.queue.append(pending)
        ep.wake.set()

    # -- the worker -----------------------------------------------------------------------

    async def _drain(self, ep: _Endpoint) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not ep.queue:
                ep.wake.clear()
                await ep.wake.wait()
                continue
            batch, wait_s = self._take(ep, loop.time())
            if not batch:
                ep.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ep.wake.wait(), timeout=max(wait_s, 0.001))
                continue
            self.in_flight += 1
            try:
                await self._push(ep.key[1], batch)
            except Exception as exc:  # a defect here must be visible and must not stop the queue
                for p in batch:
                    p.delivery.status = "dead-letter"
                    p.delivery.note = f"simulator error while pushing: {type(exc).__name__}: {exc}"[:300]
            finally:
                self.in_flight -= 1
                self.journal.changed()

    def _take(self, ep: _Endpoint, now: float) -> tuple[list[Pending], float]:
        """Up to ``max_messages`` messages in the order they became ready; held ones stay queued.

        Without held (delayed or reordered) messages that is simply the head of the queue; with
        them, the whole queue is looked at so a message whose hold ended first goes first. Also
        returns how long until the next held message is ready.
        """
        if not ep.holding:
            batch = self._take_head(ep, now)
            if not ep.holding:
                return batch, 3600.0
            ep.queue.extendleft(reversed(batch))
        return self._take_released(ep, now)

    def _take_head(self, ep: _Endpoint, now: float) -> list[Pending]:
        """The head of the queue, up to the first message a fault holds (which sets ``holding``)."""
        batch: list[Pending] = []
        while ep.queue and len(batch) < ep.max_messages:
            p = ep.queue.popleft()
            if not p.decided and not self._prepare(ep, p, now):
                continue
            if p.ready_at > now:
                ep.queue.appendleft(p)
                ep.holding = True
                break
            batch.append(p)
        return batch

    def _take_released(self, ep: _Endpoint, now: float) -> tuple[list[Pending], float]:
        """Whatever is ready, in release order; the rest back in arrival order."""
        items = list(ep.queue)
        ep.queue.clear()
        ready: list[Pending] = []
        waiting: list[Pending] = []
        for p in items:
            if not p.decided and not self._prepare(ep, p, now):
                continue
            (ready if p.ready_at <= now else waiting).append(p)
        ready.sort(key=lambda p: (p.ready_at, p.seq))
        batch = ready[: ep.max_messages]
        rest = sorted(ready[ep.max_messages :] + waiting, key=lambda p: p.seq)
        ep.queue.extend(rest)
        ep.holding = any(p.held for p in rest)  # released ones still go in release order
        return batch, min((p.ready_at - now for p in waiting), default=3600.0)

    def _prepare(self, ep: _Endpoint, p: Pending, now: float) -> bool:
        """Draw the first attempt's outbound faults; False when the message is dropped."""
        p.decided = True
        action = self._fault(p, 1)
        p.first_action = action
        if action is None:
            return True
        if action.drop:
            p.delivery.status = "dropped"
            p.delivery.note = "dropped by an injected fault"
            return False
        for _ in range(action.duplicates):
            twin = Delivery(p.delivery.recipient, "webhook", status="queued", url=p.delivery.url, note="duplicate")
            p.entry.deliveries.append(twin)
            copy_ = Pending(twin, p.egress, p.entry, decided=True, element=p.element, ready_at=now)
            copy_.seq = next(self._seq)
            ep.queue.append(copy_)
        delay = action.delay_s  # reorder holds are included
        if delay:
            p.ready_at = now + delay
            p.held = True
        return True

    def _fault(self, p: Pending, attempt: int) -> OutboundAction | None:
        if self.faults is None:
            return None
        d = p.entry
        sur = field(p.egress, "S1", "senderUniqueReference")
        return self.faults.outbound(
            d.interface_id, p.delivery.recipient, d.transaction_id, sur, attempt, sender=d.sender
        )

    async def _push(self, url: str, batch: list[Pending]) -> None:
        """One array to one webhook, retried with backoff until delivered, refused for good, or dead."""
        body = json.dumps([p.body_element() for p in batch], separators=(",", ":")).encode()
        headers = self._headers(url, body)
        _mark(batch, "in-flight")
        for attempt in range(1, self.policy.attempts + 1):
            status, retry_after = await self._recorded_attempt(url, body, headers, batch, attempt)
            if _settled(batch, status):
                return
            if attempt < self.policy.attempts:
                _mark(batch, "retrying")
                self.journal.changed()
                await asyncio.sleep(self._backoff(attempt, retry_after))
        self._dead_letter(url, batch)

    def _headers(self, url: str, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.sign is not None:
            # Signed in line: handing the ~0.8 ms RSA signature to a thread starved the delivery
            # worker behind the request handlers (send-to-delivery p50 went from 35 to 580 ms).
            headers.update(self.sign("POST", url, body))
        return headers

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential, capped; a longer Retry-After from the recipient wins."""
        policy = self.policy
        delay = min(policy.backoff * policy.factor ** (attempt - 1), policy.max_backoff)
        return delay if retry_after is None else max(delay, retry_after)

    async def _recorded_attempt(
        self, url: str, body: bytes, headers: Mapping[str, str], batch: list[Pending], attempt: int
    ) -> tuple[int | None, float | None]:
        """One attempt, journalled on every message of the batch; (status, retry-after)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        record: AttemptRecord = {"attempt": attempt, "at": dip_timestamp(), "batch": len(batch)}
        status, retry_after, _error = await self._attempt(url, body, headers, batch, attempt, record)
        record["ms"] = round((loop.time() - started) * 1000, 2)
        for p in batch:
            p.delivery.attempts.append(record)
        return status, retry_after

    def _dead_letter(self, url: str, batch: list[Pending]) -> None:
        attempts = self.policy.attempts
        _mark(batch, "dead-letter", note=f"dead-lettered after {attempts} attempts", done_at=time.time())
        self.journal.add(
            "event",
            batch[0].entry.interface_id,
            None,
            note=f"dead letter: {len(batch)} message(s) to {batch[0].delivery.recipient} at {url} "
            f"after {attempts} attempts",
            transaction_id=batch[0].entry.transaction_id,
        )

    async def _attempt(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        batch: list[Pending],
        attempt: int,
        record: AttemptRecord,
    ) -> tuple[int | None, float | None, str | None]:
        """One POST, or the failure an injected fault stands in for; (status, retry-after, error)."""
        injected = self._injected_failure(batch, attempt, record)
        if injected is not None:
            return injected
        assert self._http is not None
        try:
            async with self._http.post(url, data=body, headers=headers) as r:
                await r.read()
                status, retry = r.status, r.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            record["error"] = error = _describe(exc, self.policy.timeout)
            return None, None, error
        record["status"] = status
        return status, _retry_after(retry), None

    def _injected_failure(
        self, batch: list[Pending], attempt: int, record: AttemptRecord
    ) -> tuple[int | None, float | None, str | None] | None:
        """The first message of the batch whose faults fail this attempt decides it for the batch."""
        now = time.time()
        for p in batch:
            action = p.first_action if attempt == 1 else self._fault(p, attempt)
            if action is None:
                continue
            fault = ", ".join(action.faults) or True
            if (action.down_until or 0.0) > now or action.connection_error:
                record["error"] = error = "connection refused: recipient down (injected fault)"
                record["fault"] = fault
                return None, None, error
            if action.fail_status:
                record["status"] = action.fail_status
                record["fault"] = fault
                return action.fail_status, action.retry_after_s, None
        return None

    # -- pull inbox -----------------------------------------------------------------------

    def _inbox_event(self, dip_id: str) -> asyncio.Event:
        ev = self._inbox_wake.get(dip_id)
        if ev is None:
            ev = self._inbox_wake[dip_id] = asyncio.Event()
        return ev

    async def pull(
        self, dip_id: str, *, interface_id: str | None = None, limit: int = 100, wait: float = 0.0, lease: float = 30.0
    ) -> list[Pending]:
        """Messages waiting for ``dip_id``, leased for ``lease`` seconds until acknowledged."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait)
        while True:
            now = time.time()
            out: list[Pending] = []
            for p in self._inbox.get(dip_id, ()):
                if len(out) >= limit:
                    break
                if p.leased_until > now:
                    continue
                if interface_id and p.entry.interface_id.upper() != interface_id.upper():
                    continue
                p.leased_until = now + lease
                p.delivery.status = "leased"
                out.append(p)
            remaining = deadline - loop.time()
            if out or remaining <= 0:
                return out
            ev = self._inbox_event(dip_id)
            ev.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ev.wait(), timeout=min(remaining, 1.0))

    def ack(self, dip_id: str, transaction_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Acknowledge pulled messages; returns (acknowledged, unknown) transaction ids."""
        wanted = set(transaction_ids)
        box = self._inbox.get(dip_id, deque())
        keep: deque[Pending] = deque()
        acked: list[str] = []
        done = time.time()
        for p in box:
            tx = p.entry.transaction_id or ""
            if tx in wanted:
                p.delivery.status = "delivered"
                p.delivery.done_at = done
                p.delivery.note = "acknowledged by the recipient (pull)"
                acked.append(tx)
            else:
                keep.append(p)
        self._inbox[dip_id] = keep
        self.journal.changed()
        return acked, sorted(wanted - set(acked))

    def inbox_size(self, dip_id: str) -> int:
        return len(self._inbox.get(dip_id, ()))

    # -- replay and requeue -----------------------------------------------------------------

    def requeue(self, entry: Entry, dip_id: str, egress: Mapping[str, object]) -> Delivery | None:
        """Push a message again to the recipient's current webhook, marked as a replay."""
        sub = self.subscriptions.get((entry.interface_id.upper(), dip_id))
        if sub is None:
            return None
        d = Delivery(dip_id, "webhook", status="queued", url=sub.url, note="requeued")
        entry.deliveries.append(d)
        self._enqueue(sub, Pending(d, replayed(egress), entry))
        return d


def _mark(batch: Iterable[Pending], status: str, *, note: str | None = None, done_at: float | None = None) -> None:
    for p in batch:
        p.delivery.status = status
        if note is not None:
            p.delivery.note = note
        if done_at is not None:
            p.delivery.done_at = done_at


def _settled(batch: list[Pending], status: int | None) -> bool:
    """Delivered (2xx), or refused in a way the DIP's callback rules do not retry."""
    if status is None:
        return False
    if status < 300:
        _mark(batch, "delivered", done_at=time.time())
        return True
    if status in NO_RETRY:
        _mark(batch, "failed", note=f"the recipient answered {status}: not retried (DIP callback rules)")
        return True
    return False


def replayed(egress: Mapping[str, object]) -> dict[str, object]:
    """A copy of a publication with ``D0.replayIndicator`` set, as the DIP marks replays."""
    out = copy.deepcopy(dict(egress))
    common = out.get("CommonBlock")
    d0 = common.get("D0") if isinstance(common, dict) else None
    if isinstance(d0, dict):
        d0["replayIndicator"] = True
    return out


def _describe(exc: BaseException, timeout: float) -> str:
    """A journal line a tester can act on, whatever the client library calls the failure."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection refused: {exc.host}:{exc.port} ({exc.os_error.strerror or exc.os_error})"[:200]
    if isinstance(exc, TimeoutError):
        return f"timeout: no answer within {timeout:g} s"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "disconnected: the recipient closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"truncated: the recipient's answer was cut short ({exc})"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]


def _retry_after(value: str | None) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds or an HTTP date), capped."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)
