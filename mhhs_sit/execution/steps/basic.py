"""The small step kinds: ``assert``, ``wait`` and a standalone ``save``."""

from __future__ import annotations

import time
from typing import Any

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.definitions.matchers import mismatch
from mhhs_sit.definitions.model import Step
from mhhs_sit.errors import ScenarioFailure
from mhhs_sit.execution.case import CaseRun


def run_assert(run: CaseRun, step: Step) -> None:
    failures = []
    for check in step.spec:
        label = str(check["value"])
        actual = run.render(check["value"])
        expected = run.render({k: v for k, v in check.items() if k != "value"})
        problem = mismatch(label, actual, expected)
        if problem:
            failures.append(problem)
    if failures:
        raise ScenarioFailure("; ".join(failures))


def run_wait(run: CaseRun, step: Step) -> None:
    time.sleep(parse_duration(step.spec))


def run_save(run: CaseRun, step: Step) -> dict[str, Any]:
    values = {name: run.render(value) for name, value in step.spec.items()}
    run.variables.update(values)
    if run.current is not None:
        run.current.saved.update(values)
    return values
