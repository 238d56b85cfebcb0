"""The DIP's service desk, as the simulator keeps it: incidents raised, logged and answered.

Public (Elexon, "Manage DIP service issues"): the DIP Manager prioritises a service issue by what
it is, a DIP service outage as P1, a degradation, a message processing failure or a connectivity
or integration issue as P2, and aims to resolve a P1 within 6 hours and a P2 within 10. Not public
and modelled simply here: the way an incident is raised (on the real DIP through Elexon Support
and its portal, not an API), when it is acknowledged (here at once, as it is logged), the statuses
in between and whether the targets run in clock or working hours (here the market's clock,
``SimClock``, so a test that moves the clock sees a target missed).

An incident belongs to the participant that raised it: only it and the desk (the control client,
playing the DIP Manager) read it; the desk works and resolves it, the raiser adds information,
closes it once resolved or reopens it. Every change is also an ``event`` in the journal.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from mhhs_sit.dip.envelope import dip_timestamp
from mhhs_stubs.clock import SimClock
from mhhs_stubs.journal import Journal

CHANNEL = "SERVICE-DESK"  # the journal's interface column for the desk's events
DESK = "DIP service desk"  # who answers: the control client, acting as the DIP Manager
CATEGORIES: Mapping[str, tuple[str, str]] = {
    "outage": ("P1", "DIP service outage: unplanned loss of DIP availability affecting message submission or receipt"),
    "degradation": ("P2", "DIP service degradation: the DIP available but below expected performance"),
    "message-processing": ("P2", "Message processing failure: validation, routing or delivery errors within the DIP"),
    "connectivity": ("P2", "Connectivity or integration issue between the DIP and a participant's systems"),
}
RESOLUTION_TARGETS: Mapping[str, dt.timedelta] = {"P1": dt.timedelta(hours=6), "P2": dt.timedelta(hours=10)}
STATUSES = ("acknowledged", "in-progress", "resolved", "closed")
DONE = ("resolved", "closed")
# Who may move an incident from a status to which: the desk works it, the raiser accepts or reopens.
DESK_MOVES: Mapping[str, frozenset[str]] = {
    "acknowledged": frozenset({"in-progress", "resolved"}),
    "in-progress": frozenset({"in-progress", "resolved"}),
    "resolved": frozenset({"in-progress"}),
}
RAISER_MOVES: Mapping[str, frozenset[str]] = {"resolved": frozenset({"closed", "in-progress"})}
RAISE_FIELDS = ("category", "summary", "description", "transactionID")
UPDATE_FIELDS = ("status", "message")
SUMMARY_MAX = 200
TEXT_MAX = 4000
MAX_INCIDENTS = 10_000  # the desk's memory is bounded like the journal's


class DeskRefusal(ValueError):
    """What the desk refuses, with the HTTP status to answer and the field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class Update:
    """One line of an incident's history, stamped on the market's clock."""

    at: dt.datetime
    by: str
    status: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"at": dip_timestamp(self.at), "by": self.by, "status": self.status, "message": self.message}


@dataclass
class Incident:
    reference: str
    raised_by: str
    category: str
    summary: str
    description: str | None
    transaction_id: str | None
    raised_at: dt.datetime
    updates: list[Update] = field(default_factory=list)

    @property
    def priority(self) -> str:
        return CATEGORIES[self.category][0]

    @property
    def resolve_by(self) -> dt.datetime:
        return self.raised_at + RESOLUTION_TARGETS[self.priority]

    @property
    def status(self) -> str:
        return self.updates[-1].status

    @property
    def resolved_at(self) -> dt.datetime | None:
        """When it was last resolved, while it stays resolved or closed."""
        if self.status not in DONE:
            return None
        return next(u.at for u in reversed(self.updates) if u.status == "resolved")

    def view(self, now: dt.datetime) -> dict[str, object]:
        """The incident as its raiser and the desk read it; ``overdue`` against ``now``."""
        resolved = self.resolved_at
        return {
            "reference": self.reference,
            "raisedBy": self.raised_by,
            "category": self.category,
            "priority": self.priority,
            "summary": self.summary,
            "description": self.description,
            "transactionID": self.transaction_id,
            "status": self.status,
            "raisedAt": dip_timestamp(self.raised_at),
            "acknowledgedAt": dip_timestamp(self.updates[0].at),
            "resolutionHours": RESOLUTION_TARGETS[self.priority].total_seconds() / 3600,
            "resolveBy": dip_timestamp(self.resolve_by),
            "resolvedAt": dip_timestamp(resolved) if resolved else None,
            "withinTarget": None if resolved is None else resolved <= self.resolve_by,
            "overdue": resolved is None and now > self.resolve_by,
            "updates": [u.as_dict() for u in self.updates],
        }


