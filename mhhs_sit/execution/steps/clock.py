"""``clock``: move the local simulator's clock for this case: ``{advance: 2d}`` or ``{set: "…"}``.

Only the local simulator has a clock a test may move (SIT-A and SIT-B run on real time); the
load-time checks do not see the environment, so elsewhere the step is broken with that reason
when it runs. The clock is the simulator's, shared by every case in flight: the step binds its
cohort and runs alone (exclusive), and when the case ends, passed or not, the clock goes back to
real time. The steps after it see ``now``, ``today``, ``midnight`` of the moved clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from mhhs_sit.core.clock_change import ClockChange, ClockChangeError, parse_clock_change
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.steps import StepContext
from mhhs_sit.errors import EnvironmentBroken, Problem, StepDefinitionError
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.steps.base import RunnableBase, rendered
from mhhs_sit.execution.steps.fault import LOCAL_STUBS

SCHEMA = {"type": "object", "minProperties": 1}  # exactly one of advance/set: check() says which is wrong, where
CLOCK_PATH = "/_sim/clock"


def _wire(change: ClockChange) -> dict[str, object]:
    """The change as the control API takes it (a YAML timestamp is a datetime, not JSON)."""
    if change.advance is not None:
        return {"advance": change.advance.total_seconds()}
    assert change.set is not None  # a step's change is one of the two
    return {"set": change.set.isoformat()}


class ClockStep(RunnableBase):
    key = "clock"
    schema = SCHEMA

    def check(self, body: object, at: StepContext) -> list[Problem]:
        """Exactly one of advance/set, a valid duration or timestamp (unless templates fill them in)."""
        if "{{" in repr(body):
            return []
        try:
            parse_clock_change(body)
        except ClockChangeError as exc:
            return [at.problem([exc.key] if exc.key else [], exc.message, key=exc.message.startswith("unknown key"))]
        return []

    def title(self, body: object) -> str:
        if isinstance(body, Mapping) and len(body) == 1:
            [(what, value)] = body.items()
            return f"simulation clock: {what} {value}"
        return "simulation clock"

    def binds_cohort(self, body: object) -> bool:
        return True  # the clock reaches the cohort's traffic, whichever case moved it

    def exclusive(self, body: object) -> bool:
        return True  # while it is moved, every case in flight is in that time

    def moves_market_time(self, body: object) -> bool:
        return True  # and every other worker's cases too: they wait for it, it waits for them

    def run(self, run: CaseRun, step: Step) -> object:
        environment = run.runtime.environment
        if environment.stubs not in LOCAL_STUBS:
            raise StepDefinitionError(
                f"a clock step needs the local simulator (SIT-A and SIT-B run on real time); environment "
                f"'{environment.name}' has stubs: {environment.stubs} (run it with --mhhs-env local, or leave "
                "the case out there)"
            )
        try:
            change = parse_clock_change(rendered(run, step))
        except ClockChangeError as exc:
            raise StepDefinitionError(f"clock.{exc}" if exc.key else f"clock: {exc}") from None
        client = run.runtime.client

        def back_to_real_time() -> None:
            client.request("POST", CLOCK_PATH, body={"reset": True})

        run.cleanups.setdefault("simulation clock", back_to_real_time)
        exchange = client.request("POST", CLOCK_PATH, body=_wire(change))
        if run.current is not None:
            run.current.exchanges.append(exchange.as_dict())
        answer = exchange.response_body if isinstance(exchange.response_body, dict) else {}
        if exchange.status == 400:
            raise StepDefinitionError(f"the simulator refused the clock change: {answer.get('error', answer)}")
        now = answer.get("now")
        if exchange.status != 200 or not isinstance(now, str):
            raise EnvironmentBroken(f"the simulator did not move its clock: HTTP {exchange.status}")
        moved = templating.builtins(dt.datetime.fromisoformat(now))
        run.variables.update(moved)  # later steps' {{ now }}, {{ today }}, {{ midnight }} are the moved clock's
        return answer


KIND = ClockStep()
