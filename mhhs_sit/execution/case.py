"""One case for one cohort while it runs: its variables, its cleanups and the record of every step.

The record (``CaseRecord``/``StepRecord``) is what evidence and reports are built from: each
step's status, timings, the HTTP exchanges and, for ``expect``, every message considered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mhhs_sit.definitions import templating
from mhhs_sit.definitions.model import Cohort, Scenario, TestCase
from mhhs_sit.errors import EnvironmentBroken
from mhhs_sit.results.model import STATUS_BY_VALUE, CaseKey, CaseMeta, CaseResult, Execution, StepResult
from mhhs_sit.results.outcome import Status, classify

if TYPE_CHECKING:  # the runtime brings the DIP client and requests: not needed to load or collect
    from mhhs_sit.execution.runtime import Runtime


@dataclass
class StepRecord:
    number: int
    title: str
    kind: str
    location: str
    status: str = "pending"  # passed | failed | broken | definition error | skipped
    started: float = 0.0
    stopped: float = 0.0
    detail: str = ""
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    polls: list[dict[str, Any]] = field(default_factory=list)
    saved: dict[str, Any] = field(default_factory=dict)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, content): a load run's reports

    @property
    def duration_ms(self) -> float:
        return max(0.0, (self.stopped - self.started) * 1000)

    def freeze(self) -> StepResult:
        """The step as it ended, for results and reports (its exchanges stay with the evidence)."""
        return StepResult(
            self.number,
            self.title,
            self.kind,
            _ended(self.status),
            round(self.duration_ms, 1),
            self.location,
            self.detail,
        )


@dataclass
class CaseRecord:
    case_id: str
    cohort_id: str
    started: float = 0.0
    stopped: float = 0.0
    status: str = "pending"
    data_drawn: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)

    def execution(self) -> Execution:
        """What happened, frozen: timings, the test data drawn and every step."""
        return Execution(self.started, self.stopped, dict(self.data_drawn), tuple(s.freeze() for s in self.steps))

    def freeze(self, nodeid: str, about: CaseMeta | None = None) -> CaseResult:
        """The one seam from the run-time record to the results model: the case as it ended."""
        return CaseResult(
            nodeid,
            _ended(self.status),
            key=CaseKey(self.case_id, self.cohort_id),
            about=about,
            execution=self.execution(),
        )


def _ended(status: str) -> Status:
    """A record's status as a Status; one still pending (frozen before its case ended) was not run to an end."""
    return STATUS_BY_VALUE.get(status, Status.NOT_RUN)


MPAN_FIELDS = (("M0", "MPANCore"), ("M1", "principalMPAN"))  # where a message names its MPAN


def _is_mpan(value: object) -> bool:
    return isinstance(value, str) and len(value) == 13 and value.isdigit()


def mpan_of(payload: object) -> str | None:
    """The MPAN a message is about: its ``M0.MPANCore``, else (the MPAN relationship interfaces,
    IF-019 and IF-020, which carry no M0) its ``M1.principalMPAN``."""
    common = payload.get("CommonBlock") if isinstance(payload, Mapping) else None
    if not isinstance(common, Mapping):
        return None
    for block, key in MPAN_FIELDS:
        fields = common.get(block)
        mpan = fields.get(key) if isinstance(fields, Mapping) else None
        if isinstance(mpan, str):
            return mpan
    return None


def outcome_of(exc: BaseException) -> str:
    return classify(exc).status.value


class CaseRun:
    """The state of one case while it runs; step modules read and write it."""

    def __init__(self, runtime: Runtime, scenario: Scenario, case: TestCase, cohort: Cohort):
        self.runtime = runtime
        self.scenario = scenario
        self.case = case
        self.cohort = cohort
        self.record = CaseRecord(case.id, cohort.id)
        self.inbox_start = 0
        self.last_received: Mapping[str, object] | None = None
        self.variables: dict[str, object] = {}
        self.current: StepRecord | None = None
        # run when the case ends, however it ends; by name, so a step registers its cleanup once
        self.cleanups: dict[str, Callable[[], None]] = {}
        self.overlapped = False  # other cases are in flight beside it (--mhhs-concurrency)

    def mpans(self) -> set[str]:
        """The MPANs this case is about: those it drew and those its messages so far carried."""
        found = {v for v in self.record.data_drawn.values() if _is_mpan(v)}
        for step in self.record.steps:
            for exchange in step.exchanges:
                request = exchange.get("request") or {}
                body = request.get("body") if isinstance(request, Mapping) else None
                for entry in body if isinstance(body, list) else []:
                    mpan = mpan_of(entry.get("payload") if isinstance(entry, Mapping) else None)
                    if mpan:
                        found.add(mpan)
        return found

    @property
    def claim(self) -> str:
        return CaseKey(self.case.id, self.cohort.id).claim

    def render(self, value: object) -> object:
        context = dict(self.variables)
        context["uuid"] = str(uuid.uuid4())
        return templating.render(value, context)


def broken_if_server_error(status: int | None, expected: int | list[int], what: str, body: object) -> None:
    """5xx means the environment failed, unless the test expects exactly that status."""
    wanted = expected if isinstance(expected, list) else [expected]
    if status is not None and status >= 500 and status not in wanted:
        raise EnvironmentBroken(f"{what} answered HTTP {status}: {str(body)[:300]}")
