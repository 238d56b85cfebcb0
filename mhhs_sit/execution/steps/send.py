"""``send``: act as one of the cohort's participants and submit an interface message to the DIP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mhhs_sit.definitions.matchers import mismatches
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.payloads import check_message, expects_refusal
from mhhs_sit.dip.client import response_code
from mhhs_sit.dip.envelope import Sender, build_message, field
from mhhs_sit.errors import ScenarioFailure, StepDefinitionError
from mhhs_sit.execution import recipients as routing
from mhhs_sit.execution.case import CaseRun, broken_if_server_error

DEFAULT_RESPONSE = {"status": 201, "code": "MSG0000"}


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def _reply_target(run: CaseRun, reply_to: Any) -> Mapping[str, Any] | None:
    if reply_to in (None, ""):
        return None
    if reply_to == "previous":
        if run.last_received is None:
            raise StepDefinitionError("'reply_to: previous' but no message has been received yet")
        return run.last_received
    if isinstance(reply_to, Mapping):
        return reply_to
    raise StepDefinitionError(f"reply_to must be 'previous' or a saved message, not {reply_to!r}")


def build(run: CaseRun, spec: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The payload to send and the DIP ID whose credentials send it."""
    cohort = run.cohort
    participant = cohort.participants[spec["as"]]
    interface_id = spec["interface"]
    replying = _reply_target(run, spec.get("reply_to"))
    correlation = spec.get("correlation_id")
    mpan = spec.get("mpan")
    if replying is not None:
        correlation = (
            correlation or field(replying, "D0", "initialCorrelationID") or field(replying, "S1", "senderCorrelationID")
        )
        mpan = mpan or field(replying, "M0", "MPANCore")
    recipients = routing.primary_recipients(cohort, interface_id, spec.get("to"), sender_role=spec["as"])
    ldso = cohort.participants.get("LDSO")
    sender = Sender(spec.get("sender_dip_id") or participant.dip_id, spec.get("sender_role") or participant.role)
    message = build_message(
        interface_id=interface_id,
        event=spec["event"],
        sender=sender,
        environment_tag=run.runtime.environment.environment_tag,
        refs=run.runtime.refs,
        custom=spec.get("custom"),
        recipients=recipients,
        mpan=str(mpan) if mpan is not None else None,
        distributor_dip_id=spec.get("distributor_dip_id") or (ldso.dip_id if ldso else None),
        gsp_group=spec.get("gsp_group"),
        correlation_id=correlation,
        sub_text=spec.get("sub_text") or f"mhhs-sit {run.claim} run {run.runtime.run_id}",
    )
    if spec.get("common"):
        deep_merge(message["CommonBlock"], spec["common"])
    return message, participant.dip_id


def run(run: CaseRun, step: Step) -> dict[str, Any]:
    spec = run.render(step.spec)
    message, dip_id = build(run, spec)
    version = run.runtime.version
    if version and not expects_refusal(spec):
        # Templates are only resolved now: check what they produced before the DIP sees it.
        violations = check_message(message, spec["interface"], version, run.runtime.dip_spec)
        if violations:
            against = f"the DIP spec at {run.runtime.dip_spec}" if run.runtime.dip_spec else f"spec version {version}"
            raise StepDefinitionError(f"the message this step builds breaks {against}: " + "; ".join(violations))
    exchange = run.runtime.client.send(spec["interface"], [message], dip_id=dip_id)
    if run.current is not None:
        run.current.exchanges.append(exchange.as_dict())
    expected = {**DEFAULT_RESPONSE, **(spec.get("response") or {})}
    body = exchange.response_body
    broken_if_server_error(exchange.status, expected["status"], f"the DIP ({spec['interface']})", body)
    code = response_code(body)
    status = exchange.status
    if exchange.recovered and expected.get("code") == "MSG1006":
        status = 400  # the step wants the refusal, and MSG1006 is what the DIP answered
    elif exchange.recovered:
        # Accepted, though the answer that said so was lost and the retry met MSG1006: what an
        # idempotent participant must conclude (the DIP's journal shows the one acceptance).
        code = "MSG0000"
    failures = []
    if status != expected["status"]:
        failures.append(f"HTTP {status}, expected {expected['status']}")
    if expected.get("code") and code != expected["code"]:
        failures.append(f"response code {code}, expected {expected['code']}")
    if expected.get("json"):
        failures += mismatches(body, expected["json"])
    if failures:
        detail = _describe(body)
        raise ScenarioFailure(
            f"the DIP answered {spec['interface']} from {spec['as']} with {'; '.join(failures)}{detail}"
        )
    return {**message, "response": body, "status": status}


def _describe(body: Any) -> str:
    if isinstance(body, Mapping):
        items = body.get("messageArray") or []
        texts = [
            f"{i.get('message')}{': ' + str(i.get('help')) if i.get('help') else ''}"
            for i in items
            if isinstance(i, Mapping)
        ]
        if texts:
            return " — " + " | ".join(texts)[:1500]
    return f" — {str(body)[:300]}" if body else ""
