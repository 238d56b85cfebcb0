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
from dataclasses import dataclass
from typing import Any

from mhhs_sit.definitions.faults import (
    ATTEMPT_KINDS,
    Fault,
    given_id,
    parse_spec,
)

EventSink = Callable[["Fault", dict[str, Any]], None]


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


_OUTBOUND_FIELDS = frozenset(OutboundAction.__dataclass_fields__)


# --------------------------------------------------------------------------- parsing


# --------------------------------------------------------------------------- the plan


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
        cls, specs: Iterable[Mapping[str, Any]], seed: int | str = 0, on_event: EventSink | None = None
    ) -> FaultPlan:
        plan = cls(seed, on_event)
        for spec in specs:
            plan.add(spec)
        return plan

    # -- management ----------------------------------------------------------------

    def add(self, spec: Mapping[str, Any]) -> Fault:
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

    def check(self, spec: Any, *, taken: Iterable[str] = ()) -> None:
        """Raise the ``FaultSpecError`` that ``add`` would, adding nothing (ids in ``taken`` count as active)."""
        with self._lock:
            fault_id = self._given_id(spec, taken)
            parse_spec(spec, fault_id=fault_id or "-", seed=self.seed, now=self.clock())

    def _given_id(self, spec: Any, taken: Iterable[str] = ()) -> str | None:
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
        fired: list[tuple[Fault, dict[str, Any]]] = []
        ended: list[Fault] = []
        latency = 0.0
        terminal: dict[str, Any] = {}
        with self._lock:
            for fault in list(self._faults.values()):
                if fault.side != "inbound" or (terminal and fault.kind != "latency"):
                    continue
                if not fault.scope.matches(
                    interface=interface_id, sender=sender, messages=references, method=method, path=path
                ):
                    continue
                if not self._decide(fault):
                    continue
                detail: dict[str, Any] = {}
                if fault.kind == "latency":
                    detail["latency_s"] = round(fault.sample(fault.params), 6)
                    latency += detail["latency_s"]
                elif fault.kind == "status":
                    terminal = {"status": fault.params["status"], "retry_after_s": fault.params.get("retry_after")}
                    detail = {k: v for k, v in terminal.items() if v is not None}
                elif fault.kind == "reset":
                    terminal = detail = {"reset": True}
                elif fault.kind == "empty":
                    terminal = {"empty": True, "empty_status": fault.params.get("status")}
                    detail = {"empty": True, "when": "after processing"}
                else:
                    terminal = {"truncate_to": fault.params.get("keep_bytes", -1)}
                    detail = {"truncated": True, "when": "after processing"}
                self._take(fault, detail, fired, ended)
            if ended:
                self._refresh()
        if not fired:
            return None
        context: dict[str, Any] = {"interface": interface_id, "sender": sender, "method": method, "path": path}
        if references:
            context["message"] = list(references)[:10]
        self._report(fired, ended, context)
        return InboundAction(latency_s=latency, faults=tuple(f.id for f, _ in fired), **terminal)

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
        now = self.clock()
        key = (transaction_id or sur or "", recipient)
        fired: list[tuple[Fault, dict[str, Any]]] = []
        ended: list[Fault] = []
        act: dict[str, Any] = {"delay_s": 0.0, "duplicates": 0}
        with self._lock:
            for fault in list(self._faults.values()):
                if fault.side != "outbound":
                    continue
                if fault.kind not in ATTEMPT_KINDS and attempt != 1:
                    continue
                if not fault.scope.matches(
                    interface=interface_id, sender=sender, recipient=recipient, messages=(transaction_id, sur)
                ):
                    continue
                detail = self._outbound_detail(fault, key, attempt, now)
                if detail is None:
                    continue
                for name, value in detail.items():
                    if name in ("delay_s", "duplicates"):
                        act[name] += value
                    elif name == "down_until":
                        act[name] = max(value, act.get(name) or 0)
                    elif name == "reorder_window_s":
                        act[name] = max(value, act.get(name, 0.0))
                    elif name in _OUTBOUND_FIELDS and name not in act:
                        act[name] = value
                self._take(fault, detail, fired, ended)
            if ended:
                self._refresh()
        if not fired:
            return None
        context = {
            "interface": interface_id,
            "sender": sender,
            "recipient": recipient,
            "transactionID": transaction_id,
            "message": sur,
            "attempt": attempt,
        }
        self._report(fired, ended, context)
        act["delay_s"] = round(act["delay_s"], 6)
        return OutboundAction(faults=tuple(f.id for f, _ in fired), **act)

    # -- internals -----------------------------------------------------------------

    def _take(
        self, fault: Fault, detail: dict[str, Any], fired: list[tuple[Fault, dict[str, Any]]], ended: list[Fault]
    ) -> None:
        """A fault that fired; one whose count is used up leaves the plan (under the lock)."""
        fired.append((fault, detail))
        if fault.exhausted:
            ended.append(self._faults.pop(fault.id))

    def _report(self, fired: list[tuple[Fault, dict[str, Any]]], ended: list[Fault], context: dict[str, Any]) -> None:
        for fault, detail in fired:
            self._emit(fault, {"event": "applied", **context, **detail})
        for fault in ended:
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

    def _outbound_detail(self, fault: Fault, key: tuple[str, str], attempt: int, now: float) -> dict[str, Any] | None:
        kind = fault.kind
        if kind == "fail_first":
            tries = fault.params["tries"]
            if attempt == 1:
                if not self._decide(fault):
                    return None
                if tries > 1:
                    fault.failing[key] = tries
            elif key in fault.failing:
                if attempt >= fault.failing[key]:
                    del fault.failing[key]  # the last failing try: the next one succeeds
                if attempt > tries:
                    return None
            else:
                return None
            if "error" in fault.params:
                return {"connection_error": True, "try": attempt, "of": tries}
            detail: dict[str, Any] = {"fail_status": fault.params["status"], "try": attempt, "of": tries}
            if "retry_after" in fault.params:
                detail["retry_after_s"] = fault.params["retry_after"]
            return detail
        if not self._decide(fault):
            return None
        if kind == "drop":
            return {"drop": True}
        if kind == "duplicate":
            return {"duplicates": fault.params["copies"]}
        if kind == "delay":
            return {"delay_s": round(fault.sample(fault.params), 6)}
        if kind == "reorder":
            # Deliveries inside one window are released in reverse order of arrival: one arriving
            # at a, in a window ending at e, is held 2(e - a) s. Deterministic and needs no buffer.
            window = fault.params["window"]
            if fault.reorder_window_end is None or now >= fault.reorder_window_end:
                fault.reorder_window_end = now + window
            hold = 2 * (fault.reorder_window_end - now)
            return {"delay_s": round(hold, 6), "reorder_window_s": window}
        return {"connection_error": True, "down_until": fault.ends_at}  # down

    def _drop(self, which: Callable[[Fault], bool], reason: str) -> list[str]:
        with self._lock:
            gone = [f for f in self._faults.values() if which(f)]
            for f in gone:
                del self._faults[f.id]
            if gone:
                self._refresh()
        for f in gone:
            detail: dict[str, Any] = {"event": "expired", "reason": reason}
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

    def _emit(self, fault: Fault, detail: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        event = {"fault": fault.id, "kind": fault.kind, "side": fault.side, "tag": fault.tag, **detail}
        self.on_event(fault, event)

    # last in the class: after it, ``list`` in an annotation here would name this method
    def list(self) -> list[dict[str, Any]]:
        """The active faults, as ``GET /_sim/faults`` shows them."""
        self.sweep()
        with self._lock:
            return [f.as_dict() for f in self._faults.values()]


# --------------------------------------------------------------------------- wiring helpers


def journal_sink(journal: Any) -> EventSink:
    """An ``on_event`` that records each fault event as a ``fault`` entry of the simulator's journal."""

    def sink(fault: Fault, event: dict[str, Any]) -> None:
        journal.add(
            "fault",
            event.get("interface") or "",
            event.get("sender"),
            transaction_id=event.get("transactionID"),
            response=event,
            note=f"fault {fault.id} ({fault.kind}) {event['event']}",
        )

    return sink


def plan_from_config(config: Any, on_event: EventSink | None = None) -> FaultPlan:
    """The plan a simulator starts with: the environment file's faults, with its seed."""
    return FaultPlan.from_specs(getattr(config, "faults", ()), getattr(config, "fault_seed", 0), on_event)
