"""HTTP surface of the simulator: the DIP's own paths plus ``/_sim/*`` for tests and evidence."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mhhs_sit.envelope import dip_timestamp
from mhhs_stubs.auth import Authenticator, AuthRefusal, peer_certificate
from mhhs_stubs.config import SimParticipant, SimulatorConfig
from mhhs_stubs.dip import INTERFACE_RE, Refusal, SimulatedDip
from mhhs_stubs.responders import ParticipantSimulators

DIP_ID_RE = re.compile(r"^[0-9A-Za-z]{10}$")


def _standard(items: list[dict[str, Any]], status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"messageArray": items, "timestamp": dip_timestamp(), **extra}, status_code=status)


def _error(status: int, code: str, text: str, help: str) -> JSONResponse:
    item = {
        "transactionID": None,
        "senderUniqueReference": None,
        "correlationID": None,
        "sentTimestamp": None,
        "senderID": None,
        "recipientID": "DIP",
        "DIPConnectionProviderID": None,
        "message": f"{code} - {text}",
        "help": help,
        "serviceTicketURL": None,
    }
    return _standard([item], status)


class SimulatorApp:
    def __init__(self, config: SimulatorConfig):
        self.dip = SimulatedDip(config)
        self.participants = ParticipantSimulators(self.dip)
        self.auth = Authenticator(config)
        self.app = Starlette(
            routes=[
                Route("/dip-channel/{interface_id}", self.send, methods=["POST"]),
                Route("/dip-channel/{interface_id}/pubconfig/{recipient}", self.pubconfig, methods=["POST", "DELETE"]),
                Route("/_sim/health", self.health, methods=["GET"]),
                Route("/_sim/messages", self.messages, methods=["GET"]),
                Route("/_sim/idle", self.idle, methods=["POST"]),
            ],
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.dip.start()
        try:
            yield
        finally:
            await self.dip.stop()

    async def _caller(self, request: Request) -> SimParticipant | AuthRefusal:
        """API key, signature (over the raw body, so it is read first) and TLS client certificate."""
        body = await request.body()
        return self.auth.authenticate(
            request.method, str(request.url), request.headers, body, peer_certificate(request.scope)
        )

    async def _json(self, request: Request) -> tuple[Any, JSONResponse | None]:
        body = await request.body()
        if len(body) > self.dip.config.max_body_bytes:
            return None, _error(
                413,
                "MSG1000",
                "Processing failed",
                f"body of {len(body)} bytes exceeds {self.dip.config.max_body_bytes}",
            )
        ctype = request.headers.get("content-type", "")
        if "json" not in ctype:
            return None, _error(
                415, "MSG1000", "Processing failed", f"Content-Type must be application/json, not {ctype or 'missing'}"
            )
        try:
            return json.loads(body), None
        except ValueError as exc:
            return None, _error(400, "MSG1001", "Schema Failure", f"body is not valid JSON: {exc}")

    async def send(self, request: Request) -> JSONResponse:
        interface_id = request.path_params["interface_id"].upper()
        caller = await self._caller(request)
        if isinstance(caller, AuthRefusal):
            self.dip.journal.add("refused", interface_id, caller.claimed, note=caller.note)
            return _error(caller.status, caller.code, caller.text, caller.help)
        known = self.dip.catalogue is None or _known(self.dip, interface_id)
        if not INTERFACE_RE.match(interface_id) or not known:
            self.dip.journal.add("refused", interface_id, caller.dip_id, note="unknown interface")
            return _error(404, "MSG1002", "Interface ID Invalid", f"no DIP channel {interface_id}")
        batch, problem = await self._json(request)
        if problem is not None:
            self.dip.journal.add("refused", interface_id, caller.dip_id, note=problem.body.decode()[:500])
            return problem
        refusals = self.dip.check_batch(interface_id, batch, caller)
        if refusals:
            return self._refuse(interface_id, batch, caller, refusals)
        items = self.dip.accept(interface_id, batch, caller)
        return _standard(items, 201)

    def _refuse(self, interface_id: str, batch: Any, caller: SimParticipant, refusals: list[Refusal]) -> JSONResponse:
        """The whole batch is refused; one response item per message, listing every violation."""
        by_index: dict[int, list[Refusal]] = {}
        for r in refusals:
            by_index.setdefault(r.index, []).append(r)
        items = []
        for index, found in sorted(by_index.items()):
            item = batch[index] if isinstance(batch, list) and 0 <= index < len(batch) else None
            payload = item.get("payload") if isinstance(item, dict) else None
            code = found[0].code
            help_text = "; ".join(f"{r.pointer}: {r.help}" if r.pointer else r.help for r in found)
            items.append(
                self.dip.standard_item(payload if isinstance(payload, dict) else {}, caller, code, help=help_text)
            )
        violations = [
            {"index": r.index, "code": r.code, "pointer": r.pointer, "keyword": r.keyword, "message": r.help}
            for r in refusals
        ]
        self.dip.journal.add("refused", interface_id, caller.dip_id, payload=batch, response={"violations": violations})
        return _standard(items, 400, violations=violations)

    async def pubconfig(self, request: Request) -> JSONResponse:
        interface_id = request.path_params["interface_id"].upper()
        recipient = request.path_params["recipient"]
        caller = await self._caller(request)
        if isinstance(caller, AuthRefusal):
            return _error(caller.status, caller.code, caller.text, caller.help)
        if recipient != caller.dip_id:
            return _error(
                403, "MSG1009", "Sender DIP ID Invalid", f"{caller.dip_id} may not configure the webhook of {recipient}"
            )
        if request.method == "DELETE":
            self.dip.webhooks.pop((interface_id, recipient), None)
            return _standard([], 200)
        config, problem = await self._json(request)
        if problem is not None:
            return problem
        url = (config or {}).get("callbackURL") or ((config or {}).get("config") or {}).get("callbackURL")
        if not isinstance(url, str) or not re.match(r"^https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/", url):
            return _error(
                400,
                "MSG1001",
                "Schema Failure",
                "callbackURL must be an http(s) URL on loopback (127.0.0.1) in the local environment",
            )
        self.dip.webhooks[(interface_id, recipient)] = url
        return _standard([], 201)

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "participants": len(self.dip.config.participants),
                "journal": len(self.dip.journal),
                "evicted": self.dip.journal.evicted,
            }
        )

    async def messages(self, request: Request) -> JSONResponse:
        q = request.query_params
        entries = self.dip.journal.query(
            correlation_id=q.get("correlation_id"),
            mpan=q.get("mpan"),
            interface_id=q.get("interface"),
            participant=q.get("participant"),
            kind=q.get("kind"),
            limit=int(q.get("limit", 1000)),
        )
        return JSONResponse(
            {"count": len(entries), "evicted": self.dip.journal.evicted, "messages": [e.as_dict() for e in entries]}
        )

    async def idle(self, request: Request) -> JSONResponse:
        done = await self.dip.idle(float(request.query_params.get("timeout", 5)))
        return JSONResponse({"idle": done})


def _known(dip: SimulatedDip, interface_id: str) -> bool:
    try:
        dip.catalogue.interface(interface_id)
    except KeyError:
        return False
    return True


def create_app(config: SimulatorConfig) -> Starlette:
    return SimulatorApp(config).app
