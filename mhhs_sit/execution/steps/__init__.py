"""Every step kind the runner knows, one module each; the loader and the engine are handed ``STEP_KINDS``.

A new kind is a module here (its schema, checks, title, subscriptions and run: see ``base``) and one
line below; nothing else in the framework names a kind.
"""

from __future__ import annotations

from mhhs_sit.definitions.steps import StepRegistry
from mhhs_sit.execution.steps import assertion, clock, expect, fault, http, load, save, send, trigger, wait
from mhhs_sit.execution.steps.base import RunnableStepKind

STEP_KINDS: StepRegistry[RunnableStepKind] = StepRegistry(
    [
        send.KIND,
        expect.KIND,
        http.KIND,
        assertion.KIND,
        wait.KIND,
        fault.KIND,
        clock.KIND,
        trigger.KIND,
        save.KIND,
        load.KIND,
    ]
)
