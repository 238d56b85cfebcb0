"""The simulated DIP: accept or refuse a batch as a whole, stamp D0, route, and deliver.

Behaviour follows the official DIP API (v2.1.0): a batch is all-accepted or all-refused with
``StandardResponse`` codes (``MSG0000``, ``MSG1001`` schema, ``MSG1002`` interface, ``MSG1006``
duplicate reference, ``MSG1007`` timestamp, ``MSG1009`` sender DIP ID, ``MSG1010`` sender role);
accepted messages gain a D0 block and go to each recipient's webhook with retries, and to the
participant simulators for roles the cohort does not bring.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from mhhs_sit.core.clock_change import ClockChange
from mhhs_sit.definitions.payloads import schema_violations
from mhhs_sit.dip.envelope import dip_timestamp, field, get_ci
from mhhs_stubs import answers, consumption_replay
from mhhs_stubs.appointments import Scheduled
from mhhs_stubs.auth import dip_callback_headers
from mhhs_stubs.clock import SimClock
from mhhs_stubs.config import SimParticipant, SimulatorConfig
from mhhs_stubs.delivery import DeliveryEngine
from mhhs_stubs.faults import journal_sink, plan_from_config
from mhhs_stubs.journal import Delivery, Entry, Journal
from mhhs_stubs.routing import Route, Router

if TYPE_CHECKING:
    from mhhs_sit.catalogue import Catalogue

INTERFACE_RE = re.compile(r"^(IF-\d{3}|REP-\d{3}[A-Z]?)$", re.IGNORECASE)
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


@dataclass(frozen=True)
class Refusal:
    index: int
    code: str  # MSGnnnn
    text: str
    help: str
    pointer: str = ""
    keyword: str = ""


# The answer's DT-995N and DT-011N: an echoed value that breaks them is answered as null.
ECHOED_SUR = re.compile(r"^S-((IF|REP)-)?\d{3,4}-[0-9a-fA-F]{10}-[A-Z]{3,5}-\d{8}-[a-zA-Z0-9]+\Z")
ECHOED_CORRELATION_ID = re.compile(r"^.{1,60}\Z", re.DOTALL)
RESPONSE_TEXT = {
    "MSG0000": "Success",
    "MSG1000": "Processing failed",
    "MSG1001": "Schema Failure",
    "MSG1002": "Interface ID Invalid",
    "MSG1006": "Sender Unique Reference duplicated",
    "MSG1007": "Sender Timestamp Invalid",
    "MSG1009": "Sender DIP ID Invalid",
    "MSG1010": "Sender Role Invalid",
    "MSG1011": "Connection Provider ID Invalid",
    "MSG1012": "Sender Correlation ID Invalid",
    "MSG1030": "Msg Addressing / Routing Error",
    "MSG1031": "Primary Recipient(s) DIP Participant ID Invalid",
    "MSG1032": "Primary Recipient(s) DIP Role ID Invalid",
    "MSG1037": "Cannot Resolve Secondary Recipient(s) for Missing MPAN",
    "MSG1038": "Cannot Resolve Secondary Recipient(s) for MPAN/Party/Event Combination",
}


@dataclass(frozen=True)
class _EnvelopeProblem:
    """What is wrong in one message's CommonBlock, before the message's index in the batch is known."""

    code: str
    help: str
    where: str  # in the CommonBlock, e.g. "S1/senderDIPID"
    keyword: str

    def at(self, i: int) -> Refusal:
        return Refusal(
            i, self.code, RESPONSE_TEXT[self.code], self.help, f"/{i}/payload/CommonBlock/{self.where}", self.keyword
        )


def _wrong_channel(interface_id: str, payload: Mapping[str, object]) -> _EnvelopeProblem | None:
    declared = field(payload, "S0", "interfaceID")
    if str(declared).upper() == interface_id.upper():
        return None
    return _EnvelopeProblem(
        "MSG1002",
        f"S0.interfaceID is {declared!r} but the message was sent to the {interface_id} channel",
        "S0/interfaceID",
        "const",
    )


def _not_the_caller(payload: Mapping[str, object], caller: SimParticipant) -> _EnvelopeProblem | None:
    sender = field(payload, "S1", "senderDIPID")
    if sender == caller.dip_id:
        return None
    return _EnvelopeProblem(
        "MSG1009",
        f"S1.senderDIPID is {sender!r} but the credentials belong to {caller.dip_id}; "
        "a participant may send only as itself",
        "S1/senderDIPID",
        "const",
    )


def _bad_timestamp(payload: Mapping[str, object]) -> _EnvelopeProblem | None:
    ts = field(payload, "S1", "senderTimestamp")
    if isinstance(ts, str) and TIMESTAMP_RE.match(ts):
        return None
    return _EnvelopeProblem(
        "MSG1007",
        f"S1.senderTimestamp {ts!r} must be exactly 25 characters like 2022-03-21T19:05:00+00:00",
        "S1/senderTimestamp",
        "format",
    )


def _egress(
    interface_id: str, payload: Mapping[str, object], route: Route, *, tx: str, initial: object, stamp: str
) -> dict[str, object]:
    """The message as recipients get it: the sender's blocks with the DIP's A0 (addressing) and D0,
    and its CustomBlock only when it has one."""
    common = get_ci(payload, "CommonBlock")
    egress_common = {k: v for k, v in common.items() if k.upper() not in ("D0", "A0")}
    egress_common["A0"] = {
        "primaryRecipients": list(route.primary),
        "secondaryRecipients": list(route.secondary),
        "always": list(route.always),
    }
    egress_common["D0"] = {
        "transactionID": tx,
        "transactionTimestamp": stamp,
        "publicationID": _publication_id(interface_id),
        "initialCorrelationID": initial,
        "replayIndicator": False,
        "serviceTicketURL": None,
    }
    custom = get_ci(payload, "CustomBlock")
    if custom is None:  # an event that carries none (IF-038 [DirectContractMSRemove]…): none is added
        return {"CommonBlock": egress_common}
    return {"CommonBlock": egress_common, "CustomBlock": custom}


def _clock_verb(change: ClockChange) -> str:
    if change.advance is not None:
        seconds = change.advance.total_seconds()
        units = [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]
        span = next(f"{seconds / size:g}{unit}" for unit, size in units if seconds >= size or unit == "s")
        return f"advanced by {span}"
    return "set" if change.set is not None else "reset to real time"


def _publication_id(interface_id: str) -> str:
    return "PUB-" + interface_id.split("-", 1)[1] if interface_id.upper().startswith("IF-") else interface_id


def _catalogue() -> Catalogue | None:
    try:
        from mhhs_sit.catalogue import load_catalogue

        return load_catalogue()
    except ImportError:  # pragma: no cover - catalogue not installed
        return None


Responder = Callable[[SimParticipant, dict[str, object]], Awaitable[None]]


class SimulatedDip:
    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.journal = Journal(config.journal_limit, config.journal_max_bytes)
        self.clock = SimClock()  # market time: real unless a test sets or advances it (/_sim/clock)
        self._surs: set[str] = set()
        self._chains: dict[object, object] = {}  # any correlation id seen -> initial correlation id
        self._tx = itertools.count(1)
        self._tasks: set[asyncio.Future[None]] = set()
        self.responder: Responder | None = None
        self.catalogue = _catalogue()
        self.router = Router(config.participants, self.catalogue, now=lambda: self.clock.now().timestamp())
        self.router.on_due = self._appointments_in_force
        self.clock.on_change(self._clock_moved)
        self.faults = plan_from_config(config, journal_sink(self.journal))
        self.delivery = DeliveryEngine(config.delivery, self.journal, faults=self.faults, sign=self._sign_callback)

    def _sign_callback(self, method: str, url: str, body: bytes) -> dict[str, str]:
        """Deliveries carry the DIP's X-DIP-* signature headers, as the real DIP's callbacks do."""
        if self.config.signing == "off":
            return {}
        return dip_callback_headers(self.config, method, url, body)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.delivery.start()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.delivery.stop()

    def spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self, timeout: float = 5.0) -> bool:
        """Wait until no push or simulated answer is in flight (for tests and shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks or self.delivery.busy():
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    # -- the simulation clock ----------------------------------------------------------

    def clock_view(self) -> dict[str, object]:
        return self.clock.as_dict()

    def change_clock(self, change: ClockChange) -> None:
        """Move the market's clock (journalled, so a run's evidence shows when time jumped)."""
        before = self.clock.stamp()
        after = self.clock.change(change)
        self.journal.add(
            "event", "-", None, note=f"simulation clock {_clock_verb(change)}: {before} -> {dip_timestamp(after)}"
        )

    def _clock_moved(self, now: dt.datetime) -> None:
        self.router.bring_due()  # appointments dated up to the new now take effect at once

    def _appointments_in_force(self, applied: list[Scheduled]) -> None:
        for change in applied:
            self.journal.add(
                "event", "-", None, mpan=change.mpan, note=f"future-dated appointment in force: {change.describe()}"
            )

    # -- ingress -----------------------------------------------------------------------

    def check_batch(
        self, interface_id: str, batch: object, caller: SimParticipant, routes: dict[int, Route] | None = None
    ) -> list[Refusal]:
        """Every reason to refuse the batch; empty means accept all of it. ``routes`` collects each
        message's route as it is checked, so ``accept`` need not resolve it again."""
        refusals: list[Refusal] = []
        if not isinstance(batch, list) or not batch:
            return [
                Refusal(
                    0,
                    "MSG1001",
                    RESPONSE_TEXT["MSG1001"],
                    'the body must be a non-empty JSON array of {"payload": {...}}',
                    "",
                    "type",
                )
            ]
        in_batch: set[str] = set()
        for i, item in enumerate(batch):
            payload = item.get("payload") if isinstance(item, dict) else None
            if not isinstance(payload, dict) or not isinstance(get_ci(payload, "CommonBlock"), dict):
                refusals.append(
                    Refusal(
                        i,
                        "MSG1001",
                        RESPONSE_TEXT["MSG1001"],
                        'each array item must be {"payload": {"CommonBlock": {...}, "CustomBlock": {...}}}',
                        f"/{i}/payload",
                        "required",
                    )
                )
                continue
            refusals += self._check_message(i, interface_id, payload, caller, in_batch, routes)
        return refusals

    def _check_message(
        self,
        i: int,
        interface_id: str,
        payload: Mapping[str, object],
        caller: SimParticipant,
        in_batch: set[str],
        routes: dict[int, Route] | None,
    ) -> list[Refusal]:
        """The envelope's problems; the route's only when the envelope is sound; then the schema's."""
        out = [problem.at(i) for problem in self._envelope_problems(interface_id, payload, caller, in_batch) if problem]
        if not out:
            route = self.router.route(interface_id, payload, caller, i)
            if routes is not None:
                routes[i] = route
            out += [Refusal(i, p.code, p.text, p.help, p.pointer, "routing") for p in route.problems]
        return out + self._schema_refusals(i, interface_id, payload)

    def _schema_refusals(self, i: int, interface_id: str, payload: Mapping[str, object]) -> list[Refusal]:
        """Against the configured catalogue version or official DIP spec; none when neither is set."""
        if self.catalogue is None or not (self.config.version or self.config.dip_spec):
            return []
        found = schema_violations(payload, interface_id, self.config.version or "", self.config.dip_spec)
        return [
            Refusal(i, "MSG1001", RESPONSE_TEXT["MSG1001"], v.message, f"/{i}/payload{v.pointer}", v.keyword)
            for v in found
        ]

    def _envelope_problems(
        self, interface_id: str, payload: Mapping[str, object], caller: SimParticipant, in_batch: set[str]
    ) -> list[_EnvelopeProblem | None]:
        """Each check of S0/S1 the DIP makes, in the order it reports them."""
        return [
            _wrong_channel(interface_id, payload),
            _not_the_caller(payload, caller),
            self._wrong_role(interface_id, payload, caller),
            self._reused_reference(payload, in_batch),
            _bad_timestamp(payload),
        ]

    def _wrong_role(
        self, interface_id: str, payload: Mapping[str, object], caller: SimParticipant
    ) -> _EnvelopeProblem | None:
        role = field(payload, "S1", "senderRoleID")
        if role != caller.role:
            return _EnvelopeProblem(
                "MSG1010",
                f"S1.senderRoleID is {role!r} but {caller.dip_id} is registered as {caller.role}",
                "S1/senderRoleID",
                "const",
            )
        senders = self._senders_of(interface_id)
        if senders is not None and role not in senders:
            return _EnvelopeProblem(
                "MSG1010",
                f"role {role} may not send {interface_id} (senders: {', '.join(sorted(senders))})",
                "S1/senderRoleID",
                "enum",
            )
        return None

    def _senders_of(self, interface_id: str) -> Collection[str] | None:
        """The roles the catalogue lets send ``interface_id``; None: not known, anyone may."""
        if self.catalogue is None:
            return None
        try:
            return self.catalogue.interface(interface_id).senders
        except KeyError:
            return None

    def _reused_reference(self, payload: Mapping[str, object], in_batch: set[str]) -> _EnvelopeProblem | None:
        """A senderUniqueReference seen before, in this batch or an accepted one (it is noted either way)."""
        sur = field(payload, "S1", "senderUniqueReference")
        if not isinstance(sur, str):
            return None
        reused = sur in self._surs or sur in in_batch
        in_batch.add(sur)
        if not reused:
            return None
        return _EnvelopeProblem(
            "MSG1006",
            f"senderUniqueReference {sur} was already used; a retried send is never delivered twice",
            "S1/senderUniqueReference",
            "unique",
        )

    def route_of(
        self, interface_id: str, payload: Mapping[str, object], caller: SimParticipant, index: int = 0
    ) -> Route:
        return self.router.route(interface_id, payload, caller, index)

    def accept(
        self,
        interface_id: str,
        batch: Sequence[Mapping[str, object]],
        caller: SimParticipant,
        routes: Mapping[int, Route] | None = None,
        body_bytes: int = 0,
    ) -> list[dict[str, object]]:
        """Stamp, journal and route each message (``routes``: as ``check_batch`` found them);
        deliveries run in the background. ``body_bytes``: the request's size, shared out among
        the messages for the journal's byte limit."""
        share = body_bytes // max(len(batch), 1)
        results = []
        now = self.clock.now()
        for i, item in enumerate(batch):
            payload = cast(Mapping[str, object], item["payload"])  # check_batch found it an object
            self._surs.add(field(payload, "S1", "senderUniqueReference"))
            tx = f"T-{interface_id}-{caller.dip_id}-{caller.role}-{now:%Y%m%d}-{next(self._tx):010d}"
            initial = self._initial_correlation(field(payload, "S1", "senderCorrelationID"), tx)
            route = (routes or {}).get(i) or self.router.route(interface_id, payload, caller)
            egress = _egress(interface_id, payload, route, tx=tx, initial=initial, stamp=dip_timestamp(now))
            entry = self.journal.add(
                "accepted",
                interface_id,
                caller.dip_id,
                transaction_id=tx,
                correlation_id=initial,
                mpan=field(payload, "M0", "MPANCore"),
                event_code=field(payload, "S0", "eventCode"),
                payload=egress,
                route=route.as_dict(),
                size=share,
                market_at=now.timestamp(),
            )
            self.router.learn(interface_id, payload, caller, route)
            for dip_id in route.recipients:
                self._deliver(entry, dip_id, egress)
            results.append(self.standard_item(payload, caller, "MSG0000", tx=tx))
            if interface_id.upper() == consumption_replay.REQUEST:
                try:
                    self._replay_consumption(payload)
                except Exception as exc:  # the request stands accepted; the replay's failure is visible
                    note = f"SIMULATOR DEFECT in the consumption replay: {type(exc).__name__}: {exc}"
                    self.journal.add("event", consumption_replay.REPLAY, caller.dip_id, note=note)
        return results

    def _replay_consumption(self, request: Mapping[str, object]) -> None:
        """The DIP's own answer to IF-015: the MPAN's history again as IF-016 (consumption_replay)."""
        sender = consumption_replay.DIP_SENDER
        batch = consumption_replay.replay_batch(self.journal, request, self.config.environment_tag, self.clock.now())
        refusals = self.check_batch(consumption_replay.REPLAY, batch, sender)
        if refusals:
            details = "; ".join(f"{r.code} {r.pointer}: {r.help}" for r in refusals)
            self.journal.add(
                "refused",
                consumption_replay.REPLAY,
                sender.dip_id,
                note=f"SIMULATOR DEFECT in the consumption replay: {details}",
            )
            return
        self.accept(consumption_replay.REPLAY, batch, sender)

    def _initial_correlation(self, correlation_id: object, tx: str) -> object:
        """The correlation id that opened this message's chain (its own, or the transaction's if it has none)."""
        initial = (self._chains.get(correlation_id) if correlation_id else None) or correlation_id or tx
        self._chains.setdefault(correlation_id or tx, initial)
        return initial

    def standard_item(
        self,
        payload: Mapping[str, object],
        caller: SimParticipant | None,
        code: str,
        *,
        tx: str | None = None,
        help: str = "",
    ) -> dict[str, object]:
        def echo(name: str, fits: re.Pattern[str]) -> str | None:
            """What the sender sent, where it is text the answer's schema allows (else null)."""
            value = field(payload, "S1", name)
            return value if isinstance(value, str) and fits.match(value) else None

        return answers.standard_item(
            code,
            RESPONSE_TEXT.get(code, ""),
            help or None,
            transactionID=tx,
            senderUniqueReference=echo("senderUniqueReference", ECHOED_SUR),
            correlationID=echo("senderCorrelationID", ECHOED_CORRELATION_ID),
            recipientID=caller.dip_id if caller else None,
        )

    # -- delivery --------------------------------------------------------------------------

    def _deliver(self, entry: Entry, dip_id: str, egress: dict[str, object]) -> None:
        participant = self.config.participants[dip_id]
        if participant.simulated and self.responder is not None:
            entry.deliveries.append(Delivery(dip_id, "simulated", status="delivered", done_at=entry.at))
            self.spawn(self._answer(participant, egress))
            if (entry.interface_id.upper(), dip_id) not in self.delivery.subscriptions:
                return
        self.delivery.publish(entry, dip_id, egress)

    async def _answer(self, participant: SimParticipant, egress: dict[str, object]) -> None:
        if self.config.responder_delay:
            await asyncio.sleep(self.config.responder_delay)
        assert self.responder is not None
        try:
            await self.responder(participant, egress)
        except Exception as exc:  # a rule defect must be visible, not kill the simulator
            self.journal.add(
                "event",
                field(egress, "S0", "interfaceID") or "?",
                participant.dip_id,
                note=f"participant simulator error: {type(exc).__name__}: {exc}",
            )
