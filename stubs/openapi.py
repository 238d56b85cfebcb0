"""The simulator's own OpenAPI document: the DIP surface it serves and its ``/_sim`` control API.

It describes what the simulator actually answers, so a participant can point a client generator
at ``/openapi.json``; ``conformance.py`` holds every response to it (the tests switch that on), so
the document cannot drift from the code unnoticed. The message payload schemas themselves are
the official DIP spec's; here a payload is an object with ``CommonBlock`` and ``CustomBlock``.
"""

from __future__ import annotations

from mhhs_stubs.answers import STANDARD_FIELDS
from mhhs_stubs.config import CONTROL_HEADER
from mhhs_stubs.journal import CHANNELS, DELIVERY_STATUSES, KINDS
from mhhs_stubs.json_types import JsonObject, JsonValue

NULLABLE_STRING = {"type": ["string", "null"]}


def _text_of(low: int, high: int, *, nullable: bool = True) -> JsonObject:
    return {"type": ["string", "null"] if nullable else "string", "minLength": low, "maxLength": high}


# StandardResponseBodyType as the official spec constrains it (DataTypes DT-014N, DT-995N, DT-011N,
# DT-003, DT-006, DT-006N, DT-005N, DT-019N, DT-018N), so the conformance check holds answers to it.
STANDARD_ITEM_FIELDS: JsonObject = {
    "transactionID": _text_of(1, 65),
    "senderUniqueReference": {
        **_text_of(1, 200),
        "pattern": r"^S-((IF|REP)-)?\d{3,4}-[0-9a-fA-F]{10}-[A-Z]{3,5}-\d{8}-[a-zA-Z0-9]+$",
    },
    "correlationID": _text_of(1, 60),
    "sentTimestamp": _text_of(25, 25, nullable=False),
    "senderID": _text_of(10, 10, nullable=False),
    "recipientID": _text_of(10, 10),
    "DIPConnectionProviderID": _text_of(10, 10),
    "message": {**_text_of(1, 200, nullable=False), "pattern": "^[A-Z]{3}[0-9]{4}( - .*)?$"},
    "help": _text_of(1, 500),
    "serviceTicketURL": _text_of(1, 250),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: JsonObject, description: str) -> JsonObject:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


STANDARD_ERRORS = {
    "400": "Bad request: the whole batch is refused, every problem listed",
    "401": "Unauthorised: missing or unknown X-API-Key, or a missing/invalid signature",
    "403": "Forbidden: acting for another participant",
    "404": "Unknown channel or path",
    "405": "Method not allowed",
    "408": "Request timeout: the body did not arrive within body_timeout",
    "413": "Payload too large",
    "429": "Too many requests (an injected fault; Retry-After says when to retry)",
    "500": "Internal error (an injected fault)",
    "502": "Bad gateway (an injected fault)",
    "503": "Service unavailable (an injected fault)",
    "504": "Gateway timeout (an injected fault)",
}


def _standard_errors(*codes: str) -> JsonObject:
    return {c: _json(_ref("StandardResponse"), STANDARD_ERRORS[c]) for c in codes}


DIP_ERRORS = ("400", "401", "403", "404", "405", "408", "413", "429", "500", "502", "503", "504")
CONTROL_ERRORS = {
    "400": _json(_ref("Problem"), "A bad query or body, with what to fix"),
    "401": _json(_ref("StandardResponse"), "No control key (or, where a participant acts, no X-API-Key)"),
    "408": _json(_ref("StandardResponse"), "The body did not arrive within body_timeout"),
    "413": _json(
        {"oneOf": [_ref("StandardResponse"), _ref("Problem")]},
        "A body over max_body_bytes (StandardResponse, before anything is read) or too many items",
    ),
    "404": _json(_ref("StandardResponse"), "Unknown path"),
    "405": _json(_ref("StandardResponse"), "Method not allowed"),
}
SIGNATURE_HEADERS: list[JsonObject] = [
    {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("X-API-Key", "the participant's API key (required on every DIP path)"),
        ("X-DIP-Signature", "base64 RSA-SHA256 signature over METHOD;lower(url);date;content-hash"),
        ("X-DIP-Signature-Date", "ISO-8601 UTC signing time with milliseconds"),
        ("X-DIP-Content-Hash", "base64 SHA-256 of the body"),
        ("X-DIP-Signature-Certificate", "base64 PEM of the signing certificate"),
    )
]
ID: JsonObject = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "IF-nnn or REP-nnn",
}
RECIPIENT: JsonObject = {"name": "recipient-id", "in": "path", "required": True, "schema": {"type": "string"}}


