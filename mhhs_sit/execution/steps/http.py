"""``http``: any environment API that is not a DIP message (journals, control planes, portals)."""

from __future__ import annotations

from typing import Any

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.definitions.matchers import mismatches
from mhhs_sit.definitions.model import Step
from mhhs_sit.errors import ScenarioFailure
from mhhs_sit.execution.case import CaseRun, broken_if_server_error


def run(run: CaseRun, step: Step) -> dict[str, Any]:
    spec = run.render(step.spec)
    method = spec.get("method") or ("POST" if "json" in spec or "body" in spec else "GET")
    dip_id = run.cohort.participants[spec["as"]].dip_id if spec.get("as") else None
    headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
    kwargs: dict[str, Any] = {"headers": headers, "params": spec.get("params")}
    if "json" in spec:
        kwargs["body"] = spec["json"]
    elif "body" in spec:
        kwargs["data"] = spec["body"]
    if spec.get("timeout") is not None:
        kwargs["timeout"] = parse_duration(spec["timeout"])
    exchange = run.runtime.client.request(method, spec["url"], dip_id=dip_id, **kwargs)
    if run.current is not None:
        run.current.exchanges.append(exchange.as_dict())
    expect = spec.get("expect") or {}
    wanted = expect.get("status", [200, 201, 202, 204])
    broken_if_server_error(exchange.status, wanted, f"{method} {exchange.url}", exchange.response_body)
    body = exchange.response_body
    result = {
        "status": exchange.status,
        "json": body if not isinstance(body, str) else None,
        "text": body if isinstance(body, str) else None,
        "headers": exchange.response_headers,
    }
    failures = []
    allowed = wanted if isinstance(wanted, list) else [wanted]
    if exchange.status not in allowed:
        failures.append(f"status is {exchange.status}, expected {' or '.join(map(str, allowed))}")
    if expect.get("json"):
        failures += mismatches(result["json"], expect["json"])
    if expect.get("headers"):
        lowered = {k.lower(): v for k, v in exchange.response_headers.items()}
        failures += mismatches(lowered, {k.lower(): v for k, v in expect["headers"].items()})
    if expect.get("body_contains") and expect["body_contains"] not in str(body):
        failures.append(f"body does not contain {expect['body_contains']!r}")
    if failures:
        raise ScenarioFailure(f"{method} {exchange.url}: " + "; ".join(failures) + f" (body: {str(body)[:300]})")
    return result
