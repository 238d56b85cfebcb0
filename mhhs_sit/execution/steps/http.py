"""``http``: any environment API that is not a DIP message (journals, control planes, portals)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.definitions.matchers import mismatches
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.schemas import CHECKS, DURATION, ROLE
from mhhs_sit.definitions.step_checks import check_paths, sub_mapping
from mhhs_sit.definitions.steps import StepContext
from mhhs_sit.errors import Problem, ScenarioFailure, StepDefinitionError
from mhhs_sit.execution.case import CaseRun, broken_if_server_error
from mhhs_sit.execution.steps.base import RunnableBase, mapping, optional_text, rendered, text

if TYPE_CHECKING:
    from mhhs_sit.dip.client import Exchange

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]},
        "url": {"type": "string", "minLength": 1},
        "headers": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
        "params": {"type": "object"},
        "json": {},
        "body": {"type": "string"},
        "timeout": DURATION,
        "as": ROLE,
        "expect": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]},
                "json": CHECKS,
                "headers": CHECKS,
                "body_contains": {"type": "string"},
            },
        },
    },
}

SUCCESS = (200, 201, 202, 204)
SHARED_INBOX = "/_sim/inbox"  # a participant's inbox on the local simulator, shared by its cohort's cases


@dataclass(frozen=True)
class HttpExpectation:
    """What the answer must be: one of the statuses, and any field, header or text checks."""

    statuses: tuple[int, ...] = SUCCESS
    json: Mapping[str, object] | None = None
    headers: Mapping[str, object] | None = None
    body_contains: str | None = None

    @classmethod
    def parse(cls, body: Mapping[str, object] | None) -> HttpExpectation:
        if not body:
            return cls()
        status = body.get("status", list(SUCCESS))
        given = status if isinstance(status, list) else [status]
        statuses = tuple(s for s in given if isinstance(s, int))
        if len(statuses) != len(given):
            raise StepDefinitionError(f"'expect.status' must be a status or a list of them, not {status!r}")
        return cls(
            statuses,
            mapping(body, "json"),
            mapping(body, "headers"),
            optional_text(body, "body_contains"),
        )

    def failures(self, exchange: Exchange, result: Mapping[str, object]) -> list[str]:
        failures = []
        if exchange.status not in self.statuses:
            failures.append(f"status is {exchange.status}, expected {' or '.join(map(str, self.statuses))}")
        if self.json:
            failures += mismatches(result["json"], self.json)
        if self.headers:
            lowered = {k.lower(): v for k, v in exchange.response_headers.items()}
            failures += mismatches(lowered, {k.lower(): v for k, v in self.headers.items()})
        if self.body_contains and self.body_contains not in str(exchange.response_body):
            failures.append(f"body does not contain {self.body_contains!r}")
        return failures


@dataclass(frozen=True)
class HttpSpec:
    """A rendered ``http`` body."""

    method: str
    url: str
    expect: HttpExpectation
    role: str | None = None
    headers: Mapping[str, str] | None = None
    params: Mapping[str, object] | None = None
    json: object = None
    has_json: bool = False
    body: str | None = None
    timeout: float | None = None

    @classmethod
    def parse(cls, body: Mapping[str, object]) -> HttpSpec:
        has_json = "json" in body
        method = optional_text(body, "method") or ("POST" if has_json or "body" in body else "GET")
        timeout = body.get("timeout")
        if timeout is not None and not isinstance(timeout, str | int | float):
            raise StepDefinitionError(f"'timeout' must be a duration such as 30s, not {timeout!r}")
        headers = mapping(body, "headers")
        return cls(
            method=method,
            url=text(body, "url"),
            expect=HttpExpectation.parse(mapping(body, "expect")),
            role=optional_text(body, "as"),
            headers={str(k): str(v) for k, v in headers.items()} if headers else None,
            params=mapping(body, "params"),
            json=body.get("json"),
            has_json=has_json,
            body=optional_text(body, "body"),
            timeout=parse_duration(timeout) if timeout is not None else None,
        )


class HttpStep(RunnableBase):
    key = "http"
    schema = SCHEMA

    def check(self, body: object, at: StepContext) -> list[Problem]:
        if not isinstance(body, dict):
            return []
        expect = sub_mapping(body, "expect")
        return [p for part in ("json", "headers") for p in check_paths(at, expect.get(part), ["expect", part], part)]

    def acts_as(self, body: object) -> str | None:
        """``as:`` signs the call with that participant's credentials: the case plays the role."""
        role = body.get("as") if isinstance(body, Mapping) else None
        return role if isinstance(role, str) else None

    def exclusive(self, body: object) -> bool:
        """Reading a participant's simulator inbox takes (and acknowledges) what is there: a case
        overlapped with another of its cohort would take that case's messages too."""
        return isinstance(body, Mapping) and SHARED_INBOX in str(body.get("url", ""))

    def title(self, body: object) -> str:
        if not isinstance(body, Mapping):
            return f"http {body}"
        return f"{body.get('method', 'GET')} {body.get('url')}"

    def run(self, run: CaseRun, step: Step) -> dict[str, object]:
        spec = HttpSpec.parse(rendered(run, step))
        exchange = _call(run, spec)
        if run.current is not None:
            run.current.exchanges.append(exchange.as_dict())
        body = exchange.response_body
        broken_if_server_error(exchange.status, list(spec.expect.statuses), f"{spec.method} {exchange.url}", body)
        result: dict[str, object] = {
            "status": exchange.status,
            "json": body if not isinstance(body, str) else None,
            "text": body if isinstance(body, str) else None,
            "headers": exchange.response_headers,
        }
        failures = spec.expect.failures(exchange, result)
        if failures:
            raise ScenarioFailure(
                f"{spec.method} {exchange.url}: " + "; ".join(failures) + f" (body: {str(body)[:300]})"
            )
        return result


def _call(run: CaseRun, spec: HttpSpec) -> Exchange:
    return run.runtime.client.request(
        spec.method,
        spec.url,
        dip_id=run.cohort.participants[spec.role].dip_id if spec.role else None,
        headers=dict(spec.headers or {}),
        params=dict(spec.params) if spec.params is not None else None,
        body=spec.json,
        data=None if spec.has_json else spec.body,  # a JSON body wins over a text one
        timeout=spec.timeout,
    )


KIND = HttpStep()
