"""``load``: send one interface message as one participant at a rate, through Locust, and judge the
figures against thresholds tied to NFR ids (SIT Non-Functional).

The message is built as a ``send`` step builds it (same keys, same templates, checked against the
catalogue at load time); Locust then sends it again and again, each time with a fresh unique
reference, from processes of its own. The case passes when every threshold is met, fails when one
is missed, and is broken when the environment failed (nothing answered, or it answered 5xx).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.payloads import check_message
from mhhs_sit.definitions.schemas import DURATION
from mhhs_sit.definitions.steps import StepContext
from mhhs_sit.errors import EnvironmentBroken, Problem, ScenarioFailure, StepDefinitionError
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.load import delivery
from mhhs_sit.execution.load.distribution import WORKERS_VARIABLE, Spread
from mhhs_sit.execution.load.locust_job import LoadJob, LoadOutcome, LoadPlan, attach_workers, run_load
from mhhs_sit.execution.load.thresholds import (
    Figures,
    Threshold,
    ThresholdError,
    judged,
    parse_thresholds,
    read_thresholds,
)
from mhhs_sit.execution.steps.base import rendered
from mhhs_sit.execution.steps.send import SCHEMA as SEND_SCHEMA
from mhhs_sit.execution.steps.send import SendSpec, SendStep, build

LOAD_KEYS = ("users", "spawn_rate", "rate", "duration", "workers", "thresholds")

_COUNT = {"type": "integer", "minimum": 1}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["as", "interface", "event", "users", "duration", "thresholds"],
    "properties": {
        **{k: v for k, v in cast(Mapping[str, object], SEND_SCHEMA["properties"]).items() if k != "response"},
        "users": _COUNT,
        "spawn_rate": {"type": "number", "exclusiveMinimum": 0},
        "rate": {"type": "number", "exclusiveMinimum": 0},
        "duration": DURATION,
        "workers": {"type": "integer", "minimum": 0},
        "thresholds": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "object"}},
    },
}


class LoadStep(SendStep):
    key = "load"
    schema = SCHEMA
    saves_from = "response"  # `save: {p95: p95}` reads the figures

    def check(self, body: object, at: StepContext) -> list[Problem]:
        if not isinstance(body, dict):
            return []
        problems = super().check(body, at)
        _, wrong = read_thresholds(body.get("thresholds"))
        return problems + [at.problem(["thresholds", *exc.path], str(exc)) for exc in wrong]

    def exclusive(self, body: object) -> bool:
        return True  # its figures would measure the other cases in flight too

    def title(self, body: object) -> str:
        if not isinstance(body, Mapping):
            return f"load {body}"
        rate = f" at {body['rate']}/s" if body.get("rate") else ""
        return (
            f"{body.get('as')} loads {body.get('interface')} [{body.get('event')}]: "
            f"{body.get('users')} users{rate} for {body.get('duration')}"
        )

    def run(self, run: CaseRun, step: Step) -> dict[str, object]:
        body = rendered(run, step)
        spec = SendSpec.parse({k: v for k, v in body.items() if k not in LOAD_KEYS})
        message, dip_id = build(run, spec)
        _check_template(run, spec, message)
        thresholds, plan = _thresholds(body), _plan(body)
        if plan.spread.master is not None:  # this host's workers send; the master's run judges
            return _attached(run, _job(run, spec, message, dip_id), plan)
        with tempfile.TemporaryDirectory(prefix="mhhs-load-") as where:
            started = time.time()
            outcome = run_load(_job(run, spec, message, dip_id), plan, Path(where))
            if run.runtime.environment.is_local:  # the journal says when each message reached its recipients
                found = delivery.measured(run.runtime.client, spec.interface, dip_id, started, time.time())
                outcome = dataclasses.replace(outcome, figures=dataclasses.replace(outcome.figures, delivery=found))
            if run.current is not None:
                run.current.attachments += [(p.name, p.read_bytes()) for p in outcome.reports if p.is_file()]
        figures = outcome.figures
        summary = _summary(figures)
        if run.current is not None:
            run.current.detail = summary
        if outcome.environment_failed:
            raise EnvironmentBroken(f"the environment failed under load: {_top_failures(outcome)} ({summary})")
        met, missed = judged(thresholds, figures)
        if missed:
            why = f"; failures: {_top_failures(outcome)}" if outcome.failures else ""
            raise ScenarioFailure(f"load thresholds missed: {'; '.join(missed)} ({summary}{why})")
        return {"sent": figures.sent, "failed": figures.failed, "throughput": figures.throughput,
                "p50": figures.p50, "p95": figures.p95, "p99": figures.p99, "met": met}  # fmt: skip


def _attached(run: CaseRun, job: LoadJob, plan: LoadPlan) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="mhhs-load-") as where:
        said = attach_workers(job, plan, Path(where))
    if run.current is not None:
        run.current.detail = said
    return {"sent": 0, "failed": 0, "throughput": 0.0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "met": [], "attached": said}


def _thresholds(body: Mapping[str, object]) -> tuple[Threshold, ...]:
    try:
        return parse_thresholds(body.get("thresholds"))
    except ThresholdError as exc:
        raise StepDefinitionError(f"thresholds.{'.'.join(exc.path)}: {exc}") from exc


def _plan(body: Mapping[str, object]) -> LoadPlan:
    users = int(_number(body, "users"))
    duration = body.get("duration")
    if not isinstance(duration, str | int | float):
        raise StepDefinitionError(f"'duration' must be a duration such as 30s, not {duration!r}")
    rate = _number(body, "rate") if body.get("rate") is not None else None
    return LoadPlan(
        users=users,
        spawn_rate=_number(body, "spawn_rate") if body.get("spawn_rate") is not None else float(users),
        duration_s=max(1, round(parse_duration(duration))),
        rate=rate,
        workers=int(_number({"workers": os.environ.get(WORKERS_VARIABLE, 0), **body}, "workers")),
        spread=Spread.from_environment(),
    )


def _number(body: Mapping[str, object], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise StepDefinitionError(f"'{key}' must be a number once templates are filled in, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise StepDefinitionError(f"'{key}' must be a number once templates are filled in, not {value!r}") from None
    if number < 0:
        raise StepDefinitionError(f"'{key}' must not be negative, not {value!r}")
    return number


def _job(run: CaseRun, spec: SendSpec, message: Mapping[str, object], dip_id: str) -> LoadJob:
    runtime = run.runtime
    verify = runtime.client.session.verify
    return LoadJob(
        url=runtime.dip_url,
        interface=spec.interface,
        template=message,
        api_key=runtime.api_key_for(dip_id),
        sign=(files := runtime.tls_files(dip_id)),  # one certificate signs and opens mutual TLS
        tls=files,
        ca=verify if isinstance(verify, str) else None,
    )


def _check_template(run: CaseRun, spec: SendSpec, message: Mapping[str, object]) -> None:
    version, dip_spec = run.runtime.version, run.runtime.dip_spec
    violations = check_message(message, spec.interface, version, dip_spec) if version else []
    if violations:
        raise StepDefinitionError("the message this load sends breaks the spec: " + "; ".join(violations))


def _summary(f: Figures) -> str:
    delivered = (
        f"; delivered p50 {f.delivery.p50:.0f} ms, p95 {f.delivery.p95:.0f} ms, p99 {f.delivery.p99:.0f} ms, "
        f"{f.delivery.missing} of {f.delivery.accepted} accepted undelivered ({f.delivery.undelivered:.1f}%)"
        if f.delivery
        else ""
    )
    return (
        f"{f.sent} sent, {f.failed} failed ({f.errors:.1f}%), {f.throughput:.1f}/s accepted, "
        f"p50 {f.p50:.0f} ms, p95 {f.p95:.0f} ms, p99 {f.p99:.0f} ms, max {f.max:.0f} ms{delivered}"
    )


def _top_failures(outcome: LoadOutcome) -> str:
    return "; ".join(f"{error} ×{n}" for error, n in outcome.failures[:3])


KIND = LoadStep()
