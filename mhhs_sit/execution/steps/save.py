"""A standalone ``save``: name values (templates included) for later steps to use."""

from __future__ import annotations

from collections.abc import Mapping

from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.steps import STANDALONE_SAVE
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.steps.base import RunnableBase


class SaveStep(RunnableBase):
    key = STANDALONE_SAVE
    schema: Mapping[str, object] = {}  # a mapping of name: value, checked by the loader with sibling saves

    def title(self, body: object) -> str:
        return "save"

    def run(self, run: CaseRun, step: Step) -> dict[str, object]:
        spec = step.spec if isinstance(step.spec, Mapping) else {}
        values = {str(name): run.render(value) for name, value in spec.items()}
        run.variables.update(values)
        if run.current is not None:
            run.current.saved.update(values)
        return values


KIND = SaveStep()