class ServiceDesk:
    """The incidents of one simulator, by reference; ``dip_id`` None acts as the desk itself."""

    def __init__(self, clock: SimClock, journal: Journal, limit: int = MAX_INCIDENTS):
        self.clock = clock
        self.journal = journal
        self.limit = limit
        self._incidents: dict[str, Incident] = {}
        self._numbers = itertools.count(1)

    def raise_incident(self, dip_id: str, body: object, about: Callable[[str], str | None]) -> Incident:
        """Log a participant's incident and acknowledge it at once. ``about(tx)`` says what the
        journal knows of a transaction the raiser sent or received, None when it is not one."""
        given = _fields(body, RAISE_FIELDS)
        category = _choice(given, "category", CATEGORIES)
        summary = _text(given, "summary", SUMMARY_MAX, required=True) or ""  # required: never None
        description = _text(given, "description", TEXT_MAX)
        tx = _text(given, "transactionID", 64)
        known = about(tx) if tx else None
        if tx and known is None:
            raise DeskRefusal(
                400, f"transactionID: {tx} is not a transaction {dip_id} sent or received", "transactionID"
            )
        if len(self._incidents) >= self.limit:
            raise DeskRefusal(429, f"the service desk holds at most {self.limit} incidents in this simulator")
        now = self.clock.now()
        incident = Incident(f"INC{next(self._numbers):07d}", dip_id, category, summary, description, tx, now)
        priority_text = CATEGORIES[category][1]
        note = (
            f"Logged as {incident.reference}, {incident.priority} ({priority_text}); "
            f"resolution target {dip_timestamp(incident.resolve_by)}"
        )
        incident.updates.append(Update(now, DESK, "acknowledged", note + (f". {known}" if known else "")))
        self._incidents[incident.reference] = incident
        self._log(incident, dip_id, f"raised ({incident.priority} {category}): {summary}")
        return incident

    def incident(self, reference: str, dip_id: str | None) -> Incident:
        """The incident, for its raiser or the desk: 404 when there is none, 403 when another's."""
        found = self._incidents.get(reference)
        if found is None:
            raise DeskRefusal(404, f"no incident {reference}")
        if dip_id is not None and found.raised_by != dip_id:
            raise DeskRefusal(403, f"{reference} was raised by another participant: {dip_id} reads only its own")
        return found

    def incidents(self, dip_id: str | None, status: str | None = None) -> list[Incident]:
        if status is not None and status not in STATUSES:
            raise DeskRefusal(400, f"status={status}: one of {', '.join(STATUSES)}", "status")
        return [
            i
            for i in self._incidents.values()
            if (dip_id is None or i.raised_by == dip_id) and (status is None or i.status == status)
        ]

    def update(self, reference: str, dip_id: str | None, body: object) -> Incident:
        """An answer from the desk (``dip_id`` None) or the raiser: a new status, a message, or both."""
        incident = self.incident(reference, dip_id)
        given = _fields(body, UPDATE_FIELDS)
        status = _choice(given, "status", dict.fromkeys(STATUSES)) if "status" in given else None
        message = _text(given, "message", TEXT_MAX, required=dip_id is None or status is None)
        if incident.status == "closed":
            raise DeskRefusal(409, f"{reference} is closed: raise a new incident", "status")
        if status is not None:
            moves = (DESK_MOVES if dip_id is None else RAISER_MOVES).get(incident.status, frozenset())
            if status not in moves:
                who = "the desk" if dip_id is None else "its raiser"
                allowed = ", ".join(sorted(moves)) or "none (only a message)"
                raise DeskRefusal(
                    409, f"status: {reference} is {incident.status}; {who} may move it to {allowed}", "status"
                )
        by = dip_id or DESK
        incident.updates.append(Update(self.clock.now(), by, status or incident.status, message or ""))
        self._log(incident, dip_id, f"{status or 'note'} by {by}" + (f": {message}" if message else ""))
        return incident

    def _log(self, incident: Incident, actor: str | None, what: str) -> None:
        self.journal.add("event", CHANNEL, actor, note=f"{incident.reference} {what}"[:500])


def _fields(body: object, known: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(body, Mapping):
        raise DeskRefusal(400, f"the body must be a JSON object with {', '.join(known)}")
    unknown = sorted(str(k) for k in body if k not in known)
    if unknown:
        raise DeskRefusal(400, f"{unknown[0]}: not a field here (known: {', '.join(known)})", unknown[0])
    return body


def _choice(given: Mapping[str, object], name: str, choices: Mapping[str, object]) -> str:
    value = given.get(name)
    if not isinstance(value, str) or value not in choices:
        raise DeskRefusal(400, f"{name}: {value!r} is not one of {', '.join(choices)}", name)
    return value


def _text(given: Mapping[str, object], name: str, longest: int, *, required: bool = False) -> str | None:
    value = given.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        wanted = "required: a non-empty text" if value is None else f"must be a non-empty text, not {value!r}"
        raise DeskRefusal(400, f"{name}: {wanted}", name)
    if len(value) > longest:
        raise DeskRefusal(400, f"{name}: {len(value)} characters, at most {longest}", name)
    return value
