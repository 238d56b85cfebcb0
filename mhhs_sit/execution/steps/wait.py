"""``wait``: pause the case for a duration (``wait: 2s``)."""

from __future__ import annotations

import time

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.schemas import DURATION
from mhhs_sit.errors import StepDefinitionError
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.steps.base import RunnableBase


class WaitStep(RunnableBase):
    key = "wait"
    schema = DURATION

    def run(self, run: CaseRun, step: Step) -> None:
        duration = run.render(step.spec)
        if not isinstance(duration, str | int | float):
            raise StepDefinitionError(f"'wait' must be a duration such as 2s, not {duration!r}")
        time.sleep(parse_duration(duration))


KIND = WaitStep()
