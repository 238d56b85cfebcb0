"""Running one test case for one cohort: data, variables, subscriptions, then each step in order.

The engine knows no step kind by name: each step's kind (from ``STEP_KINDS``) subscribes before the
case starts and then runs; its result is what the step's ``save:`` reads.
"""

from __future__ import annotations

import contextlib
import time

from mhhs_sit.definitions import templating
from mhhs_sit.definitions.matchers import is_missing, resolve
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.steps import StepRegistry
from mhhs_sit.errors import ConfigError, EnvironmentBroken, ScenarioFailure, TestDataError
from mhhs_sit.execution import journal, market_time
from mhhs_sit.execution.case import CaseRecord, CaseRun, StepRecord, outcome_of
from mhhs_sit.execution.steps import STEP_KINDS
from mhhs_sit.execution.steps.base import RunnableStepKind


def run_case(run: CaseRun, kinds: StepRegistry[RunnableStepKind] = STEP_KINDS) -> CaseRecord:
    """Run every step with the kinds the case was loaded with; its cleanups run however it ends."""
    try:
        prepare_case(run, kinds)
        return _run(run, kinds)
    finally:
        _clean_up(run)


def run_prepared(run: CaseRun, kinds: StepRegistry[RunnableStepKind] = STEP_KINDS) -> CaseRecord:
    """The steps of a case ``prepare_case`` has prepared (cases overlapped: each on a thread)."""
    try:
        return _run(run, kinds)
    finally:
        _clean_up(run)


def prepare_case(run: CaseRun, kinds: StepRegistry[RunnableStepKind] = STEP_KINDS) -> None:
    """The case's data and subscriptions, before its first step: in collection order, whatever
    runs concurrently, so every case draws the same data as in a serial run."""
    rec = run.record
    rec.started = time.time()
    try:
        _hold_market_time(run, kinds)
        try:
            _prepare(run, kinds)
        except EnvironmentBroken as exc:
            raise _naming_faults(run, exc) from exc
    except BaseException as exc:
        rec.status = outcome_of(exc)
        rec.stopped = time.time()
        _clean_up(run)
        raise


def _naming_faults(run: CaseRun, exc: EnvironmentBroken) -> EnvironmentBroken:
    """The environment's failure with the injected faults that explain it, when the local
    simulator's journal records any on the cohort's traffic (a webhook refused under an injected
    503 reads as such, not as an unexplained environment problem)."""
    if journal.NAMED in str(exc) or not run.runtime.environment.is_local:
        return exc
    faults = journal.faults_on_cohort(run, run.record.started)
    return EnvironmentBroken(journal.naming_faults(str(exc), faults)) if faults else exc


def _hold_market_time(run: CaseRun, kinds: StepRegistry[RunnableStepKind]) -> None:
    """On the local simulator under xdist, every case holds the run's market-time lock while it
    runs, one that moves the simulation clock exclusively (``execution/market_time.py``); released
    last. In one process the overlap scheduler already runs a clock case alone."""
    rt = run.runtime
    if not rt.environment.is_local or rt.workers <= 1 or not rt.credentials_dir:
        return
    moves = any(s.kind in kinds and kinds[s.kind].moves_market_time(s.spec) for s in run.case.steps)
    run.cleanups["market time"] = market_time.hold(rt.credentials_dir, exclusive=moves)


def _clean_up(run: CaseRun) -> None:
    for cleanup in reversed(run.cleanups.values()):
        with contextlib.suppress(Exception):  # the outcome stands; a failed cleanup must not replace it
            cleanup()
    run.cleanups.clear()


def _prepare(run: CaseRun, kinds: StepRegistry[RunnableStepKind]) -> None:
    rt = run.runtime
    run.variables = {
        **templating.builtins(),
        "case": {"id": run.case.id, "title": run.case.title, "scenario": run.scenario.id},
        "cohort": run.cohort.as_template_value(),
        "env": rt.environment.as_template_value(),
        "run_id": rt.run_id,
    }
    for name, spec in run.case.data.items():
        run.variables[name] = _data_value(run, name, spec)
    # Subscribe before anything is sent, so no early answer is missed.
    listening = [kinds[step.kind].subscribe(run, step) for step in run.case.steps]
    if any(listening):
        run.inbox_start = rt.receiver.inbox.next_seq


def _data_value(run: CaseRun, name: str, spec: object) -> object:
    """A case data entry: drawn from the cohort's pool (``draw:``) or a rendered value."""
    if not (isinstance(spec, dict) and "draw" in spec):
        return run.render(spec)
    criteria = {str(k): run.render(v) for k, v in spec.items() if k != "draw"}
    try:
        value = run.runtime.pool(run.cohort).draw(str(spec["draw"]), **criteria)
    except ConfigError as exc:
        raise TestDataError(f"test data '{name}': {exc}") from exc
    run.record.data_drawn[name] = value
    return value


def _run(run: CaseRun, kinds: StepRegistry[RunnableStepKind]) -> CaseRecord:
    rec = run.record
    for number, step in enumerate(run.case.steps, 1):
        srec = StepRecord(number, step.title, step.kind, str(step.location))
        rec.steps.append(srec)
        run.current = srec
        srec.started = time.time()
        try:
            kind = kinds[step.kind]
            try:
                _save(run, step, kind.run(run, step), srec, blocks=kind.saves_from == "message")
            except EnvironmentBroken as exc:
                named = _naming_faults(run, exc)
                if named is exc:
                    raise
                raise named from exc
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


def _save(run: CaseRun, step: Step, result: object, srec: StepRecord, *, blocks: bool) -> None:
    for name, path in step.save.items():
        value = resolve(result, path, blocks=blocks)
        if is_missing(value):
            raise ScenarioFailure(f"cannot save '{name}': {path} is not in the {'message' if blocks else 'response'}")
        run.variables[name] = value
        srec.saved[name] = value
