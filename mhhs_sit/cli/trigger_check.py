"""validate: a ``trigger`` step names an event a rule of the simulated party takes.

A trigger reaches a simulated party's ``when: {trigger: NAME}`` rules (docs/simulator.md#triggers).
A name no rule of that party takes would only be found when the case runs, as a definition error
after the simulator started; validate reads the rules the local environment's simulator runs (the
shipped ones, or the environment's ``rules:`` directory) and says so at the step, with the names
that party does take. Timers' triggers count: a test may start a scheduled job itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from mhhs_sit.definitions.model import Scenario, Step
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.errors import Problem

if TYPE_CHECKING:
    from mhhs_stubs.rule_files import Rule


def trigger_problems(scenarios: Iterable[Scenario], rules: Mapping[str, Sequence[Rule]] | None) -> list[Problem]:
    """Each trigger step whose literal party and event no rule answers, located at the step.
    ``rules``: the environment's simulator rules by role (``Project.simulator_rules``); None when
    the files are wrong, which validate reports on its own."""
    steps = [step for scenario in scenarios for case in scenario.cases for step in case.steps if step.kind == "trigger"]
    if not steps or rules is None:
        return []
    known = _triggers_by_role(rules)
    return [problem for step in steps for problem in _step_problems(step, known)]


def _triggers_by_role(rules: Mapping[str, Sequence[Rule]]) -> dict[str, frozenset[str]]:
    """Per role, the trigger names its rules take (the loader keeps them in upper case)."""
    from mhhs_stubs.rule_files import TRIGGER_PREFIX

    return {
        role: frozenset(
            i[len(TRIGGER_PREFIX) :] for rule in role_rules for i in rule.interfaces if i.startswith(TRIGGER_PREFIX)
        )
        for role, role_rules in rules.items()
    }


def _step_problems(step: Step, known: Mapping[str, frozenset[str]]) -> Sequence[Problem]:
    body = step.spec if isinstance(step.spec, Mapping) else {}
    role, event = body.get("at"), body.get("event")
    if not isinstance(role, str) or not isinstance(event, str) or "{{" in role + event:
        return []  # a template is rendered at run time; the step's own checks cover the rest
    taken = known.get(role, frozenset())
    if event.upper() in taken:
        return []  # trigger names are matched whatever their case, as the simulator matches them
    where = (step.location.file, step.location.line, step.location.column, f"{step.path}.trigger.event")
    if not taken:
        return [Problem(*where, f"no rule of the simulated {role} takes a trigger (docs/simulator.md#triggers)")]
    return [
        Problem(
            *where,
            f"no rule of the simulated {role} takes trigger '{event}'{suggest(event.upper(), taken)}; "
            f"{role} takes: {', '.join(sorted(taken))}",
        )
    ]
