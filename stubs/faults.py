"""Faults on demand: what the simulator does wrong, when, and to which traffic.

A ``FaultPlan`` holds the active faults. The inbound side (requests participants send to the
DIP) asks ``plan.inbound(...)`` per request; the delivery engine asks ``plan.outbound(...)`` per
delivery attempt. Both answer with a small frozen action, or ``None`` when nothing applies.

Determinism: each fault has its own ``random.Random`` seeded from the plan's seed and the
fault's id, and draws only on events that match its scope, so the same sequence of matching
events gives the same faults in every run. Each fault switches itself off when its scope ends
(count used up, time window over, its tag cleared, removed), and every application and every
switch-off is reported to ``on_event`` (wired to the journal by the app).
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from mhhs_sit.definitions.faults import (
    ATTEMPT_KINDS,
    Fault,
    given_id,
    parse_spec,
)

if TYPE_CHECKING:
    from mhhs_stubs.journal import Journal

EventSink = Callable[["Fault", dict[str, object]], None]


@dataclass(frozen=True)
class InboundAction:
    """What to do to one inbound request; see ``fault_middleware`` for the wire behaviour."""

    latency_s: float = 0.0  # sleep before anything else
    status: int | None = None  # answer this instead of processing (5xx or 429)
    retry_after_s: float | None = None  # Retry-After header with ``status``
    reset: bool = False  # abort the TCP connection (RST) instead of processing
    empty: bool = False  # process, then answer with no body
    empty_status: int | None = None  # status of the empty answer (default: the real one)
    truncate_to: int | None = None  # process, then send this many body bytes (-1: half) and close
    faults: tuple[str, ...] = ()  # ids of the faults that made this action

    @property
    def after_processing(self) -> bool:
        """The message is accepted, only the answer is damaged (a retry then gets MSG1006)."""
        return self.empty or self.truncate_to is not None


@dataclass(frozen=True)
class OutboundAction:
    """What the delivery engine does to one delivery attempt to one recipient."""

    drop: bool = False  # never deliver (no attempt is made); counts as lost by the DIP
    duplicates: int = 0  # deliver this many extra identical copies
    delay_s: float = 0.0  # wait before the attempt (delay and reorder holds, summed)
    reorder_window_s: float = 0.0  # informational: the reorder hold is already in delay_s
    fail_status: int | None = None  # treat the attempt as answered with this status
    retry_after_s: float | None = None  # ... and this Retry-After
    connection_error: bool = False  # treat the attempt as a refused connection
    down_until: float | None = None  # epoch seconds: the recipient is unreachable until then
    faults: tuple[str, ...] = ()

    def combined(self, later: OutboundAction) -> OutboundAction:
        """Several faults on one attempt: holds and copies add up, the latest recovery counts, and
        of the rest the first fault's wins."""
        return OutboundAction(
            drop=self.drop or later.drop,
            duplicates=self.duplicates + later.duplicates,
            delay_s=self.delay_s + later.delay_s,
            reorder_window_s=max(later.reorder_window_s, self.reorder_window_s),
            fail_status=self.fail_status if self.fail_status is not None else later.fail_status,
            retry_after_s=self.retry_after_s if self.retry_after_s is not None else later.retry_after_s,
            connection_error=self.connection_error or later.connection_error,
            down_until=self.down_until if later.down_until is None else max(later.down_until, self.down_until or 0),
            faults=self.faults,
        )


Detail = dict[str, object]  # what is reported about one fault event (journalled as the fault entry's response)
Effect = tuple[OutboundAction, Detail]


# --------------------------------------------------------------------------- parsing


# --------------------------------------------------------------------------- the plan


@dataclass
class _Firings:
    """The faults that fired on one event, and those that used up their count doing so."""

    fired: list[tuple[Fault, Detail]] = field(default_factory=list)
    ended: list[Fault] = field(default_factory=list)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f.id for f, _ in self.fired)


@dataclass(frozen=True)
class _Attempt:
    """One delivery attempt as outbound faults see it."""

    interface_id: str
    recipient: str
    transaction_id: str | None
    sur: str | None
    attempt: int
    sender: str | None

    @property
    def key(self) -> tuple[str, str]:
        """The message and recipient a fail_first fault follows from try to try."""
        return (self.transaction_id or self.sur or "", self.recipient)

    def in_scope(self, fault: Fault) -> bool:
        """Kinds that act per attempt are asked on every try, the others on the first only."""
        if fault.kind not in ATTEMPT_KINDS and self.attempt != 1:
            return False
        return fault.scope.matches(
            interface=self.interface_id,
            sender=self.sender,
            recipient=self.recipient,
            messages=(self.transaction_id, self.sur),
        )

    def context(self) -> Detail:
        return {
            "interface": self.interface_id,
            "sender": self.sender,
            "recipient": self.recipient,
            "transactionID": self.transaction_id,
            "message": self.sur,
            "attempt": self.attempt,
        }


