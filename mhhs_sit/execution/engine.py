"""Running one test case for one cohort: data, variables, subscriptions, then each step in order."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from mhhs_sit.definitions import templating
from mhhs_sit.definitions.matchers import is_missing, resolve
from mhhs_sit.definitions.model import Step
from mhhs_sit.errors import ConfigError, ScenarioFailure, TestDataError
from mhhs_sit.execution.case import CaseRecord, CaseRun, StepRecord, outcome_of
from mhhs_sit.execution.steps import RUNNERS


def run_case(run: CaseRun) -> CaseRecord:
    """Run every step; the case's cleanups run however it ends."""
    try:
        return _run(run)
    finally:
        for cleanup in reversed(run.cleanups.values()):
            with contextlib.suppress(Exception):  # the outcome stands; a failed cleanup must not replace it
                cleanup()


def _prepare(run: CaseRun) -> None:
    rt = run.runtime
    run.variables = {
        **templating.builtins(),
        "case": {"id": run.case.id, "title": run.case.title, "scenario": run.scenario.id},
        "cohort": run.cohort.as_template_value(),
        "env": rt.environment.as_template_value(),
        "run_id": rt.run_id,
    }
    for name, spec in run.case.data.items():
        if isinstance(spec, dict) and "draw" in spec:
            criteria = {k: run.render(v) for k, v in spec.items() if k != "draw"}
            try:
                value = rt.pool(run.cohort).draw(spec["draw"], **criteria)
            except ConfigError as exc:
                raise TestDataError(f"test data '{name}': {exc}") from exc
            run.record.data_drawn[name] = value
        else:
            value = run.render(spec)
        run.variables[name] = value
    # Subscribe before anything is sent: webhooks for every role an expect step listens at.
    needs_receiver = False
    for step in run.case.steps:
        if step.kind != "expect" or not isinstance(step.spec, dict):
            continue
        needs_receiver = True
        role = step.spec.get("at")
        participant = run.cohort.participants.get(role) if isinstance(role, str) else None
        for interface in {step.spec.get("interface"), (step.spec.get("fail_if") or {}).get("interface")}:
            if participant and isinstance(interface, str) and "{{" not in interface:
                rt.ensure_webhook(interface, participant.dip_id)
    if needs_receiver:
        run.inbox_start = rt.receiver.inbox.next_seq


def _run(run: CaseRun) -> CaseRecord:
    rec = run.record
    rec.started = time.time()
    try:
        _prepare(run)
    except BaseException as exc:
        rec.status = outcome_of(exc)
        rec.stopped = time.time()
        raise
    for number, step in enumerate(run.case.steps, 1):
        srec = StepRecord(number, step.title, step.kind, str(step.location))
        rec.steps.append(srec)
        run.current = srec
        srec.started = time.time()
        try:
            result = RUNNERS[step.kind](run, step)
            _save(run, step, result, srec)
        except BaseException as exc:
            srec.stopped = time.time()
            srec.status = outcome_of(exc)
            srec.detail = str(exc)
            rec.status = srec.status
            rec.stopped = time.time()
            for later in run.case.steps[number:]:
                rec.steps.append(
                    StepRecord(len(rec.steps) + 1, later.title, later.kind, str(later.location), status="skipped")
                )
            raise
        srec.stopped = time.time()
        srec.status = "passed"
    rec.status = "passed"
    rec.stopped = time.time()
    return rec


def _save(run: CaseRun, step: Step, result: Any, srec: StepRecord) -> None:
    blocks = step.kind in ("send", "expect")
    for name, path in step.save.items():
        value = resolve(result, path, blocks=blocks)
        if is_missing(value):
            raise ScenarioFailure(f"cannot save '{name}': {path} is not in the {'message' if blocks else 'response'}")
        run.variables[name] = value
        srec.saved[name] = value
