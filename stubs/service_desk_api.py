"""The service desk's HTTP surface: ``/_sim/service-desk/incidents``, for the simulator's route list.

A participant raises, reads and answers its own incidents with its X-API-Key, signed and over its
certificate as on the DIP's paths; its key names it even beside the control key (the framework
presents that on every ``/_sim`` call). Without a participant's key, the control key acts as the
desk (the DIP Manager): it reads every incident and answers them. Bad input is a 400 naming the
field; another participant's incident a 403. ``OPENAPI_PATHS`` documents it for ``/openapi.json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mhhs_stubs.answers import problem
from mhhs_stubs.config import CONTROL_HEADER
from mhhs_stubs.journal_access import Reader
from mhhs_stubs.json_types import JsonObject, JsonValue
from mhhs_stubs.limits import JsonRefused, parse_json
from mhhs_stubs.openapi import CONTROL_ERRORS, JOURNAL_READER, NOT_YOURS
from mhhs_stubs.service_desk import CATEGORIES, CHANNEL, STATUSES, DeskRefusal, ServiceDesk

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from mhhs_stubs.sim_parts import SimulatorParts

    _Act = Callable[[str | None], Awaitable[Response]]  # what a route does once it knows who acts
    _About = Callable[[str], str | None]

DESK_PATH = "/_sim/service-desk"
INCIDENTS = DESK_PATH + "/incidents"


def is_desk_path(path: str) -> bool:
    """A path the control gate lets a participant's own key through to (the handler checks it)."""
    return path == DESK_PATH or path.startswith(DESK_PATH + "/")


def routes(sim: SimulatorParts) -> list[Route]:
    api = DeskApi(sim)
    return [
        Route(INCIDENTS, api.raise_incident, methods=["POST"]),
        Route(INCIDENTS, api.incidents, methods=["GET"]),
        Route(INCIDENTS + "/{reference}", api.incident, methods=["GET"]),
        Route(INCIDENTS + "/{reference}/updates", api.update, methods=["POST"]),
    ]


class _Refused(Exception):
    def __init__(self, response: Response):
        self.response = response


class DeskApi:
    def __init__(self, sim: SimulatorParts):
        self.sim = sim
        self.desk = ServiceDesk(sim.dip.clock, sim.dip.journal)

    async def _actor(self, request: Request) -> str | None:
        """The participant whose key the request carries (authenticated), or None for the desk."""
        if request.headers.get("x-api-key"):
            caller, refusal = await self.sim._authenticate(request, CHANNEL)
            if caller is None:
                raise _Refused(refusal)  # type: ignore[arg-type]
            return caller.dip_id
        if not self.sim.dip.config.is_control_key(request.headers.get(CONTROL_HEADER)):
            raise _Refused(problem(401, f"send a participant's X-API-Key, or the control key as {CONTROL_HEADER}"))
        return None

    async def _body(self, request: Request) -> object:
        try:
            return parse_json(await request.body(), self.sim.dip.config.max_json_depth)
        except JsonRefused as exc:
            raise DeskRefusal(400, str(exc)) from None

    async def _answer(self, request: Request, act: _Act) -> Response:
        actor: str | None = None
        try:
            actor = await self._actor(request)
            return await act(actor)
        except _Refused as refused:
            return refused.response
        except DeskRefusal as exc:
            self.sim.dip.journal.add("refused", CHANNEL, actor, note=f"{exc.status} {request.url.path}: {exc}"[:500])
            extra = {"field": exc.field} if exc.field else {}
            return problem(exc.status, str(exc), **extra)

    async def raise_incident(self, request: Request) -> Response:
        async def act(actor: str | None) -> Response:
            if actor is None:
                raise DeskRefusal(403, "a participant raises an incident, with its own X-API-Key; the desk answers it")
            incident = self.desk.raise_incident(actor, await self._body(request), self._about(actor))
            return JSONResponse(incident.view(self.desk.clock.now()), status_code=201)

        return await self._answer(request, act)

    async def incidents(self, request: Request) -> Response:
        async def act(actor: str | None) -> Response:
            unknown = sorted(set(request.query_params) - {"status"})
            if unknown:
                raise DeskRefusal(400, f"unknown query parameter {unknown[0]} (known: status)", unknown[0])
            found = self.desk.incidents(actor, request.query_params.get("status"))
            now = self.desk.clock.now()
            return JSONResponse({"count": len(found), "incidents": [i.view(now) for i in found]})

        return await self._answer(request, act)

    async def incident(self, request: Request) -> Response:
        async def act(actor: str | None) -> Response:
            found = self.desk.incident(request.path_params["reference"], actor)
            return JSONResponse(found.view(self.desk.clock.now()))

        return await self._answer(request, act)

    async def update(self, request: Request) -> Response:
        async def act(actor: str | None) -> Response:
            body = await self._body(request)
            updated = self.desk.update(request.path_params["reference"], actor, body)
            return JSONResponse(updated.view(self.desk.clock.now()))

        return await self._answer(request, act)

    def _about(self, dip_id: str) -> _About:
        """What the journal knows of a transaction ``dip_id`` sent or received (None if not one)."""
        reader, journal = Reader(dip_id), self.sim.dip.journal

        def about(tx: str) -> str | None:
            entry = journal.by_transaction(tx)
            if entry is None or not reader.sees(entry):
                return None
            facts = [f"the DIP accepted {tx} on {entry.interface_id}" + (" from you" if entry.sender == dip_id else "")]
            facts += [
                f"its delivery to you is {d.status} after {len(d.attempts)} attempt(s)"
                for d in reader.deliveries(entry)
            ]
            return "; ".join(facts)

        return about


