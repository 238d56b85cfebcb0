"""``assert``: checks on values the case already has (saved fields, data, built-ins)."""

from __future__ import annotations

from collections.abc import Mapping

from mhhs_sit.definitions.matchers import OPERATOR_NAMES, mismatch
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.step_checks import unknown_operator
from mhhs_sit.definitions.steps import StepContext
from mhhs_sit.errors import Problem, ScenarioFailure
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.steps.base import RunnableBase

SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["value"],
        "minProperties": 2,
        "properties": {"value": {}},
    },
}


class AssertStep(RunnableBase):
    key = "assert"
    schema = SCHEMA

    def check(self, body: object, at: StepContext) -> list[Problem]:
        checks = body if isinstance(body, list) else []
        return [
            unknown_operator(at, [i, op], op)
            for i, check in enumerate(checks)
            if isinstance(check, dict)
            for op in check
            if op != "value" and op not in OPERATOR_NAMES
        ]

    def title(self, body: object) -> str:
        parts = []
        for check in body if isinstance(body, list) else []:
            if isinstance(check, Mapping):
                ops = " and ".join(f"{op} {v!r}" for op, v in check.items() if op != "value")
                parts.append(f"{check.get('value')} {ops}")
        return "check " + "; ".join(parts) if parts else "assert"

    def run(self, run: CaseRun, step: Step) -> None:
        failures = []
        for check in step.spec if isinstance(step.spec, list) else []:
            label = str(check["value"])
            actual = run.render(check["value"])
            expected = run.render({k: v for k, v in check.items() if k != "value"})
            problem = mismatch(label, actual, expected)
            if problem:
                failures.append(problem)
        if failures:
            raise ScenarioFailure("; ".join(failures))


KIND = AssertStep()