class FaultPlan:
    """The active faults of one simulator; asked once per inbound request and per delivery attempt."""

    def __init__(self, seed: int | str = 0, on_event: EventSink | None = None, clock: Callable[[], float] = time.time):
        self.seed = seed
        self.on_event = on_event
        self.clock = clock
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self.has_inbound = False  # cheap checks for the hot path
        self.has_outbound = False
        self.inbound_needs_body = False
        self._next_end = math.inf  # the earliest end of a time window: no sweep is needed before it

    @classmethod
    def from_specs(
        cls, specs: Iterable[Mapping[str, object]], seed: int | str = 0, on_event: EventSink | None = None
    ) -> FaultPlan:
        plan = cls(seed, on_event)
        for spec in specs:
            plan.add(spec)
        return plan

    # -- management ----------------------------------------------------------------

    def add(self, spec: Mapping[str, object]) -> Fault:
        with self._lock:
            fault_id = self._given_id(spec)
            if fault_id is None:
                fault_id = f"f{next(self._ids)}"
                while fault_id in self._faults:
                    fault_id = f"f{next(self._ids)}"
            fault = parse_spec(spec, fault_id=fault_id, seed=self.seed, now=self.clock())
            self._faults[fault.id] = fault
            self._refresh()
        self._emit(fault, {"event": "added"})
        return fault

    def check(self, spec: object, *, taken: Iterable[str] = ()) -> None:
        """Raise the ``FaultSpecError`` that ``add`` would, adding nothing (ids in ``taken`` count as active)."""
        with self._lock:
            fault_id = self._given_id(spec, taken)
            parse_spec(spec, fault_id=fault_id or "-", seed=self.seed, now=self.clock())

    def _given_id(self, spec: object, taken: Iterable[str] = ()) -> str | None:
        return given_id(spec, [*self._faults, *taken])

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            fault = self._faults.pop(fault_id, None)
            self._refresh()
        if fault is not None:
            self._emit(fault, {"event": "expired", "reason": "removed"})
        return fault is not None

    def clear(self, tag: str) -> list[str]:
        """End every fault added with ``tag`` (e.g. a test case id, at the end of that test)."""
        return self._drop(lambda f: f.tag == tag, "tag-cleared")

    def clear_all(self) -> list[str]:
        return self._drop(lambda f: True, "removed")

    def get(self, fault_id: str) -> Fault | None:
        return self._faults.get(fault_id)

    def sweep(self) -> list[str]:
        """End faults whose time window is over (also done before every decision)."""
        now = self.clock()
        if now < self._next_end:
            return []
        return self._drop(lambda f: f.ends_at is not None and now >= f.ends_at, "window-ended")

    # -- decisions -----------------------------------------------------------------

    def inbound(
        self,
        method: str,
        path: str,
        interface_id: str | None,
        sender: str | None,
        *,
        references: Sequence[str] = (),
    ) -> InboundAction | None:
        """The faults for one inbound request; ``references`` are the batch's senderUniqueReferences."""
        if not self.has_inbound:
            return None
        self.sweep()
        with self._lock:
            action, firings = self._fire_inbound(method, path, interface_id, sender, references)
        if not firings.fired:
            return None
        context: Detail = {"interface": interface_id, "sender": sender, "method": method, "path": path}
        if references:
            context["message"] = list(references)[:10]
        self._report(firings, context)
        return replace(action, faults=firings.ids)

    def _fire_inbound(
        self, method: str, path: str, interface_id: str | None, sender: str | None, references: Sequence[str]
    ) -> tuple[InboundAction, _Firings]:
        """Latencies add up; the first fault that ends the request (a status, reset, empty or cut
        answer) is the only one: after it, only latency faults are still asked (under the lock)."""
        firings = _Firings()
        latency = 0.0
        terminal: InboundAction | None = None
        for fault in list(self._faults.values()):
            if fault.side != "inbound" or (terminal and fault.kind != "latency"):
                continue
            in_scope = fault.scope.matches(
                interface=interface_id, sender=sender, messages=references, method=method, path=path
            )
            if not in_scope or not self._decide(fault):  # the scope first: deciding counts the match
                continue
            effect, detail = _INBOUND_EFFECTS.get(fault.kind, _inbound_truncate)(fault)
            latency += effect.latency_s
            terminal = terminal or (effect if fault.kind != "latency" else None)
            self._take(fault, detail, firings)
        self._end(firings)
        return replace(terminal or InboundAction(), latency_s=latency), firings

    def outbound(
        self,
        interface_id: str,
        recipient: str,
        transaction_id: str | None,
        sur: str | None,
        attempt: int = 1,
        *,
        sender: str | None = None,
    ) -> OutboundAction | None:
        """The faults for one delivery attempt (``attempt`` counts from 1) to one recipient."""
        if not self.has_outbound:
            return None
        self.sweep()
        this_try = _Attempt(interface_id, recipient, transaction_id, sur, attempt, sender)
        with self._lock:
            action, firings = self._fire_outbound(this_try, self.clock())
        if not firings.fired:
            return None
        self._report(firings, this_try.context())
        return replace(action, delay_s=round(action.delay_s, 6), faults=firings.ids)

    def _fire_outbound(self, this_try: _Attempt, now: float) -> tuple[OutboundAction, _Firings]:
        """Every fault in scope of the attempt, their actions combined (under the lock)."""
        firings = _Firings()
        action = OutboundAction()
        for fault in list(self._faults.values()):
            if fault.side != "outbound" or not this_try.in_scope(fault):
                continue
            outcome = self._outbound_effect(fault, this_try.key, this_try.attempt, now)
            if outcome is not None:
                action = action.combined(outcome[0])
                self._take(fault, outcome[1], firings)
        self._end(firings)
        return action, firings

    # -- internals -----------------------------------------------------------------

    def _take(self, fault: Fault, detail: Detail, firings: _Firings) -> None:
        """A fault that fired; one whose count is used up leaves the plan (under the lock)."""
        firings.fired.append((fault, detail))
        if fault.exhausted:
            firings.ended.append(self._faults.pop(fault.id))

    def _end(self, firings: _Firings) -> None:
        if firings.ended:
            self._refresh()

    def _report(self, firings: _Firings, context: Detail) -> None:
        for fault, detail in firings.fired:
            self._emit(fault, {"event": "applied", **context, **detail})
        for fault in firings.ended:
            self._emit(fault, {"event": "expired", "reason": "count-used"})

    def _decide(self, fault: Fault) -> bool:
        """One matching event: skip the first ``after``, then the seeded coin, then count it."""
        fault.matched += 1
        if fault.matched <= fault.after:
            return False
        if fault.count is not None and fault.applied >= fault.count:
            return False
        if fault.probability is not None and fault.rng.random() >= fault.probability:
            return False
        fault.applied += 1
        return True

    def _outbound_effect(self, fault: Fault, key: tuple[str, str], attempt: int, now: float) -> Effect | None:
        if fault.kind == "fail_first":
            return self._fail_first(fault, key, attempt)
        if not self._decide(fault):
            return None
        return _OUTBOUND_EFFECTS.get(fault.kind, _outbound_down)(fault, now)

    def _fail_first(self, fault: Fault, key: tuple[str, str], attempt: int) -> Effect | None:
        """Deliveries chosen on their first attempt fail until their ``tries`` are used up."""
        tries = fault.params.tries or 1
        if not self._fails_this_try(fault, key, attempt, tries):
            return None
        if fault.params.error is not None:
            return OutboundAction(connection_error=True), {"connection_error": True, "try": attempt, "of": tries}
        status, retry_after = fault.params.status, fault.params.retry_after
        detail: Detail = {"fail_status": status, "try": attempt, "of": tries}
        if retry_after is not None:
            detail["retry_after_s"] = retry_after
        return OutboundAction(fail_status=status, retry_after_s=retry_after), detail

    def _fails_this_try(self, fault: Fault, key: tuple[str, str], attempt: int, tries: int) -> bool:
        if attempt == 1:
            if not self._decide(fault):
                return False
            if tries > 1:
                fault.failing[key] = tries
            return True
        if key not in fault.failing:
            return False
        if attempt >= fault.failing[key]:
            del fault.failing[key]  # the last failing try: the next one succeeds
        return attempt <= tries

    def _drop(self, which: Callable[[Fault], bool], reason: str) -> list[str]:
        with self._lock:
            gone = [f for f in self._faults.values() if which(f)]
            for f in gone:
                del self._faults[f.id]
            if gone:
                self._refresh()
        for f in gone:
            detail: Detail = {"event": "expired", "reason": reason}
            if reason == "window-ended" and f.ends_at is not None:
                detail["ended_at"] = round(f.ends_at, 6)
            self._emit(f, detail)
        return [f.id for f in gone]

    def _refresh(self) -> None:
        faults = self._faults.values()
        self.has_inbound = any(f.side == "inbound" for f in faults)
        self.has_outbound = any(f.side == "outbound" for f in faults)
        self.inbound_needs_body = any(f.side == "inbound" and f.scope.message for f in faults)
        self._next_end = min((f.ends_at for f in faults if f.ends_at is not None), default=math.inf)

    def _emit(self, fault: Fault, detail: Detail) -> None:
        if self.on_event is None:
            return
        event = {"fault": fault.id, "kind": fault.kind, "side": fault.side, "tag": fault.tag, **detail}
        self.on_event(fault, event)

    # last in the class: after it, ``list`` in an annotation here would name this method
    def list(self) -> list[dict[str, object]]:
        """The active faults, as ``GET /_sim/faults`` shows them."""
        self.sweep()
        with self._lock:
            return [f.as_dict() for f in self._faults.values()]


