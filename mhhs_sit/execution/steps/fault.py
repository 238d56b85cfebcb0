"""``fault``: make the local simulator misbehave for this case only.

The spec is the simulator's fault spec (docs/simulator.md#faults). The step adds it with the
case's claim (``CASE[COHORT]``) as its tag, and the case removes every fault with that tag when it
ends, passed or not, so a fault never outlives the test that asked for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from mhhs_sit.definitions.faults import validate_specs
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.steps import StepContext
from mhhs_sit.errors import EnvironmentBroken, Problem, StepDefinitionError
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.steps.base import RunnableBase, rendered

LOCAL_STUBS = ("embedded", "container")

SCHEMA = {"type": "object", "required": ["kind"]}  # the rest is the fault language's (definitions/faults)


class FaultStep(RunnableBase):
    key = "fault"
    schema = SCHEMA

    def check(self, body: object, at: StepContext) -> list[Problem]:
        """The fault spec, checked now unless templates fill it in at run time."""
        if not isinstance(body, dict) or "{{" in repr(body):
            return []
        problems = []
        if "tag" in body:
            problems.append(at.problem(["tag"], "a fault step's tag is the case itself; leave 'tag' out", key=True))
        rest = {k: v for k, v in body.items() if k != "tag"}
        return problems + [at.problem(list(exc.field), exc.message) for _, exc in validate_specs([rest])]

    def title(self, body: object) -> str:
        if not isinstance(body, Mapping):
            return f"fault {body}"
        given = body.get("scope")
        scope = ", ".join(f"{k} {v}" for k, v in given.items()) if isinstance(given, Mapping) else ""
        return f"simulator fault: {body.get('kind')}" + (f" ({scope})" if scope else "")

    def binds_cohort(self, body: object) -> bool:
        return True  # the fault reaches the cohort's traffic, whichever case sent it

    def exclusive(self, body: object) -> bool:
        return True  # while it is in force, any case's traffic in its scope meets it

    def run(self, run: CaseRun, step: Step) -> object:
        environment = run.runtime.environment
        if environment.stubs not in LOCAL_STUBS:
            raise StepDefinitionError(
                f"a fault step needs the local simulator; environment '{environment.name}' has stubs: "
                f"{environment.stubs} (run it with --mhhs-env local, or leave the case out there)"
            )
        spec = {**rendered(run, step), "tag": run.claim}
        client = run.runtime.client
        exchange = client.request("POST", "/_sim/faults", body=spec)
        if run.current is not None:
            run.current.exchanges.append(exchange.as_dict())
        answer = exchange.response_body if isinstance(exchange.response_body, dict) else {}
        if exchange.status == 400:
            raise StepDefinitionError(f"the simulator refused the fault: {answer.get('error', exchange.response_body)}")
        if exchange.status != 201:
            raise EnvironmentBroken(f"the simulator did not add the fault: HTTP {exchange.status}")

        def remove_faults() -> None:
            client.request("DELETE", "/_sim/faults", params={"tag": run.claim})

        run.cleanups.setdefault("simulator faults", remove_faults)
        return answer


KIND = FaultStep()
