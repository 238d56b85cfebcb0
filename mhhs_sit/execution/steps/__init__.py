"""One module per step kind; ``RUNNERS`` maps the YAML key to the function that runs it."""

from __future__ import annotations

from mhhs_sit.execution.case import StepRunner
from mhhs_sit.execution.steps import basic, expect, fault, http, send

RUNNERS: dict[str, StepRunner] = {
    "send": send.run,
    "expect": expect.run,
    "http": http.run,
    "assert": basic.run_assert,
    "wait": basic.run_wait,
    "save": basic.run_save,
    "fault": fault.run,
}