# --------------------------------------------------------------------------- what each kind does
# Each kind of fault, once it fires, gives the action it contributes and the detail that is reported.


def _inbound_latency(fault: Fault) -> tuple[InboundAction, Detail]:
    latency = round(fault.sample(fault.params), 6)
    return InboundAction(latency_s=latency), {"latency_s": latency}


def _inbound_status(fault: Fault) -> tuple[InboundAction, Detail]:
    status, retry_after = fault.params.status, fault.params.retry_after
    detail: Detail = {k: v for k, v in {"status": status, "retry_after_s": retry_after}.items() if v is not None}
    return InboundAction(status=status, retry_after_s=retry_after), detail


def _inbound_reset(fault: Fault) -> tuple[InboundAction, Detail]:
    return InboundAction(reset=True), {"reset": True}


def _inbound_empty(fault: Fault) -> tuple[InboundAction, Detail]:
    return InboundAction(empty=True, empty_status=fault.params.status), {
        "empty": True,
        "when": "after processing",
    }


def _inbound_truncate(fault: Fault) -> tuple[InboundAction, Detail]:
    return InboundAction(truncate_to=fault.params.keep_bytes if fault.params.keep_bytes is not None else -1), {
        "truncated": True,
        "when": "after processing",
    }


_INBOUND_EFFECTS: dict[str, Callable[[Fault], tuple[InboundAction, Detail]]] = {
    "latency": _inbound_latency,
    "status": _inbound_status,
    "reset": _inbound_reset,
    "empty": _inbound_empty,
}  # and truncate


