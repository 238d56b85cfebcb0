"""The control API for faults: ``/_sim/faults``, ready for the simulator app's route list.

``routes(plan)`` gives the Starlette routes; ``OPENAPI_PATHS`` describes them for the
simulator's ``/openapi.json``. Errors name the field of the spec that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mhhs_sit.definitions.faults import FaultSpecError
from mhhs_stubs.config import SimulatorConfig
from mhhs_stubs.faults import FaultPlan
from mhhs_stubs.json_types import JsonObject, JsonValue
from mhhs_stubs.limits import JsonRefused, parse_json


def _first_refusal(plan: FaultPlan, specs: list[object], *, listed: bool) -> dict[str, str] | None:
    """All or nothing: every spec is checked before any is added; the first problem, located."""
    taken: list[str] = []
    for i, one in enumerate(specs):
        try:
            plan.check(one, taken=taken)
        except FaultSpecError as exc:
            problem = exc.as_dict()
            if listed:
                problem["field"] = f"[{i}]" + (f".{problem['field']}" if problem["field"] else "")
                problem["error"] = f"[{i}] {problem['error']}"
            return problem
        if isinstance(one, dict) and isinstance(one.get("id"), str):
            taken.append(one["id"])
    return None


def routes(plan: FaultPlan, config: SimulatorConfig) -> list[Route]:
    async def add(request: Request) -> JSONResponse:
        try:
            spec = parse_json(await request.body(), config.max_json_depth)
        except JsonRefused as exc:
            return JSONResponse({"error": str(exc), "field": "", "message": str(exc)}, 400)
        specs = spec if isinstance(spec, list) else [spec]
        if len(specs) > config.max_batch_items:
            message = f"{len(specs)} faults: at most {config.max_batch_items} (max_batch_items)"
            return JSONResponse({"error": message, "field": "", "message": message}, 413)
        refused = _first_refusal(plan, specs, listed=isinstance(spec, list))
        if refused is not None:
            return JSONResponse(refused, 400)
        added = [plan.add(cast(Mapping[str, object], one)).as_dict() for one in specs]  # checked: objects
        return JSONResponse({"faults": added} if isinstance(spec, list) else added[0], 201)

    async def listing(request: Request) -> JSONResponse:
        tag = request.query_params.get("tag")
        faults = [f for f in plan.list() if tag is None or f["tag"] == tag]
        return JSONResponse({"count": len(faults), "faults": faults})

    async def clear(request: Request) -> JSONResponse:
        tag = request.query_params.get("tag")
        return JSONResponse({"removed": plan.clear(tag) if tag is not None else plan.clear_all()})

    async def remove(request: Request) -> JSONResponse:
        fault_id = request.path_params["fault_id"]
        if not plan.remove(fault_id):
            return JSONResponse({"error": f"no active fault {fault_id!r}", "field": "id", "message": "not found"}, 404)
        return JSONResponse({"removed": [fault_id]})

    return [
        Route("/_sim/faults", add, methods=["POST"]),
        Route("/_sim/faults", listing, methods=["GET"]),
        Route("/_sim/faults", clear, methods=["DELETE"]),
        Route("/_sim/faults/{fault_id}", remove, methods=["DELETE"]),
    ]


_PROBLEM: JsonObject = {
    "type": "object",
    "required": ["error", "field", "message"],
    "properties": {"error": {"type": "string"}, "field": {"type": "string"}, "message": {"type": "string"}},
}
_FAULT: JsonObject = {
    "type": "object",
    "required": ["id", "kind", "side", "scope", "spec", "matched", "applied"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string"},
        "side": {"type": "string", "enum": ["inbound", "outbound"]},
        "scope": {"type": "object"},
        "params": {"type": "object"},
        "count": {"type": ["integer", "null"]},
        "probability": {"type": ["number", "null"]},
        "after": {"type": "integer"},
        "tag": {"type": ["string", "null"]},
        "added_at": {"type": "number"},
        "ends_at": {"type": ["number", "null"]},
        "matched": {"type": "integer"},
        "applied": {"type": "integer"},
        "remaining": {"type": ["integer", "null"]},
        "spec": {"type": "object", "description": "the spec as given (docs/simulator.md#faults)"},
    },
}
_ADDED: JsonObject = {
    "oneOf": [
        _FAULT,
        {"type": "object", "required": ["faults"], "properties": {"faults": {"type": "array", "items": _FAULT}}},
    ]
}
_JSON = "application/json"
_REMOVED: JsonObject = {"type": "object", "properties": {"removed": {"type": "array", "items": {"type": "string"}}}}
OPENAPI_PATHS: JsonObject = {
    "/_sim/faults": {
        "post": {
            "summary": "Add a fault (or a list of faults, all or none)",
            "requestBody": {"required": True, "content": {_JSON: {"schema": {"type": ["object", "array"]}}}},
            "responses": {
                "201": {
                    "description": "added",
                    "content": {_JSON: {"schema": _ADDED}},
                },
                "400": {"description": "a spec is wrong", "content": {_JSON: {"schema": _PROBLEM}}},
            },
        },
        "get": {
            "summary": "The active faults",
            "parameters": [{"name": "tag", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "active faults",
                    "content": {
                        _JSON: {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "count": {"type": "integer"},
                                    "faults": {"type": "array", "items": _FAULT},
                                },
                            }
                        }
                    },
                }
            },
        },
        "delete": {
            "summary": "End the faults of a tag (all faults without one)",
            "parameters": [{"name": "tag", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ended", "content": {_JSON: {"schema": _REMOVED}}}},
        },
    },
    "/_sim/faults/{fault_id}": {
        "delete": {
            "summary": "End one fault",
            "parameters": [{"name": "fault_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "ended", "content": {_JSON: {"schema": _REMOVED}}},
                "404": {"description": "no such active fault", "content": {_JSON: {"schema": _PROBLEM}}},
            },
        }
    },
}


def _needing_the_control_key(paths: JsonObject) -> JsonObject:
    """Every operation declares the control key and its 401 (the gate in control.py answers it)."""
    refused: JsonObject = {
        "description": "No control key",
        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/StandardResponse"}}},
    }
    too_large: JsonObject = {
        "description": "A body over max_body_bytes (StandardResponse) or a list over max_batch_items",
        "content": {_JSON: {"schema": {"oneOf": [{"$ref": "#/components/schemas/StandardResponse"}, _PROBLEM]}}},
    }
    slow: JsonObject = {**refused, "description": "The body did not arrive within body_timeout"}
    out: dict[str, JsonValue] = {}
    for path, operations in paths.items():
        assert isinstance(operations, dict)
        guarded: dict[str, JsonValue] = {}
        for method, op in operations.items():
            assert isinstance(op, dict) and isinstance(op["responses"], dict)
            guarded[method] = {
                **op,
                "security": [{"ControlKeyAuth": []}],
                "responses": {**op["responses"], "401": refused, "408": slow, "413": too_large},
            }
        out[path] = guarded
    return out


OPENAPI_PATHS = _needing_the_control_key(OPENAPI_PATHS)