def _json(schema: JsonObject, description: str) -> JsonObject:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_PROBLEM: JsonObject = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
}
_UPDATE: JsonObject = {
    "type": "object",
    "required": ["at", "by", "status", "message"],
    "properties": {"at": {"type": "string"}, "by": {"type": "string"}, "status": {"enum": list(STATUSES)}},
}
_INCIDENT: JsonObject = {
    "type": "object",
    "required": ["reference", "raisedBy", "category", "priority", "status", "raisedAt", "resolveBy", "updates"],
    "properties": {
        "reference": {"type": "string", "pattern": "^INC[0-9]{7}$"},
        "category": {"enum": list(CATEGORIES)},
        "priority": {"enum": ["P1", "P2"]},
        "resolutionHours": {"type": "number"},
        "status": {"enum": list(STATUSES)},
        "resolvedAt": {"type": ["string", "null"]},
        "withinTarget": {"type": ["boolean", "null"]},
        "overdue": {"type": "boolean"},
        "updates": {"type": "array", "items": _UPDATE},
    },
}
_REFUSALS: JsonObject = {
    **CONTROL_ERRORS,
    **NOT_YOURS,
    "400": _json(_PROBLEM, "A bad body or query: the field at fault and what to give"),
    "404": _json({"oneOf": [{"$ref": "#/components/schemas/StandardResponse"}, _PROBLEM]}, "No such incident"),
    "409": _json(_PROBLEM, "A status the incident cannot move to from where it is"),
    "429": _json(_PROBLEM, "The desk holds its limit of incidents"),
}
_REFERENCE: JsonObject = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}}


def _operation(summary: str, ok: JsonObject, *params: JsonObject, body: JsonObject | None = None) -> JsonObject:
    op: dict[str, JsonValue] = {
        "summary": summary,
        "tags": ["Simulator control"],
        "responses": {**_REFUSALS, **ok},
        "security": JOURNAL_READER,
        "parameters": list(params),
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


OPENAPI_PATHS: JsonObject = {
    INCIDENTS: {
        "post": _operation(
            "A participant raises an incident; logged, prioritised (P1/P2) and acknowledged at once",
            {"201": _json(_INCIDENT, "Logged and acknowledged, with its reference and resolution target")},
            body={
                "type": "object",
                "required": ["category", "summary"],
                "properties": {
                    "category": {"enum": list(CATEGORIES)},
                    "summary": {"type": "string"},
                    "description": {"type": ["string", "null"]},
                    "transactionID": {"type": ["string", "null"]},
                },
            },
        ),
        "get": _operation(
            "The incidents a participant raised (the desk: every incident)",
            {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["count", "incidents"],
                        "properties": {"incidents": {"type": "array", "items": _INCIDENT}},
                    },
                    "Incidents, oldest first",
                )
            },
            {"name": "status", "in": "query", "required": False, "schema": {"enum": list(STATUSES)}},
        ),
    },
    INCIDENTS + "/{reference}": {
        "get": _operation(
            "One incident, to its raiser or the desk", {"200": _json(_INCIDENT, "The incident")}, _REFERENCE
        )
    },
    INCIDENTS + "/{reference}/updates": {
        "post": _operation(
            "Answer an incident: the desk moves it on (in-progress, resolved), its raiser adds a message, "
            "closes it once resolved or reopens it",
            {"200": _json(_INCIDENT, "The incident after the update")},
            _REFERENCE,
            body={"type": "object", "properties": {"status": {"enum": list(STATUSES)}, "message": {"type": "string"}}},
        )
    },
}
