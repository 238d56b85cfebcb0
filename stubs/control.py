"""The simulator's own API under ``/_sim``: journal, blocking wait, deliveries, routing, inboxes.

This is what makes the simulator better to test against than a mock server: a test can ask who
would receive a message before sending it, wait for a message to reach a role without polling,
read every delivery attempt, pull messages with acknowledgement, and seed MPAN appointments.

Every ``/_sim`` path but a participant's own inbox needs the control key (``ControlGate``): the
journal holds every participant's payloads and faults or appointments change what others receive.
A participant's own key reads only its own journal entries (``journal_access``).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mhhs_sit.core.clock_change import CONTROL_KEYS, ClockChangeError, parse_clock_change
from mhhs_stubs.answers import error, problem
from mhhs_stubs.config import CONTROL_HEADER, SimParticipant, SimulatorConfig
from mhhs_stubs.journal import DELIVERY_STATUSES, Entry, Query
from mhhs_stubs.journal_access import NotYours, Reader, participant_may_read
from mhhs_stubs.limits import JsonRefused, parse_json
from mhhs_stubs.routing import parse_seed
from mhhs_stubs.rule_files import TRIGGER_NAME
from mhhs_stubs.service_desk_api import is_desk_path

if TYPE_CHECKING:
    from mhhs_stubs.sim_parts import SimulatorParts

MAX_WAIT_S = 120.0
CONTROL_PREFIX = "/_sim"
PARTICIPANT_PATHS = "/_sim/inbox/"  # a participant's own inbox: its X-API-Key, not the control key


def needs_control_key(path: str) -> bool:
    return (path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")) and not path.startswith(PARTICIPANT_PATHS)


class ControlGate:
    """Refuses a ``/_sim`` request without the control key before any route reads its body."""

    def __init__(self, app: ASGIApp, config: SimulatorConfig, on_refusal: Callable[[str], None]):
        self.app = app
        self.config = config
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_control_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        wanted = CONTROL_HEADER.lower().encode()
        given = next((v for k, v in scope["headers"] if k == wanted), b"")
        if self.config.is_control_key(given.decode("latin-1")) or (not given and _reads_own(scope)):
            await self.app(scope, receive, send)  # a participant's key is checked by the handler
            return
        what = "an unknown" if given else "no"
        self.on_refusal(f"401 control-key: {scope['method']} {scope['path']} with {what} {CONTROL_HEADER}")
        refusal = error(
            401, "MSG1000", "Unauthorised",
            f"{scope['path']} is the simulator's control API: send the run's control key as {CONTROL_HEADER} "
            "(printed by mhhs-sit stubs up and in its credentials file); a participant's X-API-Key is not one "
            "(with it a participant reads only its own messages: GET /_sim/messages, /_sim/wait, /_sim/deliveries)",
        )  # fmt: skip
        await refusal(scope, receive, send)


def _reads_own(scope: Scope) -> bool:
    """A participant's key on a journal path it may read (its own entries: ``journal_access``) or
    on the service desk (its own incidents: ``service_desk_api``)."""
    own = participant_may_read(scope["method"], scope["path"]) or is_desk_path(scope["path"])
    return own and any(k == b"x-api-key" for k, _ in scope["headers"])


def control_routes(sim: SimulatorParts) -> list[Route]:
    api = ControlApi(sim)
    return [
        Route("/_sim/health", api.health, methods=["GET"]),
        Route("/_sim/messages", api.messages, methods=["GET"]),
        Route("/_sim/messages/{transaction_id}", api.message, methods=["GET"]),
        Route("/_sim/wait", api.wait, methods=["GET"]),
        Route("/_sim/deliveries", api.deliveries, methods=["GET"]),
        Route("/_sim/route/{interface_id}", api.route, methods=["POST"]),
        Route("/_sim/appointments", api.seed_appointments, methods=["POST"]),
        Route("/_sim/appointments/{mpan}", api.appointments, methods=["GET"]),
        Route("/_sim/inbox/{dip_id}", api.pull, methods=["GET"]),
        Route("/_sim/inbox/{dip_id}/ack", api.ack, methods=["POST"]),
        Route("/_sim/idle", api.idle, methods=["POST"]),
        Route("/_sim/clock", api.clock, methods=["GET"]),
        Route("/_sim/clock", api.change_clock, methods=["POST"]),
        Route("/_sim/triggers", api.trigger, methods=["POST"]),
    ]


class BadQuery(ValueError):
    pass


def _number(request: Request, name: str, default: float, *, low: float = 0.0, high: float | None = None) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadQuery(f"query parameter {name}={raw!r} must be a number") from None
    if value < low or (high is not None and value > high):
        raise BadQuery(
            f"query parameter {name}={raw} must be between {low:g} and {high if high is not None else 'any'}"
        )
    return value


def _query(request: Request) -> Query:
    q = request.query_params
    known = {
        "correlation_id", "mpan", "interface", "participant", "recipient", "event", "transaction_id",
        "kind", "since", "until", "after", "limit", "timeout", "status", "role",
    }  # fmt: skip
    unknown = sorted(set(q) - known)
    if unknown:
        raise BadQuery(f"unknown query parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    since = _number(request, "since", -1.0, low=-1.0)
    until = _number(request, "until", -1.0, low=-1.0)
    return Query(
        correlation_id=q.get("correlation_id"),
        mpan=q.get("mpan"),
        interface_id=q.get("interface"),
        participant=q.get("participant"),
        recipient=q.get("recipient"),
        event_code=q.get("event"),
        transaction_id=q.get("transaction_id"),
        kind=q.get("kind"),
        since=None if since < 0 else since,
        until=None if until < 0 else until,
        after_seq=int(_number(request, "after", 0)),
    )


def _guard(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except BadQuery as exc:
            return problem(400, str(exc))
        except NotYours as exc:
            return problem(403, str(exc))

    return wrapped


class ControlApi:
    def __init__(self, sim: SimulatorParts):
        self.sim = sim
        self.dip = sim.dip
        for name in ("health", "messages", "message", "wait", "deliveries", "route", "seed_appointments",
                     "appointments", "pull", "ack", "idle", "clock", "change_clock", "trigger"):  # fmt: skip
            setattr(self, name, _guard(getattr(self, name)))

    async def health(self, request: Request) -> Response:
        journal = self.dip.journal
        return JSONResponse(
            {
                "status": "ok",
                "participants": len(self.dip.config.participants),
                "journal": len(journal),
                "journalLimit": journal.limit,
                "journalBytes": journal.bytes,
                "journalMaxBytes": journal.max_bytes,
                "evicted": journal.evicted,
                "lastSeq": journal.last_seq,
                "inFlight": self.dip.delivery.in_flight,
                "defects": len(self.sim.defects),
            }
        )

    async def _reader(self, request: Request) -> Reader | Response:
        """The control client (ControlGate checked its key), or the participant whose X-API-Key
        (signature and certificate as on the DIP's paths) reads its own entries; else the refusal."""
        if self.dip.config.is_control_key(request.headers.get(CONTROL_HEADER)):
            return Reader()
        caller, refusal = await self.sim._authenticate(request, "_sim")
        if caller is None:
            return refusal  # type: ignore[return-value]
        return Reader(caller.dip_id)

    async def messages(self, request: Request) -> Response:
        reader = await self._reader(request)
        if isinstance(reader, Response):
            return reader
        q = reader.narrowed(_query(request))
        limit = int(_number(request, "limit", 1000, low=1, high=100_000))
        entries = self.dip.journal.query(q, limit=limit)
        return JSONResponse(
            {
                "count": len(entries),
                "evicted": self.dip.journal.evicted,
                "lastSeq": self.dip.journal.last_seq,
                "messages": [reader.view(e) for e in entries],
            }
        )

    async def message(self, request: Request) -> Response:
        reader = await self._reader(request)
        if isinstance(reader, Response):
            return reader
        tx = request.path_params["transaction_id"]
        entry = self.dip.journal.by_transaction(tx)
        if entry is None or not reader.sees(entry):  # another's message: as if there were none
            evicted = f" ({self.dip.journal.evicted} older entries were evicted)" if self.dip.journal.evicted else ""
            return problem(404, f"no accepted message with transactionID {tx}{evicted}")
        return JSONResponse(reader.view(entry))

    async def wait(self, request: Request) -> Response:
        """Block until a message matching the query reaches the recipient (or role), or time out.

        "Reaches" means delivered: pushed and answered 2xx, answered by a participant simulator,
        or acknowledged from the inbox. Without ``recipient``/``role`` the first match is enough.
        """
        reader = await self._reader(request)
        if isinstance(reader, Response):
            return reader
        role = request.query_params.get("role")
        q = reader.narrowed(_query(request), role=role)
        timeout = _number(request, "timeout", 10.0, high=MAX_WAIT_S)
        recipient = request.query_params.get("recipient")
        wanted_status = request.query_params.get("status", "delivered")
        if wanted_status not in DELIVERY_STATUSES:
            raise BadQuery(f"status={wanted_status!r}; one of {', '.join(DELIVERY_STATUSES)}")
        parties = self.dip.config.participants
        if recipient and recipient not in parties:
            raise BadQuery(f"recipient {recipient} is not a participant of this environment")
        base = dataclasses.replace(q, recipient=None)

        def reached(e: Entry) -> bool:
            return base.matches(e) and _delivered(e, parties, recipient, role, wanted_status)

        loop_start = self.dip.journal.last_seq
        found = await self.dip.journal.wait_for(reached, after_seq=q.after_seq, timeout=timeout)
        if found is None:
            return JSONResponse(
                {
                    "found": False,
                    "waitedSeconds": timeout,
                    "lastSeq": self.dip.journal.last_seq,
                    "seqAtStart": loop_start,
                }
            )
        return JSONResponse({"found": True, "message": reader.view(found), "lastSeq": self.dip.journal.last_seq})

    async def deliveries(self, request: Request) -> Response:
        reader = await self._reader(request)
        if isinstance(reader, Response):
            return reader
        q = reader.narrowed(_query(request))
        status = request.query_params.get("status")
        if status is not None and status not in DELIVERY_STATUSES:
            raise BadQuery(f"status={status!r}; one of {', '.join(DELIVERY_STATUSES)}")
        recipient = reader.dip_id or request.query_params.get("recipient")
        limit = int(_number(request, "limit", 1000, low=1, high=100_000))
        entries = self.dip.journal.query(dataclasses.replace(q, recipient=None), limit=10**9)
        rows = list(itertools.islice(_delivery_rows(entries, status, recipient), limit))
        mine = self.dip.journal if reader.dip_id is None else entries
        counts = Counter(d.status for e in mine for d in reader.deliveries(e))
        return JSONResponse({"count": len(rows), "totals": dict(counts), "deliveries": rows})

    async def route(self, request: Request) -> Response:
        """Dry run: who would receive these messages, and would the DIP refuse any of them?"""
        interface_id = request.path_params["interface_id"].upper()
        caller = await self.sim._caller(request)
        if not isinstance(caller, SimParticipant):
            return error(
                401, "MSG1000", "Unauthorised",
                f"send the X-API-Key of the participant that would send the message ({caller.help})",
            )  # fmt: skip
        try:
            body = parse_json(await request.body(), self.dip.config.max_json_depth)
        except JsonRefused as exc:
            return problem(400, str(exc))
        batch = body if isinstance(body, list) else [body]
        if len(batch) > self.dip.config.max_batch_items:
            return problem(413, f"{len(batch)} messages: at most {self.dip.config.max_batch_items} (max_batch_items)")
        out = []
        for i, item in enumerate(batch):
            payload = item.get("payload", item) if isinstance(item, dict) else None
            if not isinstance(payload, dict):
                return problem(400, f"/{i}: give a message (or {{'payload': message}})")
            route = self.dip.route_of(interface_id, payload, caller, i)
            refusals = self.dip.check_batch(interface_id, [{"payload": payload}], caller)
            out.append(
                {
                    **route.as_dict(),
                    "wouldAccept": not refusals,
                    "refusals": [
                        {"code": r.code, "pointer": r.pointer.replace("/0/", f"/{i}/", 1), "message": r.help}
                        for r in refusals
                    ],
                }
            )
        return JSONResponse({"routes": out})

    async def seed_appointments(self, request: Request) -> Response:
        try:
            body = parse_json(await request.body(), self.dip.config.max_json_depth)
        except JsonRefused as exc:
            return problem(400, str(exc))
        seeds, problems = parse_seed(body)
        for mpan, parties in seeds.items():
            problems += [f"{mpan} {p}" for p in self.dip.router.seed(mpan, parties)]
        if problems:
            return problem(400, "some appointments were not recorded", problems=problems)
        return JSONResponse({"appointed": {m: self.dip.router.appointments.of(m) for m in seeds}}, status_code=201)

    async def appointments(self, request: Request) -> Response:
        mpan = request.path_params["mpan"]
        self.dip.router.bring_due()
        appointments = self.dip.router.appointments
        return JSONResponse({"MPAN": mpan, "appointed": appointments.of(mpan), "pending": appointments.ahead_of(mpan)})

    async def _inbox_refusal(self, request: Request, dip_id: str, action: str) -> Response | None:
        """Only the inbox's owner, by its own X-API-Key (and its signature and certificate where the
        simulator requires them, as on the DIP's paths), pulls or acknowledges it."""
        caller, refusal = await self.sim._authenticate(request, "_sim")
        if caller is None:
            return refusal
        if caller.dip_id != dip_id:
            return problem(403, f"{action} {dip_id}'s inbox needs {dip_id}'s X-API-Key, not {caller.dip_id}'s")
        return None

    async def pull(self, request: Request) -> Response:
        dip_id = request.path_params["dip_id"]
        refused = await self._inbox_refusal(request, dip_id, "pulling")
        if refused is not None:
            return refused
        limit = int(_number(request, "limit", 100, low=1, high=10_000))
        wait = _number(request, "wait", 0.0, high=MAX_WAIT_S)
        lease = _number(request, "lease", 30.0, low=0.1, high=3600)
        got = await self.dip.delivery.pull(
            dip_id, interface_id=request.query_params.get("interface"), limit=limit, wait=wait, lease=lease
        )
        return JSONResponse(
            {
                "count": len(got),
                "waiting": self.dip.delivery.inbox_size(dip_id),
                "messages": [{"interface": p.entry.interface_id, **{"payload": p.egress}} for p in got],
            }
        )

    async def ack(self, request: Request) -> Response:
        dip_id = request.path_params["dip_id"]
        refused = await self._inbox_refusal(request, dip_id, "acknowledging")
        if refused is not None:
            return refused
        try:
            body = parse_json(await request.body(), self.dip.config.max_json_depth)
        except JsonRefused as exc:
            return problem(400, str(exc))
        ids = body.get("transactionIDs") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(t, str) for t in ids):
            return problem(400, 'give {"transactionIDs": ["T-...", ...]}')
        acked, unknown = self.dip.delivery.ack(dip_id, ids)
        return JSONResponse({"acknowledged": acked, "unknown": unknown}, status_code=200)

    async def idle(self, request: Request) -> Response:
        done = await self.dip.idle(_number(request, "timeout", 5.0, high=MAX_WAIT_S))
        return JSONResponse({"idle": done})

    async def clock(self, request: Request) -> Response:
        return JSONResponse(self.dip.clock_view())

    async def change_clock(self, request: Request) -> Response:
        """``{advance: 2d}``, ``{set: "2026-04-01T00:00:00+01:00"}`` or ``{reset: true}``."""
        try:
            change = parse_clock_change(parse_json(await request.body(), self.dip.config.max_json_depth), CONTROL_KEYS)
        except JsonRefused as exc:
            return problem(400, str(exc))
        except ClockChangeError as exc:
            return problem(400, str(exc), field=exc.key)
        self.dip.change_clock(change)
        return JSONResponse(self.dip.clock_view())

    async def trigger(self, request: Request) -> Response:
        """``{dip_id, trigger, mpan?, gsp_group?, distributor?, correlation?, data?}``: an off-DIP
        event reaches a simulated party, whose ``when: {trigger: …}`` rules answer it
        (docs/simulator.md#triggers)."""
        try:
            body = parse_json(await request.body(), self.dip.config.max_json_depth)
        except JsonRefused as exc:
            return problem(400, str(exc))
        if not isinstance(body, dict):
            return problem(400, "expected {dip_id, trigger, mpan?, correlation?, data?}")
        unknown = sorted(set(body) - {"dip_id", "trigger", "mpan", "gsp_group", "distributor", "correlation", "data"})
        name, data = body.get("trigger"), body.get("data", {})
        mpan, correlation = body.get("mpan"), body.get("correlation")
        if unknown:
            known = "correlation, data, dip_id, distributor, gsp_group, mpan, trigger"
            return problem(400, f"unknown key(s) {', '.join(unknown)} (known: {known})")
        if not isinstance(name, str) or not TRIGGER_NAME.match(name):
            return problem(400, "trigger: a name such as CSSRegistration (letters, digits, - and _)", field="trigger")
        if not isinstance(data, dict):
            return problem(400, "data: a mapping of the event's fields", field="data")
        where = {"MPANCore": mpan, "GSPGroupID": body.get("gsp_group"), "distributorDIPID": body.get("distributor")}
        if not all(v is None or isinstance(v, str) for v in (correlation, *where.values())):
            return problem(400, "mpan, gsp_group, distributor and correlation are text", field="mpan")
        me = self.dip.config.participants.get(str(body.get("dip_id")))
        if me is None:
            return problem(404, f"no participant with DIP ID {body.get('dip_id')!r}", field="dip_id")
        if not me.simulated:
            return problem(409, f"{me.dip_id} ({me.role}) is not simulated: only a simulated party takes a trigger")
        outcome = self.sim.participants.trigger(me, name, data, where, correlation)
        answer: dict[str, object] = {"handled": outcome.handled, "dip_id": me.dip_id, "role": me.role, "trigger": name}
        answer |= {"sent": outcome.sent, "refused": outcome.defects}
        if not outcome.handled:
            answer["note"] = f"no {me.role} rule takes the trigger {name}"
        return JSONResponse(answer)


def _delivery_rows(entries: Iterable[Entry], status: str | None, recipient: str | None) -> Iterator[dict[str, object]]:
    """One row per delivery of the entries, with the given status and recipient (when given)."""
    for e in entries:
        for d in e.deliveries:
            if (status and d.status != status) or (recipient and d.recipient != recipient):
                continue
            yield {"transactionID": e.transaction_id, "interface": e.interface_id, **d.as_dict()}


def _delivered(
    e: Entry, parties: Mapping[str, SimParticipant], recipient: str | None, role: str | None, status: str
) -> bool:
    """Whether the entry reached the recipient (or a participant of the role) with ``status``;
    with neither named, the entry itself is enough."""
    if not recipient and not role:
        return True
    for d in e.deliveries:
        p = parties.get(d.recipient)
        if recipient and d.recipient != recipient:
            continue
        if role and (p is None or p.role != role):
            continue
        if d.status == status:
            return True
    return False
