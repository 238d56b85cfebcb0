"""``fault``: make the local simulator misbehave for this case only.

The spec is the simulator's fault spec (docs/simulator.md#faults). The step adds it with the
case's claim (``CASE[COHORT]``) as its tag, and the case removes every fault with that tag when it
ends, passed or not, so a fault never outlives the test that asked for it.
"""

from __future__ import annotations

from typing import Any

from mhhs_sit.definitions.model import Step
from mhhs_sit.errors import EnvironmentBroken, StepDefinitionError
from mhhs_sit.execution.case import CaseRun

LOCAL_STUBS = ("embedded", "container")


def run(run: CaseRun, step: Step) -> dict[str, Any]:
    environment = run.runtime.environment
    if environment.stubs not in LOCAL_STUBS:
        raise StepDefinitionError(
            f"a fault step needs the local simulator; environment '{environment.name}' has stubs: "
            f"{environment.stubs} (run it with --mhhs-env local, or leave the case out there)"
        )
    spec = {**run.render(step.spec), "tag": run.claim}
    client = run.runtime.client
    exchange = client.request("POST", "/_sim/faults", body=spec)
    if run.current is not None:
        run.current.exchanges.append(exchange.as_dict())
    if exchange.status == 400:
        problem = exchange.response_body if isinstance(exchange.response_body, dict) else {}
        raise StepDefinitionError(f"the simulator refused the fault: {problem.get('error', exchange.response_body)}")
    if exchange.status != 201:
        raise EnvironmentBroken(f"the simulator did not add the fault: HTTP {exchange.status}")

    def remove_faults() -> None:
        client.request("DELETE", "/_sim/faults", params={"tag": run.claim})

    run.cleanups.setdefault("simulator faults", remove_faults)
    return exchange.response_body if isinstance(exchange.response_body, dict) else {}
