"""``expect``: a message of an interface reaches a role, matching ``where``, within a time.

The wait blocks on the receiver's inbox (no polling); every message that reaches the role while
waiting is recorded with the reason it did or did not match, and ``fail_if`` ends the wait at
once when a message the scenario forbids turns up. Webhooks are registered before the case's
first step, so nothing sent early is missed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.definitions.impact import ANY_USE, reached, reads
from mhhs_sit.definitions.matchers import mismatches
from mhhs_sit.definitions.message_paths import check_message_paths, listened_problems, saved_shapes
from mhhs_sit.definitions.model import Participant, Step
from mhhs_sit.definitions.schemas import CHECKS, DURATION, INTERFACE, ROLE
from mhhs_sit.definitions.step_checks import check_paths, check_role, sub_mapping
from mhhs_sit.definitions.steps import SpecVersion, StepContext
from mhhs_sit.dip.envelope import bracketed, field
from mhhs_sit.errors import EnvironmentBroken, Problem, ScenarioFailure, StepDefinitionError
from mhhs_sit.execution import journal
from mhhs_sit.execution.case import MPAN_FIELDS, CaseRun, mpan_of
from mhhs_sit.execution.steps.base import RunnableBase, mapping, optional_text, rendered, text

if TYPE_CHECKING:
    from mhhs_sit.catalogue.model import Change
    from mhhs_sit.definitions.template_names import Shape
    from mhhs_sit.dip.receiver import Received

FILTER = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "interface": INTERFACE,
        "event": {"type": "string"},
        "where": CHECKS,
    },
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["at", "interface"],
    "properties": {
        "at": ROLE,
        "interface": INTERFACE,
        "event": {"type": "string"},
        "within": DURATION,
        "where": CHECKS,
        "fail_if": FILTER,
    },
}


@dataclass(frozen=True)
class MessageFilter:
    """Which messages count: an interface, optionally one event code and field checks."""

    interface: str
    event: str | None = None
    where: Mapping[str, object] | None = None

    def problems(self, item: Received) -> list[str]:
        """Why ``item`` is not such a message (nothing when it is)."""
        problems = []
        if item.interface_id.upper() != self.interface.upper():
            problems.append(f"interface {item.interface_id}, not {self.interface}")
        event = field(item.payload, "S0", "eventCode")
        if self.event and event != bracketed(self.event):
            problems.append(f"event {event}, not {bracketed(self.event)}")
        if not problems and self.where:
            problems += mismatches(item.payload, self.where, blocks=True)
        return problems

    @property
    def wanted(self) -> str:
        return f"{self.interface} {bracketed(self.event)}" if self.event else self.interface


@dataclass(frozen=True)
class ExpectSpec:
    """A rendered ``expect`` body."""

    role: str
    wanted: MessageFilter
    within: float
    fail_if: MessageFilter | None = None

    @classmethod
    def parse(cls, body: Mapping[str, object], default_within: float) -> ExpectSpec:
        interface = text(body, "interface")
        forbidden = mapping(body, "fail_if")
        within = body.get("within", default_within)
        if not isinstance(within, str | int | float):
            raise StepDefinitionError(f"'within' must be a duration such as 30s, not {within!r}")
        return cls(
            role=text(body, "at"),
            wanted=MessageFilter(interface, optional_text(body, "event"), mapping(body, "where")),
            within=parse_duration(within),
            fail_if=(
                MessageFilter(
                    optional_text(forbidden, "interface") or interface,
                    optional_text(forbidden, "event"),
                    mapping(forbidden, "where"),
                )
                if forbidden
                else None
            ),
        )


def _interfaces(body: object) -> set[str]:
    """The literal interfaces an ``expect`` body listens for (templated ones wait for the run)."""
    if not isinstance(body, Mapping):
        return set()
    forbidden = body.get("fail_if")
    found = {body.get("interface"), forbidden.get("interface") if isinstance(forbidden, Mapping) else None}
    return {i for i in found if isinstance(i, str) and "{{" not in i}


class ExpectStep(RunnableBase):
    key = "expect"
    schema = SCHEMA
    saves_from = "message"

    def check(self, body: object, at: StepContext) -> list[Problem]:
        if not isinstance(body, dict):
            return []
        problems = check_role(at, body, "at") + check_paths(at, body.get("where"), ["where"], "where")
        return problems + check_paths(at, sub_mapping(body, "fail_if").get("where"), ["fail_if", "where"], "where")

    def catalogue_problems(self, body: object, at: StepContext, spec: SpecVersion) -> list[Problem]:
        """The interface and event waited for exist in the version; ``where``/``save`` paths exist in
        that event's messages (a typo would otherwise wait the whole ``within``)."""
        if not isinstance(body, Mapping):
            return []
        interface, version = body.get("interface"), spec.version
        problems, events = listened_problems(at.doc, at.path, interface, body.get("event"), version, body.get("at"))
        if events and isinstance(interface, str):
            problems += check_message_paths(
                at.doc, [*at.path, "where"], sub_mapping(body, "where"), interface, events, version, keys=True
            )
            problems += check_message_paths(
                at.doc, [*at.path[:-1], "save"], at.save, interface, events, version, keys=False
            )
        forbidden = sub_mapping(body, "fail_if")
        if forbidden:
            problems += _fail_if_problems(at, forbidden, interface, version)
        return problems

    def saved_shapes(self, body: object, at: StepContext, spec: SpecVersion) -> Mapping[str, Shape]:
        if not isinstance(body, Mapping) or not isinstance(body.get("interface"), str):
            return {}
        _, events = listened_problems(at.doc, at.path, body["interface"], body.get("event"), spec.version)
        return saved_shapes(at.save, body["interface"], events, spec.version)

    def listens_at(self, body: object) -> str | None:
        role = body.get("at") if isinstance(body, Mapping) else None
        return role if isinstance(role, str) else None

    def title(self, body: object) -> str:
        if not isinstance(body, Mapping):
            return f"expect {body}"
        return f"{body.get('at')} receives {body.get('interface')} [{body.get('event', '*')}]"

    def receives(self, body: object) -> bool:
        return isinstance(body, Mapping)

    def binds_cohort(self, body: object) -> bool:
        return True  # the role's webhooks point at the worker that runs the cohort

    def affected_by(self, body: object, save: Mapping[str, str], change: Change) -> bool:
        """Any use for a whole-interface change; else an expect whose where or save reads the field."""
        found = reached(body, change)
        if found is None:
            return False
        given, parts = found
        return change.kind in ANY_USE or (bool(parts) and reads(given, save, parts[-1]))

    def subscribe(self, run: CaseRun, step: Step) -> bool:
        """Webhooks for the role this step listens at, registered before anything is sent."""
        if not isinstance(step.spec, Mapping):
            return False
        role = step.spec.get("at")
        participant = run.cohort.participants.get(role) if isinstance(role, str) else None
        if participant is not None:
            for interface in _interfaces(step.spec):
                run.runtime.ensure_webhook(interface, participant.dip_id)
        return True

    def run(self, run: CaseRun, step: Step) -> dict[str, object]:
        rt = run.runtime
        spec = ExpectSpec.parse(rendered(run, step), parse_duration(rt.environment.timeouts.expect))
        participant = run.cohort.participants[spec.role]
        rt.ensure_webhook(spec.wanted.interface, participant.dip_id)
        if spec.fail_if:
            rt.ensure_webhook(spec.fail_if.interface, participant.dip_id)
        wait = _Wait(run, spec, participant)
        item = rt.receiver.inbox.wait_for(wait.considers, since=run.inbox_start, timeout=spec.within, claim=run.claim)
        if item is None:
            # the environment lost or held back the cohort's traffic: not the product's doing, unless
            # the product's answer about this case did come and was wrong
            faults = [] if wait.answered_wrongly else journal.faults_on_cohort(run, run.record.started)
            if faults:
                raise EnvironmentBroken(journal.naming_faults(wait.nothing_came(), faults))
            raise ScenarioFailure(wait.nothing_came())
        run.last_received = item.payload
        if run.current is not None:
            run.current.exchanges.append(
                {
                    "received": {
                        "at": spec.role,
                        "dip_id": item.dip_id,
                        "interface": item.interface_id,
                        "payload": item.payload,
                    },
                }
            )
        return item.payload