def _dip(summary: str, body: JsonObject | None, ok: JsonObject, *params: JsonObject) -> JsonObject:
    op: dict[str, JsonValue] = {
        "summary": summary,
        "tags": ["DIP"],
        "parameters": [*params, *SIGNATURE_HEADERS],
        "responses": {**ok, **_standard_errors(*DIP_ERRORS)},
        "security": API_KEY,
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


API_KEY: JsonValue = [{"ApiKeyAuth": []}]
CONTROL_KEY: JsonValue = [{"ControlKeyAuth": []}]
# The journal's paths: the control client reads every entry, a participant its own (journal_access).
JOURNAL_READER: JsonValue = [{"ControlKeyAuth": []}, {"ApiKeyAuth": []}]
NOT_YOURS: JsonObject = {
    "403": _json(
        {"oneOf": [_ref("StandardResponse"), _ref("Problem")]},
        "A participant asking about another participant's messages, or whose signature or certificate is not its own",
    )
}


def _control(
    summary: str, ok: JsonObject, *params: JsonObject, body: JsonObject | None = None, security: JsonValue = CONTROL_KEY
) -> JsonObject:
    op: dict[str, JsonValue] = {
        "summary": summary,
        "tags": ["Simulator control"],
        "responses": {**CONTROL_ERRORS, **ok},
        "security": security,
    }
    if params:
        op["parameters"] = list(params)
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


CLOCK: JsonObject = {
    "type": "object",
    "required": ["now", "today", "midnight", "simulated", "offsetSeconds"],
    "properties": {
        "now": _text_of(25, 25, nullable=False),
        "today": {"type": "string", "format": "date"},
        "midnight": _text_of(25, 25, nullable=False),
        "simulated": {"type": "boolean"},
        "offsetSeconds": {"type": "number"},
    },
}


def _query(name: str, description: str, type_: str = "string") -> JsonObject:
    return {"name": name, "in": "query", "required": False, "schema": {"type": type_}, "description": description}


JOURNAL_QUERY = [
    _query("correlation_id", "initial or sender correlation id"),
    _query("mpan", "MPAN core"),
    _query("interface", "IF-nnn"),
    _query("participant", "DIP ID as sender or recipient"),
    _query("recipient", "DIP ID as recipient"),
    _query("event", "event code, with or without brackets"),
    _query("transaction_id", "DIP transaction id"),
    _query("kind", "accepted | refused | event | fault | status"),
    _query("since", "epoch seconds", "number"),
    _query("until", "epoch seconds", "number"),
    _query("after", "only entries with a larger seq", "integer"),
    _query("limit", "at most this many", "integer"),
]

COMPONENTS: JsonObject = {
    "StandardResponseBodyType": {
        "type": "object",
        "required": list(STANDARD_FIELDS),
        "properties": STANDARD_ITEM_FIELDS,
    },
    "StandardResponse": {
        "type": "object",
        "required": ["messageArray", "timestamp"],
        "properties": {
            "messageArray": {"type": "array", "items": _ref("StandardResponseBodyType")},
            "timestamp": {"type": "string", "minLength": 25, "maxLength": 25},
            "violations": {"type": "array", "items": _ref("Violation")},
        },
    },
    "Violation": {
        "type": "object",
        "required": ["index", "code", "pointer", "keyword", "message"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "code": {"type": "string"},
            "pointer": {"type": "string"},
            "keyword": {"type": "string"},
            "message": {"type": "string"},
        },
    },
    "Payload": {
        "type": "object",
        "required": ["CommonBlock"],
        "properties": {"CommonBlock": {"type": "object"}, "CustomBlock": {"type": "object"}},
        "description": "IF-nnn-Payload of the official DIP spec",
    },
    "DIPMessageArray": {
        "type": "array",
        "minItems": 1,
        "items": {"type": "object", "required": ["payload"], "properties": {"payload": _ref("Payload")}},
    },
    "DIPMessageEgressArray": {
        "type": "array",
        "items": {"type": "object", "required": ["payload"], "properties": {"payload": _ref("Payload")}},
    },
    "WebhookConfig": {
        "type": "object",
        "properties": {
            "callbackURL": {"type": "string", "format": "uri"},
            "maxMessageCount": {"type": "number", "minimum": 1},
            "maxPayloadSize": {"type": "number"},
        },
    },
    "MessageRequest": {
        "type": "object",
        "required": ["datetimeFrom", "datetimeTo", "eventCode", "MPAN", "version"],
        "properties": {
            "datetimeFrom": NULLABLE_STRING,
            "datetimeTo": NULLABLE_STRING,
            "eventCode": NULLABLE_STRING,
            "MPAN": NULLABLE_STRING,
            "transactionIDs": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string"}},
            "version": NULLABLE_STRING,
        },
    },
    "Problem": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Delivery": {
        "type": "object",
        "required": ["recipient", "channel", "status", "attempts", "queuedAt"],
        "properties": {
            "recipient": {"type": "string"},
            "channel": {"enum": list(CHANNELS)},
            "status": {"enum": list(DELIVERY_STATUSES)},
            "attempts": {"type": "array", "items": {"type": "object"}},
            "queuedAt": {"type": "number"},
            "doneAt": {"type": "number"},
            "url": {"type": "string"},
            "note": {"type": "string"},
        },
    },
    "JournalEntry": {
        "type": "object",
        "required": ["seq", "kind", "at", "interface", "sender", "transactionID", "deliveries"],
        "properties": {
            "seq": {"type": "integer"},
            "kind": {"enum": list(KINDS)},
            "at": {"type": "number"},
            "interface": {"type": "string"},
            "sender": NULLABLE_STRING,
            "transactionID": NULLABLE_STRING,
            "correlationID": NULLABLE_STRING,
            "MPAN": NULLABLE_STRING,
            "eventCode": NULLABLE_STRING,
            "deliveries": {"type": "array", "items": _ref("Delivery")},
            "route": _ref("Route"),
            "note": {"type": "string"},
        },
    },
    "Route": {
        "type": "object",
        "required": ["primaryRecipients", "secondaryRecipients", "always", "recipients", "problems"],
        "properties": {
            "primaryRecipients": {"type": "array", "items": {"type": "string"}},
            "secondaryRecipients": {"type": "array", "items": {"type": "string"}},
            "always": {"type": "array", "items": {"type": "string"}},
            "recipients": {"type": "array", "items": {"type": "string"}},
            "problems": {"type": "array", "items": {"type": "object"}},
        },
    },
}

