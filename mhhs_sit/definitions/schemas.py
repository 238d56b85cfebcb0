"""JSON Schemas of the files a test team writes: scenarios, cohorts and environments.

The schemas catch structure (unknown keys, wrong types, missing fields); ``loader`` and each step
kind add the checks that need context (duplicate ids, roles, template names). A step's body is
its kind's schema (``mhhs_sit/execution/steps/``). Keep messages in mind when editing:
``schema_check.explain`` turns each jsonschema error into a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_STAGE_NAMES = (
    "pit",
    "cit",
    "sit-functional",
    "sit-migration",
    "sit-non-functional",
    "sit-operational",
    "qualification",
)

ROLES = (
    "SUP",
    "REGS",
    "LDSO",
    "UMSO",
    "MSS",
    "MSA",
    "SDS",
    "ADS",
    "UMSDS",
    "LSS",
    "MDS",
    "VAS",
    "ECS",
    "EES",
    "MDR",
    "DCC",
    "ISD",
)

DURATION = {
    "oneOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\d+(\.\d+)?\s*(ms|s|m|h)$"},
    ],
    "description": "a duration such as 30s, 500ms, 2m or a number of seconds",
}
ROLE = {"type": "string", "enum": list(ROLES)}
INTERFACE = {"type": "string", "pattern": r"^(IF-\d{3}|REP-\d{3}[A-Z]?)$"}
NAME = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}
SAVE = {"type": "object", "propertyNames": NAME, "additionalProperties": {"type": "string"}}
CHECKS = {"type": "object"}  # path -> expectation; checked by loader (paths, operators)

CASE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "steps"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "priority": {"type": "integer", "minimum": 1, "maximum": 4},
        "tags": {"type": "array", "items": NAME},
        "requirements": {"type": "array", "items": {"type": "string"}},
        "data": {"type": "object", "propertyNames": NAME},
        "steps": {"type": "array", "minItems": 1, "items": {"type": "object"}},  # see scenario_schema
    },
}

_SCENARIO: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["scenario", "title", "stage", "theme", "roles", "cases"],
    "properties": {
        "scenario": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "stage": {
            "type": "string",
            "enum": list(_STAGE_NAMES),
        },
        "theme": {"type": ["integer", "string"]},
        # the first interface spec version its messages exist in (IR8.2, 2.1.0...): an earlier run skips it
        "since": {"type": ["string", "number"]},
        "requirements": {"type": "array", "items": {"type": "string"}},
        "tags": {"type": "array", "items": NAME},
        "roles": {"type": "array", "minItems": 1, "items": ROLE, "uniqueItems": True},
        "cases": {"type": "array", "minItems": 1, "items": CASE},
    },
}


def scenario_schema(step_bodies: Mapping[str, object]) -> dict[str, object]:
    """The scenario file's schema, its steps' bodies as the kinds in the registry define them."""
    step = {"type": "object", "properties": {"name": {"type": "string"}, "save": {}, **step_bodies}}
    case = {**CASE, "properties": {**CASE["properties"], "steps": {"type": "array", "minItems": 1, "items": step}}}
    return {
        **_SCENARIO,
        "properties": {**_SCENARIO["properties"], "cases": {"type": "array", "minItems": 1, "items": case}},
    }


PARTICIPANT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["mpid", "dip_id"],
    "properties": {
        "mpid": {"type": "string", "pattern": r"^[A-Z]{4}$"},
        "dip_id": {"type": "string", "pattern": r"^[0-9A-Za-z]{10}$"},
        "name": {"type": "string"},
        "distributor": {"type": "string", "pattern": r"^\d{2}$"},
    },
}

COHORT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["cohort", "participants"],
    "properties": {
        "cohort": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_-]*$"},
        "title": {"type": "string"},
        "participants": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": ROLE,
            "additionalProperties": PARTICIPANT,
        },
        "simulated": {"type": "array", "items": ROLE, "uniqueItems": True},
        "data_slot": {"type": "integer", "minimum": 50, "maximum": 99},
    },
}

ENVIRONMENT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["environment", "environment_tag", "stubs"],
    "properties": {
        "environment": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
        "title": {"type": "string"},
        "dip_url": {"type": "string"},
        "environment_tag": {"type": "string", "enum": ["PRD", "SITB", "SIT", "UIT", "DEV"]},
        "ir": {"type": ["string", "number"]},
        "stubs": {"type": "string", "enum": ["embedded", "container", "none"]},
        "auth": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "api_key_env": {"type": "string"},
                "client_cert": {"type": "string"},
                "client_key": {"type": "string"},
                "ca_bundle": {"type": "string"},
            },
        },
        "timeouts": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"connect": DURATION, "read": DURATION, "expect": DURATION},
        },
        "retries": {"type": "integer", "minimum": 0, "maximum": 10},
        # cases in flight at once (their waits overlap) unless --mhhs-concurrency says otherwise
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 1000},
        # the participant simulators' rules directory (stubs: embedded), instead of stubs/rules
        "rules": {"type": "string", "minLength": 1},
        # the cases a run here takes: a smoke set (tags), stages, and how many cohorts run each case
        "selection": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "stages": {"type": "array", "items": {"type": "string", "enum": list(_STAGE_NAMES)}, "minItems": 1},
                "cohorts_per_case": {"type": "integer", "minimum": 1},
            },
        },
        "webhook": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"listen": {"type": "string"}, "public_url": {"type": "string"}},
        },
        "variables": {"type": "object"},
        # simulator faults on demand; each item is checked by mhhs_stubs.faults (see docs/simulator.md)
        "faults": {"type": "array", "items": {"type": "object"}},
        "fault_seed": {"type": ["integer", "string"]},
        # local simulator over HTTPS with the run's client certificates (mutual TLS), as the real DIP
        "tls": {"type": "boolean"},
        # hosts beyond loopback whose webhooks the local simulator takes ("HOST" or "HOST:PORT")
        "allow_webhook_hosts": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        # the simulator's push retries (local environments shorten them so a dead letter takes seconds)
        "delivery": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "attempts": {"type": "integer", "minimum": 1, "maximum": 50},
                "backoff": DURATION,
                "factor": {"type": "number", "minimum": 1},
                "max_backoff": DURATION,
                "timeout": DURATION,
            },
        },
    },
}
