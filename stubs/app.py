"""HTTP surface of the simulator: the DIP's own paths, plus ``/_sim/*`` (control.py) for tests.

DIP paths follow the official API v2.1.0: send, webhook configuration, replay, requeue, status
messages and their webhook, and the debugging ``/validate/{IF}/{EventCode}`` endpoint. Every
refusal is journalled, so a test or a reviewer can see what a participant's system got wrong.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mhhs_sit.definitions.payloads import schema_violations
from mhhs_sit.dip.envelope import field
from mhhs_stubs import routing
from mhhs_stubs.answers import STANDARD_FIELDS, bounded_help, error, standard, standard_item
from mhhs_stubs.auth import Authenticator, AuthRefusal, peer_certificate
from mhhs_stubs.clock import ClockContext
from mhhs_stubs.config import SimParticipant, SimulatorConfig
from mhhs_stubs.conformance import Conformance, ConformanceMiddleware
from mhhs_stubs.control import ControlGate, control_routes
from mhhs_stubs.delivery import Subscription, replayed
from mhhs_stubs.dip import INTERFACE_RE, RESPONSE_TEXT, Refusal, SimulatedDip
from mhhs_stubs.fault_middleware import FaultMiddleware
from mhhs_stubs.fault_routes import OPENAPI_PATHS as FAULT_PATHS
from mhhs_stubs.fault_routes import routes as fault_routes
from mhhs_stubs.journal import Entry
from mhhs_stubs.limits import BodyLimit, JsonRefused, parse_json
from mhhs_stubs.message_request import message_request_problems, select_published
from mhhs_stubs.openapi import build_document
from mhhs_stubs.responders import ParticipantSimulators, load_rules
from mhhs_stubs.service_desk_api import OPENAPI_PATHS as DESK_PATHS
from mhhs_stubs.service_desk_api import routes as service_desk_routes

DIP_ID_RE = re.compile(r"^[0-9A-Za-z]{10}$")
LOOPBACK_URL = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)", re.IGNORECASE)
STATUS_CHANNEL = "STATUS"
SEND_PATH = re.compile(r"^/dip-channel/([^/]+)$")


class SimulatorApp:
    def __init__(self, config: SimulatorConfig):
        self.dip = SimulatedDip(config)
        rules = load_rules(Path(config.rules_dir)) if config.rules_dir else None
        self.participants = ParticipantSimulators(self.dip, rules=rules)
        self.auth = Authenticator(config)
        self.document = build_document(_version(), extra_paths={**FAULT_PATHS, **DESK_PATHS})
        self.defects: list[str] = []
        self.starlette = Starlette(
            routes=[
                Route("/dip-channel/{interface_id}", self.send, methods=["POST"]),
                Route("/dip-channel/{interface_id}/pubconfig/{recipient}", self.pubconfig, methods=["POST", "DELETE"]),
                Route("/dip-channel/{interface_id}/replay/{recipient}", self.replay, methods=["POST"]),
                Route("/dip-channel/{interface_id}/requeue/{recipient}", self.requeue, methods=["POST"]),
                Route("/statusmessage", self.status_message, methods=["POST"]),
                Route("/statusmessage/config/{recipient}", self.status_config, methods=["POST", "DELETE"]),
                Route("/validate/{interface_id}/{event_code}", self.validate, methods=["POST"]),
                *control_routes(self),
                *fault_routes(self.dip.faults, config),
                *service_desk_routes(self),
                Route("/openapi.json", self.openapi, methods=["GET"]),
            ],
            lifespan=self._lifespan,
            exception_handlers={404: _not_found, 405: _not_allowed},
        )
        app: ASGIApp = SendFastPath(ControlGate(self.starlette, config, self._refused_as("_sim")), self)
        app = BodyLimit(app, config, self._refused_as("-"))  # before authentication, on every path
        if config.check_responses:
            app = ConformanceMiddleware(app, Conformance(self.document), self._defect)
        # Outside Starlette, so a reset reaches uvicorn's own transport; faulted answers are
        # deliberate and never reach the conformance check.
        app = FaultMiddleware(app, self.dip.faults, sender_of=config.by_key)
        self.app: ASGIApp = ClockContext(app, self.dip.clock)  # every answer is stamped on the simulation clock

    def _refused_as(self, channel: str) -> Callable[[str], None]:
        """Journals a refusal made before the caller is known (no control key, a body over the limit)."""

        def journal(note: str) -> None:
            self.dip.journal.add("refused", channel, None, note=note)

        return journal

    def _defect(self, problems: list[str]) -> None:
        self.defects += problems
        for p in problems:
            self.dip.journal.add("event", "-", None, note=f"SIMULATOR DEFECT: response does not conform: {p}")

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self.document)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.dip.start()
        try:
            yield
        finally:
            await self.dip.stop()

    # -- shared request handling ---------------------------------------------------------

    async def _caller(self, request: Request) -> SimParticipant | AuthRefusal:
        """API key, signature (over the raw body, so it is read first) and TLS client certificate."""
        body = await request.body()
        return self.auth.authenticate(
            request.method, str(request.url), request.headers, body, peer_certificate(request.scope)
        )

    async def _authenticate(self, request: Request, channel: str) -> tuple[SimParticipant | None, Response | None]:
        """The caller, or the refusal to answer with (journalled)."""
        caller = await self._caller(request)
        if isinstance(caller, AuthRefusal):
            self.dip.journal.add("refused", channel, caller.claimed, note=caller.note)
            return None, error(caller.status, caller.code, caller.text, caller.help)
        return caller, None

    async def _json(self, request: Request) -> tuple[object, JSONResponse | None]:
        """The JSON body (BodyLimit has bounded its size), nested and counted within the limits."""
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        if "json" not in ctype.lower():
            # 400, not 415: the spec lists 400 for every operation with a body, and 415 for none
            return None, error(
                400, "MSG1001", "Schema Failure", f"Content-Type must be application/json, not {ctype or 'missing'}"
            )
        config = self.dip.config
        try:
            value = parse_json(body, config.max_json_depth)
        except JsonRefused as exc:
            return None, error(400, "MSG1001", "Schema Failure", str(exc))
        if isinstance(value, list) and len(value) > config.max_batch_items:
            return None, error(
                413, "MSG1000", "Processing failed",
                f"a batch of {len(value)} items is over this simulator's limit of {config.max_batch_items} "
                "(max_batch_items): send smaller batches",
            )  # fmt: skip
        return value, None

    def _known_interface(self, interface_id: str) -> bool:
        if not INTERFACE_RE.match(interface_id):
            return False
        if self.dip.catalogue is None:
            return True
        try:
            self.dip.catalogue.interface(interface_id)
        except KeyError:
            return False
        return True

    def _own_recipient(self, caller: SimParticipant, recipient: str, what: str) -> JSONResponse | None:
        if recipient == caller.dip_id:
            return None
        self.dip.journal.add("refused", what, caller.dip_id, note=f"403: {caller.dip_id} acted for {recipient}")
        return error(403, "MSG1009", RESPONSE_TEXT["MSG1009"], f"{caller.dip_id} may not {what} for {recipient}")

    # -- send ------------------------------------------------------------------------------

    async def send(self, request: Request) -> Response:
        interface_id = request.path_params["interface_id"].upper()
        caller, refusal = await self._authenticate(request, interface_id)
        if caller is None:
            return refusal  # type: ignore[return-value]
        if not self._known_interface(interface_id):
            self.dip.journal.add("refused", interface_id, caller.dip_id, note="unknown interface")
            return error(404, "MSG1002", RESPONSE_TEXT["MSG1002"], f"no DIP channel {interface_id}")
        batch, problem = await self._json(request)
        if problem is not None:
            self.dip.journal.add("refused", interface_id, caller.dip_id, note=bytes(problem.body).decode()[:500])
            return problem
        routes: dict[int, routing.Route] = {}
        refusals = self.dip.check_batch(interface_id, batch, caller, routes)
        size = len(await request.body())  # read once already: Starlette keeps it
        if refusals:
            return self._refuse(interface_id, batch, caller, refusals, size)
        accepted = cast(list[Mapping[str, object]], batch)  # check_batch found it a list of {"payload": {...}}
        return standard(self.dip.accept(interface_id, accepted, caller, routes, body_bytes=size), 201)

    def _refuse(
        self, interface_id: str, batch: object, caller: SimParticipant, refusals: list[Refusal], size: int
    ) -> JSONResponse:
        """The whole batch is refused; one response item per message, listing every violation."""
        by_index: dict[int, list[Refusal]] = {}
        for r in refusals:
            by_index.setdefault(r.index, []).append(r)
        items = []
        for index, found in sorted(by_index.items()):
            item = batch[index] if isinstance(batch, list) and 0 <= index < len(batch) else None
            payload = item.get("payload") if isinstance(item, dict) else None
            help_text = bounded_help([f"{r.pointer}: {r.help}" if r.pointer else r.help for r in found])
            items.append(
                self.dip.standard_item(
                    payload if isinstance(payload, dict) else {}, caller, found[0].code, help=help_text
                )
            )
        violations = [
            {"index": r.index, "code": r.code, "pointer": r.pointer, "keyword": r.keyword, "message": r.help}
            for r in refusals
        ]
        answer = standard(items, 400, violations=violations)
        self.dip.journal.add(
            "refused", interface_id, caller.dip_id, payload=batch, response={"violations": violations},
            size=size + len(answer.body),
        )  # fmt: skip
        return answer

    # -- webhooks ----------------------------------------------------------------------------

    async def pubconfig(self, request: Request) -> Response:
        interface_id = request.path_params["interface_id"].upper()
        return await self._configure(request, interface_id, f"configure the {interface_id} webhook")

    async def status_config(self, request: Request) -> Response:
        return await self._configure(request, STATUS_CHANNEL, "configure the status-message webhook")

    async def _configure(self, request: Request, channel: str, what: str) -> Response:
        recipient = request.path_params["recipient"]
        caller, refusal = await self._authenticate(request, channel)
        if caller is None:
            return refusal  # type: ignore[return-value]
        denied = self._own_recipient(caller, recipient, what) or self._unknown_channel(channel)
        if denied is not None:
            return denied
        if request.method == "DELETE":
            self.dip.delivery.unsubscribe(channel, recipient)
            return Response(status_code=204)
        body, problem = await self._json(request)
        if problem is not None:
            return problem
        checked = self._checked_webhook(_WebhookRequest.of(body), channel, caller)
        if isinstance(checked, Response):
            return checked
        url, max_messages = checked
        self.dip.delivery.subscribe(Subscription(channel, recipient, url, max_messages))
        return standard([standard_item("MSG0000", "Success", recipientID=recipient)], 201)

    def _unknown_channel(self, channel: str) -> JSONResponse | None:
        if channel == STATUS_CHANNEL or self._known_interface(channel):
            return None
        return error(404, "MSG1002", RESPONSE_TEXT["MSG1002"], f"no DIP channel {channel}")

    def _checked_webhook(
        self, webhook: _WebhookRequest, channel: str, caller: SimParticipant
    ) -> tuple[str, int] | JSONResponse:
        """The URL must be http(s), on loopback unless remote webhooks are allowed; the batch size >= 1."""
        url = webhook.url
        if not isinstance(url, str) or not re.match(r"^https?://", url, re.IGNORECASE):
            return error(400, "MSG1001", RESPONSE_TEXT["MSG1001"], "callbackURL must be an http(s) URL")
        config = self.dip.config
        if not (config.allow_remote_webhooks or LOOPBACK_URL.match(url) or webhook_host_allowed(url, config)):
            self.dip.journal.add("refused", channel, caller.dip_id, note=f"non-loopback webhook {url}")
            allowed = ", ".join(config.webhook_hosts)
            return error(
                400,
                "MSG1001",
                RESPONSE_TEXT["MSG1001"],
                f"callbackURL {url} is not on loopback"
                + (f" nor on an allowed webhook host ({allowed})" if allowed else "")
                + ": webhooks must be http(s)://127.0.0.1:PORT/... unless the simulator is started with "
                "--allow-webhook-host HOST[:PORT] (or the environment file's allow_webhook_hosts)",
            )
        count = webhook.max_messages
        if not isinstance(count, int | float) or isinstance(count, bool) or count < 1:
            return error(400, "MSG1001", RESPONSE_TEXT["MSG1001"], "maxMessageCount must be a number >= 1")
        return url, int(count)

    # -- replay / requeue -------------------------------------------------------------------

    async def _replay_selection(
        self, request: Request, action: str
    ) -> tuple[list[Entry], str, SimParticipant | None, Response | None]:
        interface_id = request.path_params["interface_id"].upper()
        recipient = request.path_params["recipient"]
        caller, refusal = await self._authenticate(request, interface_id)
        if caller is None:
            return [], recipient, None, refusal
        denied = self._own_recipient(caller, recipient, f"{action} {interface_id}")
        if denied is not None:
            return [], recipient, caller, denied
        if not self._known_interface(interface_id):
            return (
                [],
                recipient,
                caller,
                error(404, "MSG1002", RESPONSE_TEXT["MSG1002"], f"no DIP channel {interface_id}"),
            )
        body, problem = await self._json(request)
        if problem is not None:
            return [], recipient, caller, problem
        problems = message_request_problems(body)
        if problems:
            return [], recipient, caller, error(400, "MSG1001", RESPONSE_TEXT["MSG1001"], bounded_help(problems))
        selected = select_published(self.dip.journal, interface_id, recipient, cast(Mapping[str, object], body))
        return selected, recipient, caller, None

    async def replay(self, request: Request) -> Response:
        entries, recipient, _caller, problem = await self._replay_selection(request, "replay")
        if problem is not None:
            return problem
        out = [{"payload": replayed(e.egress)} for e in entries]
        self.dip.journal.add(
            "event", request.path_params["interface_id"].upper(), recipient, note=f"replay: {len(out)} message(s)"
        )
        return JSONResponse(out, status_code=200)

    async def requeue(self, request: Request) -> Response:
        entries, recipient, _caller, problem = await self._replay_selection(request, "requeue")
        if problem is not None:
            return problem
        interface_id = request.path_params["interface_id"].upper()
        if (interface_id, recipient) not in self.dip.delivery.subscriptions:
            return error(
                400,
                "MSG1000",
                RESPONSE_TEXT["MSG1000"],
                f"{recipient} has no webhook for {interface_id}: configure one (pubconfig) before requeueing",
            )
        items = []
        for e in entries:
            self.dip.delivery.requeue(e, recipient, e.egress)
            items.append(standard_item("MSG0000", "Success", transactionID=e.transaction_id, recipientID=recipient))
        self.dip.journal.add("event", interface_id, recipient, note=f"requeue: {len(items)} message(s)")
        return standard(items, 200)

    # -- status messages ----------------------------------------------------------------------

    async def status_message(self, request: Request) -> Response:
        caller, refusal = await self._authenticate(request, STATUS_CHANNEL)
        if caller is None:
            return refusal  # type: ignore[return-value]
        body, problem = await self._json(request)
        if problem is not None:
            return problem
        problems = status_problems(body)
        if problems:
            self.dip.journal.add("refused", STATUS_CHANNEL, caller.dip_id, payload=body, note="; ".join(problems))
            return error(400, "MSG1001", RESPONSE_TEXT["MSG1001"], bounded_help(problems))
        items = cast(list[Mapping[str, object]], body)  # status_problems found it so
        refused = self._status_refusal(items, caller)
        if refused is not None:
            return refused
        results = []
        for item in items:
            original = self.dip.journal.by_transaction(str(item["transactionID"]))
            target = original.sender if original is not None else None
            entry = self.dip.journal.add(
                "status",
                STATUS_CHANNEL,
                caller.dip_id,
                transaction_id=item.get("transactionID"),
                correlation_id=item.get("correlationID"),
                payload=item,
            )
            if isinstance(target, str) and target in self.dip.config.participants and target != caller.dip_id:
                self.dip.delivery.publish(entry, target, {}, element=dict(item, senderID=caller.dip_id))
            results.append(
                standard_item("MSG0000", "Success", transactionID=item["transactionID"], recipientID=caller.dip_id)
            )
        return standard(results, 201)

    def _status_refusal(self, items: list[Mapping[str, object]], caller: SimParticipant) -> JSONResponse | None:
        """Only a recipient of a transaction the DIP published reports on it; the batch is all or nothing."""
        for i, item in enumerate(items):
            tx = str(item["transactionID"])
            original = self.dip.journal.by_transaction(tx)
            if original is None or original.kind != "accepted":
                evicted = self.dip.journal.evicted
                note = f" ({evicted} older journal entries were evicted)" if evicted else ""
                help_text = f"/{i}/transactionID: {tx} is not a transaction the DIP published{note}"
                self.dip.journal.add("refused", STATUS_CHANNEL, caller.dip_id, payload=list(items), note=help_text)
                return error(400, "MSG1030", RESPONSE_TEXT["MSG1030"], help_text)
            recipients = (original.route or {}).get("recipients")
            if not isinstance(recipients, list) or caller.dip_id not in recipients:
                help_text = (
                    f"/{i}/transactionID: {caller.dip_id} did not receive {tx}; only its recipients report on it"
                )
                self.dip.journal.add("refused", STATUS_CHANNEL, caller.dip_id, payload=list(items), note=help_text)
                return error(403, "MSG1009", RESPONSE_TEXT["MSG1009"], help_text)
        return None

    # -- validation endpoint -------------------------------------------------------------------

    async def validate(self, request: Request) -> Response:
        """The spec's answers: a JSON string, 201 ``Message OK`` or 400 with one line per problem.
        The API key is required (the spec's global security); no signature (its operation lists none)."""
        interface_id = request.path_params["interface_id"].upper()
        event_code = request.path_params["event_code"]
        caller = self.auth.key_owner(request.headers)
        if isinstance(caller, AuthRefusal):
            self.dip.journal.add("refused", interface_id, None, note=caller.note)
            return error(caller.status, caller.code, caller.text, caller.help)
        if not self._known_interface(interface_id):
            return JSONResponse(f"Unknown interface {interface_id}", status_code=400)
        batch, problem = await self._json(request)
        if problem is not None:
            return JSONResponse(json.loads(bytes(problem.body))["messageArray"][0]["help"], status_code=400)
        if not isinstance(batch, list) or not batch:
            return JSONResponse('the body must be a non-empty JSON array of {"payload": {...}}', status_code=400)
        version = self.dip.config.version or (self.dip.catalogue.default_version if self.dip.catalogue else "")
        lines = [
            line
            for i, item in enumerate(batch)
            for line in self._validation_lines(i, item, interface_id, event_code, version)
        ]
        if lines:
            return JSONResponse("\n".join(lines), status_code=400)
        return JSONResponse("Message OK", status_code=201)

    def _validation_lines(self, i: int, item: object, interface_id: str, event_code: str, version: str) -> list[str]:
        """What is wrong with item ``i`` of a batch sent to ``/validate``, one line per problem."""
        payload = item.get("payload") if isinstance(item, dict) else None
        if not isinstance(payload, dict):
            return [f"/{i}/payload: required"]
        lines = []
        declared = str(field(payload, "S0", "eventCode") or "").strip("[]")
        if declared.lower() != event_code.strip("[]").lower():
            lines.append(
                f"/{i}/payload/CommonBlock/S0/eventCode: is [{declared}], this endpoint validates [{event_code}]"
            )
        for v in schema_violations(payload, interface_id, version, self.dip.config.dip_spec):
            lines.append(f"/{i}/payload{v.pointer}: {v.message}")
        return lines


@dataclass(frozen=True)
class _WebhookRequest:
    """A pubconfig body: the fields at the top or under ``config`` (both forms are in use)."""

    url: object
    max_messages: object

    @classmethod
    def of(cls, body: object) -> _WebhookRequest:
        config = body if isinstance(body, Mapping) else {}
        nested_value = config.get("config")
        nested = nested_value if isinstance(nested_value, Mapping) else {}
        return cls(
            config.get("callbackURL") or nested.get("callbackURL"),
            config.get("maxMessageCount", nested.get("maxMessageCount", 100)),
        )


class SendFastPath:
    """``POST /dip-channel/{IF}`` straight to its handler, past Starlette's router and middleware:
    the hot path of every test run and load test (~1/3 of the simulator's time per message went
    to those layers). Everything else goes through Starlette as before."""

    def __init__(self, app: ASGIApp, sim: SimulatorApp):
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = SEND_PATH.match(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"interface_id": match.group(1)}
        try:
            response = await self.sim.send(Request(scope, receive))
        except Exception as exc:  # a simulator defect: say so, keep serving
            self.sim.dip.journal.add(
                "event", match.group(1), None, note=f"SIMULATOR DEFECT: {type(exc).__name__}: {exc}"
            )
            response = error(500, "MSG1000", RESPONSE_TEXT["MSG1000"], f"simulator error: {type(exc).__name__}")
        await response(scope, receive, send)


def webhook_host_allowed(url: str, config: SimulatorConfig) -> bool:
    """Whether the URL's host (and port) is one of ``config.webhook_hosts``."""
    if not config.webhook_hosts:
        return False
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    wanted = {host, f"{host}:{port}", f"[{host}]", f"[{host}]:{port}"}
    return any(allowed.lower() in wanted for allowed in config.webhook_hosts)


def status_problems(body: object) -> list[str]:
    if not isinstance(body, list) or not body:
        return ["the body must be a non-empty StandardResponseArray"]
    problems = []
    for i, item in enumerate(body):
        if not isinstance(item, Mapping):
            problems.append(f"/{i}: must be a StandardResponseBodyType object")
            continue
        problems += [f"/{i}/{k}: required (may be null)" for k in STANDARD_FIELDS if k not in item]
        problems += [
            f"/{i}/{k}: must be a string or null, not {type(item[k]).__name__}"
            for k in STANDARD_FIELDS
            if k in item and item[k] is not None and not isinstance(item[k], str)
        ]
        if "transactionID" in item and not item["transactionID"]:
            problems.append(f"/{i}/transactionID: the DIP transaction ID the status is about")
    return problems


async def _not_found(request: Request, exc: Exception) -> Response:
    return error(404, "MSG1002", RESPONSE_TEXT["MSG1002"], f"no such path: {request.url.path} (see /openapi.json)")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    """405 with ``Allow``: every method of every route on the path (a path may have several routes)."""
    allowed: set[str] = set()
    for route in request.app.routes:
        methods = getattr(route, "methods", None)
        if methods and route.matches(request.scope)[0] is not Match.NONE:
            allowed |= methods
    answer = error(405, "MSG1000", RESPONSE_TEXT["MSG1000"], f"{request.method} is not allowed on {request.url.path}")
    answer.headers["Allow"] = ", ".join(sorted(allowed))
    return answer


def _version() -> str:
    from mhhs_sit import __version__

    return __version__


def create_app(config: SimulatorConfig) -> ASGIApp:
    return SimulatorApp(config).app
