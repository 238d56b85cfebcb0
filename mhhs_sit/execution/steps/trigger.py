"""``trigger``: an off-DIP event reaches a simulated party: ``{at: REGS, event: ReverseMigration, mpan, data}``.

Some processes start outside the DIP: the CSS registers an MPAN to a supplier, a legacy system
hands over data, a settlement run is due. On the local simulator a case starts them this way: the
simulated party at ``at`` runs its ``when: {trigger: EVENT}`` rules with ``data`` as the message
(docs/simulator.md#triggers), and the case then expects what that party sends over the DIP. SIT-A
and SIT-B have real central systems, so there the step is broken with that reason when it runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.steps import StepContext
from mhhs_sit.errors import EnvironmentBroken, Problem, StepDefinitionError
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.steps.base import RunnableBase, optional_text, rendered, text
from mhhs_sit.execution.steps.fault import LOCAL_STUBS
from mhhs_sit.execution.steps.send import drawn_gsp_group

TRIGGERS_PATH = "/_sim/triggers"
EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["at", "event"],
    "properties": {
        "at": {"type": "string", "description": "the simulated role the event reaches (REGS, MDS…)"},
        "event": {"type": "string", "description": "the trigger name its rules take, e.g. CSSRegistration"},
        "mpan": {"type": "string", "description": "the MPAN the event is about (the rules' {{ mpan }})"},
        "correlation": {"type": "string", "description": "the correlation id the party's messages carry"},
        "data": {"type": "object", "description": "the event's fields: the rules' {{ msg.… }}"},
    },
}


class TriggerStep(RunnableBase):
    key = "trigger"
    schema = SCHEMA

    def check(self, body: object, at: StepContext) -> list[Problem]:
        if not isinstance(body, Mapping):
            return []
        problems = []
        role, event = body.get("at"), body.get("event")
        if isinstance(role, str) and "{{" not in role and role not in at.roles:
            problems.append(at.problem(["at"], f"{role} is not among the scenario's roles ({', '.join(at.roles)})"))
        if isinstance(event, str) and "{{" not in event and not EVENT_NAME.match(event):
            problems.append(at.problem(["event"], "a trigger name such as CSSRegistration (letters, digits, - and _)"))
        return problems

    def title(self, body: object) -> str:
        if isinstance(body, Mapping):
            return f"{body.get('event')} reaches {body.get('at')} (off the DIP)"
        return "trigger"

    def run(self, run: CaseRun, step: Step) -> object:
        environment = run.runtime.environment
        if environment.stubs not in LOCAL_STUBS:
            raise StepDefinitionError(
                f"a trigger step needs the local simulator (on SIT-A and SIT-B the central systems start "
                f"these events themselves); environment '{environment.name}' has stubs: {environment.stubs}"
            )
        body = rendered(run, step)
        role = text(body, "at")
        participant = run.cohort.participants.get(role)
        if participant is None or role not in run.cohort.simulated:
            raise StepDefinitionError(
                f"cohort {run.cohort.id} does not simulate {role}: a trigger reaches a simulated party only"
            )
        data = body.get("data") or {}
        mpan = optional_text(body, "mpan")
        ldso = run.cohort.participants.get("LDSO")
        wire = {
            "dip_id": participant.dip_id,
            "trigger": text(body, "event"),
            "mpan": mpan,
            "gsp_group": drawn_gsp_group(run, mpan),  # an iDNO's MPAN does not tell its group
            "distributor": ldso.dip_id if ldso else None,
            "correlation": optional_text(body, "correlation"),
            "data": data,
        }
        exchange = run.runtime.client.request("POST", TRIGGERS_PATH, body=wire)
        if run.current is not None:
            run.current.exchanges.append(exchange.as_dict())
        answer = exchange.response_body if isinstance(exchange.response_body, dict) else {}
        if exchange.status == 400:
            raise StepDefinitionError(f"the simulator refused the trigger: {answer.get('error', answer)}")
        if exchange.status != 200:
            raise EnvironmentBroken(f"the simulator did not take the trigger: HTTP {exchange.status} {answer}")
        if not answer.get("handled"):
            raise StepDefinitionError(
                f"{answer.get('note', 'no rule took the trigger')}: the simulated market cannot start this event "
                "(add a 'when: {trigger: …}' rule to the simulator's rules, docs/simulator.md#triggers)"
            )
        refused = answer.get("refused")
        if isinstance(refused, list) and refused:
            raise StepDefinitionError(
                f"the simulated {role} could not send what the trigger asks for: {'; '.join(map(str, refused))} "
                "(the trigger's data lacks or breaks what the message needs)"
            )
        return answer


KIND = TriggerStep()