def _names_mpan(path: object) -> bool:
    """Whether a ``where`` path is the field a message names its MPAN in (case.MPAN_FIELDS)."""
    return isinstance(path, str) and path.lower().replace("commonblock.", "") in _MPAN_PATHS


_MPAN_PATHS = frozenset(f"{block}.{key}".lower() for block, key in MPAN_FIELDS)


def _fail_if_problems(
    at: StepContext, forbidden: Mapping[object, object], interface: object, version: str
) -> list[Problem]:
    """``fail_if``'s interface (the step's unless it names one), event and ``where`` paths."""
    base = [*at.path, "fail_if"]
    own = forbidden.get("interface", interface)
    problems, events = listened_problems(at.doc, base, own, forbidden.get("event"), version)
    if "interface" not in forbidden:  # the step's own interface was already reported
        problems = [p for p in problems if not p.path.endswith("interface")]
    if events and isinstance(own, str):
        problems += check_message_paths(
            at.doc, [*base, "where"], sub_mapping(forbidden, "where"), own, events, version, keys=True
        )
    return problems


def _describe(item: Received) -> str:
    return f"{item.interface_id} {field(item.payload, 'S0', 'eventCode')}"


class _Wait:
    """One wait for a message: each arrival at the role recorded with why it did or did not match."""

    def __init__(self, run: CaseRun, spec: ExpectSpec, participant: Participant):
        self.spec = spec
        self.participant = participant
        # While cases overlap, a wait that does not say which MPAN it wants takes only messages
        # about its own case's MPANs (or about none), so it never claims another case's answer.
        says_mpan = any(_names_mpan(k) for k in (spec.wanted.where or {}))
        self.case_mpans = run.mpans()
        self.mpans = self.case_mpans if run.overlapped and not says_mpan else set()
        # A fail_if that does not say which MPAN forbids messages about the case's own MPANs (or
        # about none): a late answer to an earlier case of the cohort is not this case's failure.
        forbidden = spec.fail_if
        self.fail_if_names_mpan = forbidden is not None and any(_names_mpan(k) for k in (forbidden.where or {}))
        self.answered_wrongly = False  # the wanted kind of message about this case came, with wrong fields
        self.polls = run.current.polls if run.current is not None else []
        self.seen_elsewhere: list[str] = []

    def considers(self, item: Received) -> bool:
        if item.dip_id != self.participant.dip_id:
            return False  # for another participant
        if not self.ours(item):
            return False  # about another case's MPAN, while cases overlap
        problems = self.spec.wanted.problems(item)
        forbidden = self.spec.fail_if
        if problems and forbidden and self._forbids(item) and not forbidden.problems(item):
            self.polls.append({"seq": item.seq, "message": _describe(item), "matched": False, "fail_if": True})
            raise ScenarioFailure(
                f"{self.spec.role} received {_describe(item)}, which this step forbids (fail_if), while "
                f"waiting for {self.spec.wanted.wanted}"
            )
        self.polls.append(
            {
                "seq": item.seq,
                "at": round(item.received_at, 3),
                "message": _describe(item),
                "matched": not problems,
                "why_not": problems,
            }
        )
        if problems:
            self.seen_elsewhere.append(f"{_describe(item)} ({'; '.join(problems)})")
            self.answered_wrongly = self.answered_wrongly or self._about_this_case(item)
        return not problems

    def _forbids(self, item: Received) -> bool:
        """Whether the fail_if may judge ``item``: one naming an MPAN judges all, else only the
        messages about the case's MPANs or about none (all, when the case drew no MPAN)."""
        if self.fail_if_names_mpan or not self.case_mpans:
            return True
        mpan = mpan_of(item.payload)
        return mpan is None or mpan in self.case_mpans

    def _about_this_case(self, item: Received) -> bool:
        """The wanted interface and event about one of the case's MPANs: an answer, if a wrong one."""
        wanted = self.spec.wanted
        same_kind = MessageFilter(wanted.interface, wanted.event).problems(item) == []
        mpan = mpan_of(item.payload)
        return same_kind and mpan is not None and mpan in self.case_mpans

    def ours(self, item: Received) -> bool:
        mpan = mpan_of(item.payload)
        return not self.mpans or mpan is None or mpan in self.mpans

    def nothing_came(self) -> str:
        spec, role = self.spec, self.spec.role
        others = (
            f"; it did receive: {', '.join(self.seen_elsewhere[:5])}"
            if self.seen_elsewhere
            else f"; nothing else reached {role} either"
        )
        where = f" matching {dict(spec.wanted.where)}" if spec.wanted.where else ""
        return (
            f"no {spec.wanted.wanted} reached {role} ({self.participant.dip_id}) within {spec.within:g}s{where}{others}"
        )


KIND = ExpectStep()
