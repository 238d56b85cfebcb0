"""validate: a ``trigger`` step names an event a rule of the simulated party takes.

A trigger reaches a simulated party's ``when: {trigger: NAME}`` rules (docs/simulator.md#triggers).
A name no rule of that party takes would only be found when the case runs, as a definition error
after the simulator started; validate reads the rules the local environment's simulator runs (the
shipped ones, or the environment's ``rules:`` directory) and says so at the step, with the names
that party does take. Timers' triggers count: a test may start a scheduled job itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mhhs_sit.definitions.model import Scenario, Step
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.errors import DefinitionError, Problem


def trigger_problems(scenarios: Iterable[Scenario], rules_dir: Path | None) -> list[Problem]:
    """Each trigger step whose literal party and event no rule answers, located at the step."""
    steps = [step for scenario in scenarios for case in scenario.cases for step in case.steps if step.kind == "trigger"]
    if not steps:
        return []
    known = _triggers_by_role(rules_dir)
    if known is None:
        return []  # the rules themselves are wrong: validate reports them on their own
    return [problem for step in steps for problem in _step_problems(step, known)]


def _triggers_by_role(rules_dir: Path | None) -> dict[str, frozenset[str]] | None:
    from mhhs_stubs.rule_files import RULES_DIR, TRIGGER_PREFIX, load_rules

    try:
        rules = load_rules(rules_dir or RULES_DIR)
    except DefinitionError:
        return None
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
