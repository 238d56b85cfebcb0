"""Running one test case for one cohort: data, variables, steps, and a record of everything.

The record (``CaseRecord``/``StepRecord``) is what evidence and reports are built from: each
step's status, timings, the HTTP exchanges and, for ``expect``, every message considered.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mhhs_sit import templating
from mhhs_sit.errors import ConfigError, EnvironmentBroken, ScenarioFailure, TestDataError
from mhhs_sit.model import Cohort, Scenario, Step, TestCase
from mhhs_sit.runtime import Runtime


@dataclass
class StepRecord:
    number: int
    title: str
    kind: str
    location: str
    status: str = "pending"  # passed | failed | broken | skipped
    started: float = 0.0
    stopped: float = 0.0
    detail: str = ""
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    polls: list[dict[str, Any]] = field(default_factory=list)
    saved: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        return max(0.0, (self.stopped - self.started) * 1000)


@dataclass
class CaseRecord:
    case_id: str
    cohort_id: str
    started: float = 0.0
    stopped: float = 0.0
    status: str = "pending"
    data_drawn: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        return "failed"
    return "broken"


class CaseRun:
    """The state of one case while it runs; step modules read and write it."""

    def __init__(self, runtime: Runtime, scenario: Scenario, case: TestCase, cohort: Cohort):
        self.runtime = runtime
        self.scenario = scenario
        self.case = case
        self.cohort = cohort
        self.record = CaseRecord(case.id, cohort.id)
        self.inbox_start = 0
        self.last_received: dict[str, Any] | None = None
        self.variables: dict[str, Any] = {}
        self.current: StepRecord | None = None
        # run when the case ends, however it ends; by name, so a step registers its cleanup once
        self.cleanups: dict[str, Callable[[], None]] = {}

    @property
    def claim(self) -> str:
        return f"{self.case.id}[{self.cohort.id}]"

    def render(self, value: Any) -> Any:
        context = dict(self.variables)
        context["uuid"] = str(uuid.uuid4())
        return templating.render(value, context)

    def _prepare(self) -> None:
        rt = self.runtime
        self.variables = {
            **templating.builtins(),
            "case": {"id": self.case.id, "title": self.case.title, "scenario": self.scenario.id},
            "cohort": self.cohort.as_template_value(),
            "env": rt.environment.as_template_value(),
            "run_id": rt.run_id,
        }
        for name, spec in self.case.data.items():
            if isinstance(spec, dict) and "draw" in spec:
                criteria = {k: self.render(v) for k, v in spec.items() if k != "draw"}
                try:
                    value = rt.pool(self.cohort).draw(spec["draw"], **criteria)
                except ConfigError as exc:
                    raise TestDataError(f"test data '{name}': {exc}") from exc
                self.record.data_drawn[name] = value
            else:
                value = self.render(spec)
            self.variables[name] = value
        # Subscribe before anything is sent: webhooks for every role an expect step listens at.
        needs_receiver = False
        for step in self.case.steps:
            if step.kind != "expect" or not isinstance(step.spec, dict):
                continue
            needs_receiver = True
            role = step.spec.get("at")
            participant = self.cohort.participants.get(role) if isinstance(role, str) else None
            for interface in {step.spec.get("interface"), (step.spec.get("fail_if") or {}).get("interface")}:
                if participant and isinstance(interface, str) and "{{" not in interface:
                    rt.ensure_webhook(interface, participant.dip_id)
        if needs_receiver:
            self.inbox_start = rt.receiver.inbox.next_seq

    def run(self) -> CaseRecord:
        try:
            return self._run()
        finally:
            for cleanup in reversed(self.cleanups.values()):
                with contextlib.suppress(Exception):  # the outcome stands; a failed cleanup must not replace it
                    cleanup()

    def _run(self) -> CaseRecord:
        from mhhs_sit.steps import RUNNERS

        rec = self.record
        rec.started = time.time()
        try:
            self._prepare()
        except BaseException as exc:
            rec.status = outcome_of(exc)
            rec.stopped = time.time()
            raise
        for number, step in enumerate(self.case.steps, 1):
            srec = StepRecord(number, step.title, step.kind, str(step.location))
            rec.steps.append(srec)
            self.current = srec
            srec.started = time.time()
            try:
                result = RUNNERS[step.kind](self, step)
                self._save(step, result, srec)
            except BaseException as exc:
                srec.stopped = time.time()
                srec.status = outcome_of(exc)
                srec.detail = str(exc)
                rec.status = srec.status
                rec.stopped = time.time()
                for later in self.case.steps[number:]:
                    rec.steps.append(
                        StepRecord(len(rec.steps) + 1, later.title, later.kind, str(later.location), status="skipped")
                    )
                raise
            srec.stopped = time.time()
            srec.status = "passed"
        rec.status = "passed"
        rec.stopped = time.time()
        return rec

    def _save(self, step: Step, result: Any, srec: StepRecord) -> None:
        from mhhs_sit.matchers import is_missing, resolve

        blocks = step.kind in ("send", "expect")
        for name, path in step.save.items():
            value = resolve(result, path, blocks=blocks)
            if is_missing(value):
                raise ScenarioFailure(
                    f"cannot save '{name}': {path} is not in the {'message' if blocks else 'response'}"
                )
            self.variables[name] = value
            srec.saved[name] = value


StepRunner = Callable[[CaseRun, Step], Any]


def broken_if_server_error(status: int | None, expected: Any, what: str, body: Any) -> None:
    """5xx means the environment failed, unless the test expects exactly that status."""
    wanted = expected if isinstance(expected, list) else [expected]
    if status is not None and status >= 500 and status not in wanted:
        raise EnvironmentBroken(f"{what} answered HTTP {status}: {str(body)[:300]}")
