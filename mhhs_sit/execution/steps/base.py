"""The run-time half of a step kind, and the reading of a rendered body into a typed spec.

A step's body keeps its templates until the step runs; only then is it rendered and read into the
kind's own frozen spec. A template that fills a field with the wrong type is the scenario's
mistake: it is reported as a test definition error naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.steps import BaseStepKind, StepKind
from mhhs_sit.errors import StepDefinitionError
from mhhs_sit.execution.case import CaseRun


class RunnableStepKind(StepKind, Protocol):
    """A step kind the engine can run: what it subscribes to before the case starts, and its run."""

    def subscribe(self, run: CaseRun, step: Step) -> bool:
        """Register what the step will listen for; True when it needs the webhook receiver."""
        ...

    def run(self, run: CaseRun, step: Step) -> object:
        """Do the step; its result is what a sibling ``save:`` reads from."""
        ...


class RunnableBase(BaseStepKind):
    """Defaults for a kind that listens for nothing."""

    def subscribe(self, run: CaseRun, step: Step) -> bool:
        return False


def rendered(run: CaseRun, step: Step) -> Mapping[str, object]:
    """The step's body with its templates filled in, as a mapping (the schema made it one)."""
    body = run.render(step.spec)
    if not isinstance(body, Mapping):
        raise StepDefinitionError(f"the {step.kind} step's body must be a mapping, not {body!r}")
    return {str(k): v for k, v in body.items()}


def text(body: Mapping[str, object], key: str) -> str:
    """A required text field (a template may have produced a number: it is written as text)."""
    value = optional_text(body, key)
    if value is None:
        raise StepDefinitionError(f"'{key}' is required and was empty once templates were filled in")
    return value


def optional_text(body: Mapping[str, object], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise StepDefinitionError(f"'{key}' must be text once templates are filled in, not {value!r}")


def mapping(body: Mapping[str, object], key: str) -> Mapping[str, object] | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    raise StepDefinitionError(f"'{key}' must be a mapping once templates are filled in, not {value!r}")


def texts(body: Mapping[str, object], key: str) -> tuple[str, ...] | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    raise StepDefinitionError(f"'{key}' must be a list once templates are filled in, not {value!r}")