def _outbound_drop(fault: Fault, now: float) -> Effect:
    return OutboundAction(drop=True), {"drop": True}


def _outbound_duplicate(fault: Fault, now: float) -> Effect:
    copies = fault.params.copies or 1
    return OutboundAction(duplicates=copies), {"duplicates": copies}


def _outbound_delay(fault: Fault, now: float) -> Effect:
    delay = round(fault.sample(fault.params), 6)
    return OutboundAction(delay_s=delay), {"delay_s": delay}


def _outbound_reorder(fault: Fault, now: float) -> Effect:
    """Deliveries inside one window are released in reverse order of arrival: one arriving at a,
    in a window ending at e, is held 2(e - a) s. Deterministic and needs no buffer."""
    window = fault.params.window or 0.0
    if fault.reorder_window_end is None or now >= fault.reorder_window_end:
        fault.reorder_window_end = now + window
    hold = round(2 * (fault.reorder_window_end - now), 6)
    return OutboundAction(delay_s=hold, reorder_window_s=window), {"delay_s": hold, "reorder_window_s": window}


def _outbound_down(fault: Fault, now: float) -> Effect:
    return OutboundAction(connection_error=True, down_until=fault.ends_at), {
        "connection_error": True,
        "down_until": fault.ends_at,
    }


_OUTBOUND_EFFECTS: dict[str, Callable[[Fault, float], Effect]] = {
    "drop": _outbound_drop,
    "duplicate": _outbound_duplicate,
    "delay": _outbound_delay,
    "reorder": _outbound_reorder,
}  # and down; fail_first counts tries (FaultPlan._fail_first)


# --------------------------------------------------------------------------- wiring helpers


def journal_sink(journal: Journal) -> EventSink:
    """An ``on_event`` that records each fault event as a ``fault`` entry of the simulator's journal."""

    def sink(fault: Fault, event: Detail) -> None:
        interface, sender = event.get("interface"), event.get("sender")
        journal.add(
            "fault",
            interface if isinstance(interface, str) else "",
            sender if isinstance(sender, str) else None,
            transaction_id=event.get("transactionID"),
            response=event,
            note=f"fault {fault.id} ({fault.kind}) {event['event']}",
        )

    return sink


def plan_from_config(config: object, on_event: EventSink | None = None) -> FaultPlan:
    """The plan a simulator starts with: the environment file's faults, with its seed."""
    return FaultPlan.from_specs(getattr(config, "faults", ()), getattr(config, "fault_seed", 0), on_event)