LIST: JsonObject = {
    "type": "object",
    "required": ["count", "evicted", "lastSeq", "messages"],
    "properties": {
        "count": {"type": "integer"},
        "evicted": {"type": "integer"},
        "lastSeq": {"type": "integer"},
        "messages": {"type": "array", "items": _ref("JournalEntry")},
    },
}


def build_document(version: str, extra_paths: JsonObject | None = None) -> JsonObject:
    p: dict[str, JsonValue] = {
        "/dip-channel/{id}": {
            "post": _dip(
                "Send a batch of messages: all accepted (201) or all refused (400)",
                _ref("DIPMessageArray"),
                {"201": _json(_ref("StandardResponse"), "Messages created")},
                ID,
            )
        },
        "/dip-channel/{id}/pubconfig/{recipient-id}": {
            "post": _dip(
                "Configure the recipient's webhook for the channel (loopback only in local environments)",
                _ref("WebhookConfig"),
                {"201": _json(_ref("StandardResponse"), "Publication configured")},
                ID,
                RECIPIENT,
            ),
            "delete": _dip("Delete the webhook", None, {"204": {"description": "No content"}}, ID, RECIPIENT),
        },
        "/dip-channel/{id}/replay/{recipient-id}": {
            "post": _dip(
                "Messages published to the recipient that the request selects, marked replayIndicator",
                _ref("MessageRequest"),
                {"200": _json(_ref("DIPMessageEgressArray"), "Replayed messages")},
                ID,
                RECIPIENT,
            )
        },
        "/dip-channel/{id}/requeue/{recipient-id}": {
            "post": _dip(
                "Push the selected messages to the recipient's webhook again",
                _ref("MessageRequest"),
                {"200": _json(_ref("StandardResponse"), "Messages requeued")},
                ID,
                RECIPIENT,
            )
        },
        "/statusmessage": {
            "post": _dip(
                "Status messages about received transactions, pushed to the original sender",
                {"type": "array", "minItems": 1, "items": _ref("StandardResponseBodyType")},
                {"201": _json(_ref("StandardResponse"), "Created")},
            )
        },
        "/statusmessage/config/{recipient-id}": {
            "post": _dip(
                "Configure the status-message webhook",
                _ref("WebhookConfig"),
                {"201": _json(_ref("StandardResponse"), "Configured")},
                RECIPIENT,
            ),
            "delete": _dip("Delete it", None, {"204": {"description": "No content"}}, RECIPIENT),
        },
        "/validate/{id}/{eventCode}": {
            "post": {
                "summary": "Validate messages of one interface and event (debugging only; nothing is sent)",
                "tags": ["DIP"],
                "parameters": [ID, {"name": "eventCode", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("DIPMessageArray")}}},
                "security": API_KEY,
                "responses": {
                    "201": _json({"type": "string"}, "Message OK (a JSON string, as the spec says)"),
                    "400": _json({"type": "string"}, "One line per violation: JSON pointer and what is wrong"),
                    **_standard_errors("401", "404", "405", "408", "413", "429", "500", "502", "503", "504"),
                },
            }
        },
        "/_sim/health": {
            "get": _control(
                "Liveness, journal size and evictions",
                {"200": _json({"type": "object", "required": ["status", "journal", "evicted", "lastSeq"]}, "Health")},
            )
        },
        "/_sim/messages": {
            "get": _control(
                "Query the journal (a participant: only its own entries)",
                {"200": _json(LIST, "Matching entries"), **NOT_YOURS},
                *JOURNAL_QUERY,
                security=JOURNAL_READER,
            )
        },
        "/_sim/messages/{transactionID}": {
            "get": {
                **_control(
                    "One accepted message with its route and every delivery attempt (a participant: its own)",
                    {
                        "200": _json(_ref("JournalEntry"), "The entry"),
                        "404": _json(_ref("Problem"), "Unknown (or, to a participant, not its own)"),
                        **NOT_YOURS,
                    },
                    {"name": "transactionID", "in": "path", "required": True, "schema": {"type": "string"}},
                    security=JOURNAL_READER,
                ),
            }
        },
        "/_sim/wait": {
            "get": _control(
                "Block until a matching message reaches the recipient or role (no polling)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["found", "lastSeq"],
                            "properties": {"found": {"type": "boolean"}, "message": _ref("JournalEntry")},
                        },
                        "found: true with the message, or false after the timeout",
                    ),
                    **NOT_YOURS,
                },
                *JOURNAL_QUERY,
                _query("role", "recipient role"),
                _query("status", "delivery status to wait for (default delivered)"),
                _query("timeout", "seconds, at most 120", "number"),
                security=JOURNAL_READER,
            )
        },
        "/_sim/deliveries": {
            "get": _control(
                "Delivery status per message per recipient; totals by status",
                {
                    "200": _json(
                        {"type": "object", "required": ["count", "totals", "deliveries"]}, "Deliveries and totals"
                    ),
                    **NOT_YOURS,
                },
                *JOURNAL_QUERY,
                _query("status", "delivery status"),
                security=JOURNAL_READER,
            )
        },
        "/_sim/route/{id}": {
            "post": _control(
                "Dry run: who would receive these messages, and would the DIP refuse them",
                {
                    "200": _json(
                        {"type": "object", "required": ["routes"], "properties": {"routes": {"type": "array"}}},
                        "One route per message",
                    ),
                },
                ID,
                body={"oneOf": [_ref("DIPMessageArray"), _ref("Payload")]},
                security=[{"ControlKeyAuth": [], "ApiKeyAuth": []}],
            )
        },
        "/_sim/appointments": {
            "post": _control(
                "Seed MPAN appointments {MPAN: {ROLE: DIP ID}} for secondary routing",
                {"201": _json({"type": "object", "required": ["appointed"]}, "Recorded")},
                body={"type": "object"},
            )
        },
        "/_sim/appointments/{mpan}": {
            "get": _control(
                "Parties appointed to the MPAN, by role, and the future-dated changes still pending",
                {"200": _json({"type": "object", "required": ["MPAN", "appointed", "pending"]}, "Appointments")},
                {"name": "mpan", "in": "path", "required": True, "schema": {"type": "string"}},
            )
        },
        "/_sim/inbox/{dip_id}": {
            "get": _control(
                "Pull waiting messages (leased until acknowledged); wait= long-polls",
                {
                    "200": _json({"type": "object", "required": ["count", "waiting", "messages"]}, "Messages"),
                    "403": _json(_ref("Problem"), "Another participant's inbox"),
                },
                {"name": "dip_id", "in": "path", "required": True, "schema": {"type": "string"}},
                _query("interface", "IF-nnn"),
                _query("limit", "at most this many", "integer"),
                _query("wait", "seconds to wait for a first message", "number"),
                _query("lease", "seconds until an unacknowledged message is offered again", "number"),
                security=API_KEY,
            )
        },
        "/_sim/inbox/{dip_id}/ack": {
            "post": _control(
                "Acknowledge pulled messages by transaction id",
                {
                    "200": _json({"type": "object", "required": ["acknowledged", "unknown"]}, "Result"),
                    "403": _json(_ref("Problem"), "Another participant's inbox"),
                },
                {"name": "dip_id", "in": "path", "required": True, "schema": {"type": "string"}},
                body={"type": "object", "required": ["transactionIDs"]},
                security=API_KEY,
            )
        },
        "/_sim/idle": {
            "post": _control(
                "Wait until no push or simulated answer is in flight",
                {"200": _json({"type": "object", "required": ["idle"]}, "idle: true, or false on timeout")},
                _query("timeout", "seconds", "number"),
            )
        },
        "/_sim/clock": {
            "get": _control("The simulation clock: now, the UK clock date and midnight", {"200": _json(CLOCK, "Now")}),
            "post": _control(
                "Advance the simulation clock ({advance: 2d}), set it ({set: timestamp}) or reset it ({reset: true})",
                {"200": _json(CLOCK, "The clock after the change")},
                body={"type": "object", "properties": {"advance": {}, "set": {"type": "string"}, "reset": {}}},
            ),
        },
        "/_sim/triggers": {
            "post": _control(
                "An off-DIP event (a CSS registration, a legacy system's data) reaches a simulated party",
                {
                    "200": _json(
                        {"type": "object", "required": ["handled", "dip_id", "role", "trigger"]},
                        "Whether a rule of the party's role took it",
                    ),
                    "400": _json(_ref("Problem"), "Malformed"),
                    "404": _json(_ref("Problem"), "No such participant"),
                    "409": _json(_ref("Problem"), "The participant is not simulated"),
                },
                body={
                    "type": "object",
                    "required": ["dip_id", "trigger"],
                    "properties": {
                        "dip_id": {"type": "string"},
                        "trigger": {"type": "string"},
                        "mpan": {"type": ["string", "null"]},
                        "gsp_group": {"type": ["string", "null"]},
                        "distributor": {"type": ["string", "null"]},
                        "correlation": {"type": ["string", "null"]},
                        "data": {"type": "object"},
                    },
                },
            ),
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "tags": ["Simulator control"],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mhhs-sit DIP simulator",
            "version": version,
            "description": "The DIP surface (official DIP API v2.1.0 paths) and the simulator's control API.",
        },
        "servers": [{"url": "/"}],
        "paths": {**p, **(extra_paths or {})},
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {
                "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "ControlKeyAuth": {"type": "apiKey", "in": "header", "name": CONTROL_HEADER},
            },
        },
    }
