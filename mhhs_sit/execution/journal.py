"""What a local simulator's journal tells a case about its own traffic.

Two questions only the environment can answer: which transaction an earlier, lost answer
carried (a send recovered through ``MSG1006``), and which injected faults acted on the cohort's
messages (so a wait that timed out is called broken, naming the fault, not a product defect).
A real DIP offers neither to a sender (its replay serves a publication's recipients), so there
both answers are "unknown" and the caller says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mhhs_sit.dip.envelope import field
from mhhs_sit.errors import EnvironmentBroken
from mhhs_sit.execution.case import CaseRun

MESSAGES = "/_sim/messages"
NAMED = "the environment injected faults"  # how a reason says it already names the faults


def _entries(run: CaseRun, params: Mapping[str, object]) -> list[Mapping[str, object]]:
    """The journal's entries for ``params``; [] when the environment has no journal or it cannot answer."""
    if not run.runtime.environment.is_local:
        return []
    try:
        exchange = run.runtime.client.request("GET", MESSAGES, params=params)
    except EnvironmentBroken:
        return []
    body = exchange.response_body
    found = body.get("messages") if exchange.status == 200 and isinstance(body, Mapping) else None
    return [e for e in found if isinstance(e, Mapping)] if isinstance(found, list) else []


def original_transaction(run: CaseRun, interface: str, dip_id: str, message: Mapping[str, object]) -> str | None:
    """The transactionID the DIP gave ``message`` when it first accepted it (by its senderUniqueReference)."""
    reference = field(message, "S1", "senderUniqueReference")
    if not isinstance(reference, str):
        return None
    params: dict[str, object] = {"kind": "accepted", "interface": interface, "participant": dip_id}
    correlation = field(message, "S1", "senderCorrelationID")
    if isinstance(correlation, str):
        params["correlation_id"] = correlation
    for entry in _entries(run, params):
        if entry.get("sender") == dip_id and field(entry.get("payload"), "S1", "senderUniqueReference") == reference:
            tx = entry.get("transactionID")
            return tx if isinstance(tx, str) else None
    return None


def faults_on_cohort(run: CaseRun, since: float) -> list[str]:
    """Each injected fault that acted since ``since`` on a message from or to the cohort's parties."""
    parties = {p.dip_id for p in run.cohort.participants.values()}
    notes: list[str] = []
    for entry in _entries(run, {"kind": "fault", "since": since}):
        event = entry.get("response")
        if not isinstance(event, Mapping) or not parties & {event.get("sender"), event.get("recipient")}:
            continue
        note = _describe(event)
        if note not in notes:
            notes.append(note)
    return notes


def _describe(event: Mapping[str, object]) -> str:
    what = " ".join(str(event[k]) for k in ("interface", "recipient") if event.get(k))
    return f"fault {event.get('fault')} ({event.get('kind')}) {event.get('event', 'acted')}" + (
        f" on {what}" if what else ""
    )


def naming_faults(reason: str, faults: Sequence[str]) -> str:
    """``reason`` with the faults that explain it, when there were any."""
    if not faults:
        return reason
    return f"{reason}; {NAMED} on this cohort's traffic: {'; '.join(faults[:5])}"
