"""``expect``: a message of an interface reaches a role, matching ``where``, within a time.

The wait blocks on the receiver's inbox (no polling); every message that reaches the role while
waiting is recorded with the reason it did or did not match, and ``fail_if`` ends the wait at
once when a message the scenario forbids turns up.
"""

from __future__ import annotations

from typing import Any

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.definitions.matchers import mismatches
from mhhs_sit.definitions.model import Step
from mhhs_sit.dip.envelope import bracketed, field
from mhhs_sit.dip.receiver import Received
from mhhs_sit.errors import ScenarioFailure
from mhhs_sit.execution.case import CaseRun


def _describe(item: Received) -> str:
    return f"{item.interface_id} {field(item.payload, 'S0', 'eventCode')}"


def _filter_problems(
    item: Received, dip_id: str, interface: str, event: str | None, where: dict[str, Any] | None
) -> list[str]:
    if item.dip_id != dip_id:
        return ["for another participant"]
    problems = []
    if item.interface_id.upper() != interface.upper():
        problems.append(f"interface {item.interface_id}, not {interface}")
    if event and field(item.payload, "S0", "eventCode") != bracketed(event):
        problems.append(f"event {field(item.payload, 'S0', 'eventCode')}, not {bracketed(event)}")
    if not problems and where:
        problems += mismatches(item.payload, where, blocks=True)
    return problems


def run(run: CaseRun, step: Step) -> dict[str, Any]:
    spec = run.render(step.spec)
    role = spec["at"]
    participant = run.cohort.participants[role]
    interface = spec["interface"]
    rt = run.runtime
    rt.ensure_webhook(interface, participant.dip_id)
    fail_if = spec.get("fail_if")
    if fail_if:
        rt.ensure_webhook(fail_if.get("interface", interface), participant.dip_id)
    within = parse_duration(spec.get("within", rt.environment.timeouts.expect))
    polls = run.current.polls if run.current is not None else []
    seen_elsewhere: list[str] = []

    def predicate(item: Received) -> bool:
        problems = _filter_problems(item, participant.dip_id, interface, spec.get("event"), spec.get("where"))
        if problems == ["for another participant"]:
            return False
        if (
            problems
            and fail_if
            and not _filter_problems(
                item,
                participant.dip_id,
                fail_if.get("interface", interface),
                fail_if.get("event"),
                fail_if.get("where"),
            )
        ):
            polls.append({"seq": item.seq, "message": _describe(item), "matched": False, "fail_if": True})
            raise ScenarioFailure(
                f"{role} received {_describe(item)}, which this step forbids (fail_if), while "
                f"waiting for {interface} {bracketed(spec['event']) if spec.get('event') else ''}".rstrip()
            )
        polls.append(
            {
                "seq": item.seq,
                "at": round(item.received_at, 3),
                "message": _describe(item),
                "matched": not problems,
                "why_not": problems,
            }
        )
        if problems:
            seen_elsewhere.append(f"{_describe(item)} ({'; '.join(problems)})")
        return not problems

    item = rt.receiver.inbox.wait_for(predicate, since=run.inbox_start, timeout=within, claim=run.claim)
    if item is None:
        what = f"{interface} {bracketed(spec['event'])}" if spec.get("event") else interface
        others = (
            f"; it did receive: {', '.join(seen_elsewhere[:5])}"
            if seen_elsewhere
            else f"; nothing else reached {role} either"
        )
        raise ScenarioFailure(
            f"no {what} reached {role} ({participant.dip_id}) within {within:g}s"
            f"{' matching ' + str(spec['where']) if spec.get('where') else ''}{others}"
        )
    run.last_received = item.payload
    if run.current is not None:
        run.current.exchanges.append(
            {
                "received": {
                    "at": role,
                    "dip_id": item.dip_id,
                    "interface": item.interface_id,
                    "payload": item.payload,
                },
            }
        )
    return item.payload
