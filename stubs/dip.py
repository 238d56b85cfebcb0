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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mhhs_sit.definitions.payloads import schema_violations
from mhhs_sit.dip.envelope import dip_timestamp, field, get_ci
from mhhs_stubs import answers
from mhhs_stubs.auth import dip_callback_headers
from mhhs_stubs.config import SimParticipant, SimulatorConfig
from mhhs_stubs.delivery import DeliveryEngine
from mhhs_stubs.faults import journal_sink, plan_from_config
from mhhs_stubs.journal import Delivery, Entry, Journal
from mhhs_stubs.routing import Route, Router

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


def _catalogue() -> Any:
    try:
        from mhhs_sit.catalogue import load_catalogue

        return load_catalogue()
    except ImportError:  # pragma: no cover - catalogue not installed
        return None


Responder = Callable[[SimParticipant, dict[str, Any]], Awaitable[None]]


class SimulatedDip:
    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.journal = Journal(config.journal_limit)
        self._surs: set[str] = set()
        self._chains: dict[str, str] = {}  # any correlation id seen -> initial correlation id
        self._tx = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.responder: Responder | None = None
        self.catalogue = _catalogue()
        self.router = Router(config.participants, self.catalogue)
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

    def spawn(self, coro: Awaitable[Any]) -> None:
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

    # -- ingress -----------------------------------------------------------------------

    def check_batch(
        self, interface_id: str, batch: Any, caller: SimParticipant, routes: dict[int, Route] | None = None
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
        payload: dict[str, Any],
        caller: SimParticipant,
        in_batch: set[str],
        routes: dict[int, Route] | None,
    ) -> list[Refusal]:
        out: list[Refusal] = []
        declared = field(payload, "S0", "interfaceID")
        if str(declared).upper() != interface_id.upper():
            out.append(
                Refusal(
                    i,
                    "MSG1002",
                    RESPONSE_TEXT["MSG1002"],
                    f"S0.interfaceID is {declared!r} but the message was sent to the {interface_id} channel",
                    f"/{i}/payload/CommonBlock/S0/interfaceID",
                    "const",
                )
            )
        sender = field(payload, "S1", "senderDIPID")
        if sender != caller.dip_id:
            out.append(
                Refusal(
                    i,
                    "MSG1009",
                    RESPONSE_TEXT["MSG1009"],
                    f"S1.senderDIPID is {sender!r} but the credentials belong to {caller.dip_id}; "
                    "a participant may send only as itself",
                    f"/{i}/payload/CommonBlock/S1/senderDIPID",
                    "const",
                )
            )
        role = field(payload, "S1", "senderRoleID")
        if role != caller.role:
            out.append(
                Refusal(
                    i,
                    "MSG1010",
                    RESPONSE_TEXT["MSG1010"],
                    f"S1.senderRoleID is {role!r} but {caller.dip_id} is registered as {caller.role}",
                    f"/{i}/payload/CommonBlock/S1/senderRoleID",
                    "const",
                )
            )
        elif self.catalogue is not None:
            try:
                senders = self.catalogue.interface(interface_id).senders
            except KeyError:
                senders = None
            if senders is not None and role not in senders:
                out.append(
                    Refusal(
                        i,
                        "MSG1010",
                        RESPONSE_TEXT["MSG1010"],
                        f"role {role} may not send {interface_id} (senders: {', '.join(sorted(senders))})",
                        f"/{i}/payload/CommonBlock/S1/senderRoleID",
                        "enum",
                    )
                )
        sur = field(payload, "S1", "senderUniqueReference")
        if isinstance(sur, str) and (sur in self._surs or sur in in_batch):
            out.append(
                Refusal(
                    i,
                    "MSG1006",
                    RESPONSE_TEXT["MSG1006"],
                    f"senderUniqueReference {sur} was already used; a retried send is never delivered twice",
                    f"/{i}/payload/CommonBlock/S1/senderUniqueReference",
                    "unique",
                )
            )
        if isinstance(sur, str):
            in_batch.add(sur)
        ts = field(payload, "S1", "senderTimestamp")
        if not isinstance(ts, str) or not TIMESTAMP_RE.match(ts):
            out.append(
                Refusal(
                    i,
                    "MSG1007",
                    RESPONSE_TEXT["MSG1007"],
                    f"S1.senderTimestamp {ts!r} must be exactly 25 characters like 2022-03-21T19:05:00+00:00",
                    f"/{i}/payload/CommonBlock/S1/senderTimestamp",
                    "format",
                )
            )
        if not out:
            route = self.router.route(interface_id, payload, caller, i)
            if routes is not None:
                routes[i] = route
            for problem in route.problems:
                out.append(Refusal(i, problem.code, problem.text, problem.help, problem.pointer, "routing"))
        if self.catalogue is not None and (self.config.version or self.config.dip_spec):
            found = schema_violations(payload, interface_id, self.config.version or "", self.config.dip_spec)
            for v in found:
                out.append(
                    Refusal(i, "MSG1001", RESPONSE_TEXT["MSG1001"], v.message, f"/{i}/payload{v.pointer}", v.keyword)
                )
        return out

    def route_of(self, interface_id: str, payload: Mapping[str, Any], caller: SimParticipant, index: int = 0) -> Route:
        return self.router.route(interface_id, payload, caller, index)

    def accept(
        self,
        interface_id: str,
        batch: Sequence[Mapping[str, Any]],
        caller: SimParticipant,
        routes: Mapping[int, Route] | None = None,
    ) -> list[dict[str, Any]]:
        """Stamp, journal and route each message (``routes``: as ``check_batch`` found them);
        deliveries run in the background."""
        results = []
        now = dt.datetime.now(dt.UTC)
        stamp = dip_timestamp(now)
        for i, item in enumerate(batch):
            payload = item["payload"]
            common = get_ci(payload, "CommonBlock")
            sur = field(payload, "S1", "senderUniqueReference")
            self._surs.add(sur)
            corr = field(payload, "S1", "senderCorrelationID")
            initial = self._chains.get(corr) if corr else None
            tx = f"T-{interface_id}-{caller.dip_id}-{caller.role}-{now:%Y%m%d}-{next(self._tx):010d}"
            initial = initial or corr or tx
            self._chains.setdefault(corr or tx, initial)
            route = (routes or {}).get(i) or self.router.route(interface_id, payload, caller)
            egress_common = {k: v for k, v in common.items() if k.upper() not in ("D0", "A0")}
            egress_common["A0"] = {
                "primaryRecipients": list(route.primary),
                "secondaryRecipients": list(route.secondary),
                "always": list(route.always),
            }
            egress_common["D0"] = {
                "transactionID": tx,
                "transactionTimestamp": stamp,
                "publicationID": "PUB-" + interface_id.split("-", 1)[1]
                if interface_id.upper().startswith("IF-")
                else interface_id,
                "initialCorrelationID": initial,
                "replayIndicator": False,
                "serviceTicketURL": None,
            }
            egress = {"CommonBlock": egress_common, "CustomBlock": get_ci(payload, "CustomBlock") or {}}
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
            )
            self.router.learn(interface_id, payload, caller, route)
            for dip_id in route.recipients:
                self._deliver(entry, dip_id, egress)
            results.append(self.standard_item(payload, caller, "MSG0000", tx=tx))
        return results

    def standard_item(
        self,
        payload: Mapping[str, Any],
        caller: SimParticipant | None,
        code: str,
        *,
        tx: str | None = None,
        help: str = "",
    ) -> dict[str, Any]:
        def echo(name: str) -> str | None:  # echo what the sender sent, only where it is text
            value = field(payload, "S1", name)
            return value if isinstance(value, str) else None

        return answers.standard_item(
            code,
            RESPONSE_TEXT.get(code, ""),
            help or None,
            transactionID=tx,
            senderUniqueReference=echo("senderUniqueReference"),
            correlationID=echo("senderCorrelationID"),
            sentTimestamp=echo("senderTimestamp"),
            senderID=caller.dip_id if caller else None,
        )

    # -- delivery --------------------------------------------------------------------------

    def _deliver(self, entry: Entry, dip_id: str, egress: dict[str, Any]) -> None:
        participant = self.config.participants[dip_id]
        if participant.simulated and self.responder is not None:
            entry.deliveries.append(Delivery(dip_id, "simulated", status="delivered", done_at=entry.at))
            self.spawn(self._answer(participant, egress))
            if (entry.interface_id.upper(), dip_id) not in self.delivery.subscriptions:
                return
        self.delivery.publish(entry, dip_id, egress)

    async def _answer(self, participant: SimParticipant, egress: dict[str, Any]) -> None:
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
