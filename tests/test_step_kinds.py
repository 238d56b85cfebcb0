"""A step kind is one unit: a new one is a class and a registration, and the loader and engine use it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from mhhs_sit.core.yamlsrc import parse_yaml
from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.environments import load_environment
from mhhs_sit.definitions.model import Step
from mhhs_sit.definitions.scenario_build import build_scenario
from mhhs_sit.definitions.scenario_cache import load_scenario_file
from mhhs_sit.definitions.steps import StepContext, StepRegistry
from mhhs_sit.errors import Problem, ScenarioFailure
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.engine import run_case
from mhhs_sit.execution.runtime import Runtime
from mhhs_sit.execution.steps import STEP_KINDS, assertion, save
from mhhs_sit.execution.steps.base import RunnableBase, RunnableStepKind, rendered, text


class CountStep(RunnableBase):
    """A kind of the test's own: ``count: {from: N, by: M}`` saves N + M."""

    key = "count"
    schema: Mapping[str, object] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["from"],
        "properties": {"from": {}, "by": {"type": "integer"}},
    }

    def __init__(self) -> None:
        self.subscribed: list[str] = []

    def check(self, body: object, at: StepContext) -> list[Problem]:
        if isinstance(body, dict) and body.get("by") == 0:
            return [at.problem(["by"], "counting by 0 goes nowhere")]
        return []

    def title(self, body: object) -> str:
        return f"count from {body.get('from') if isinstance(body, dict) else body}"

    def subscribe(self, run: CaseRun, step: Step) -> bool:
        self.subscribed.append(step.path)
        return False

    def run(self, run: CaseRun, step: Step) -> dict[str, object]:
        body = rendered(run, step)
        return {"total": int(text(body, "from")) + int(str(body.get("by", 1)))}


SCENARIO = """\
scenario: COUNTING
title: Counting
stage: sit-functional
theme: 1
roles: [SUP]
cases:
  - id: COUNT-01
    title: count and check
    data:
      start: 40
    steps:
      - count: {from: "{{ start }}", by: 2}
        save: {total: total}
      - assert:
          - value: "{{ total }}"
            eq: 42
"""


@pytest.fixture
def kinds() -> StepRegistry[RunnableStepKind]:
    return StepRegistry([CountStep(), assertion.KIND, save.KIND])


def _build(text: str, kinds: StepRegistry[RunnableStepKind]) -> tuple[object, list[Problem]]:
    return build_scenario(parse_yaml(text, "counting.yaml"), kinds)


def test_a_new_kind_loads_with_its_schema_checks_and_title(kinds: StepRegistry[RunnableStepKind]) -> None:
    scenario, problems = build_scenario(parse_yaml(SCENARIO, "counting.yaml"), kinds)
    assert problems == []
    assert scenario is not None
    first, second = scenario.cases[0].steps
    assert (first.kind, first.title, dict(first.save)) == ("count", "count from {{ start }}", {"total": "total"})
    assert second.title == "check {{ total }} eq 42"


def test_a_new_kinds_own_check_and_schema_are_located(kinds: StepRegistry[RunnableStepKind]) -> None:
    _, problems = _build(SCENARIO.replace("by: 2", "by: 0"), kinds)
    assert [(p.line, p.path, p.message) for p in problems] == [
        (12, "cases[0].steps[0].count.by", "counting by 0 goes nowhere")
    ]
    _, problems = _build(SCENARIO.replace("by: 2", "step: 2"), kinds)
    assert [p.path for p in problems] == ["cases[0].steps[0].count.step"]
    assert "unknown key 'step'" in problems[0].message and "allowed here: from, by" in problems[0].message


def test_kinds_not_registered_are_unknown_step_keys(kinds: StepRegistry[RunnableStepKind]) -> None:
    # the built-in registry has no count kind; the test's registry has no send kind
    _, problems = _build(SCENARIO, STEP_KINDS)
    assert any("unknown key 'count' in a step" in p.message for p in problems)
    _, problems = _build(SCENARIO.replace("count: {from", "send: {from"), kinds)
    assert any(
        "unknown key 'send' in a step" in p.message and "one action (count, assert)" in p.message for p in problems
    )


def test_a_kind_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        StepRegistry([assertion.KIND, assertion.AssertStep()])


def test_the_parse_cache_is_per_registry(tmp_path: Path, kinds: StepRegistry[RunnableStepKind]) -> None:
    path = tmp_path / "counting.yaml"
    path.write_text(SCENARIO)
    cache = tmp_path / "cache"
    mine, problems = load_scenario_file(path, kinds, cache_dir=cache)
    assert mine is not None and problems == []
    builtin, problems = load_scenario_file(path, STEP_KINDS, cache_dir=cache)
    assert builtin is None and any("unknown key 'count'" in p.message for p in problems)
    assert StepRegistry([CountStep(), assertion.KIND]).fingerprint != StepRegistry([assertion.KIND]).fingerprint


def _runtime(tmp_path: Path) -> tuple[Runtime, object]:
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "offline.yaml").write_text(
        "environment: offline\nenvironment_tag: DEV\nstubs: none\ndip_url: http://127.0.0.1:9\n"
    )
    (tmp_path / "cohorts").mkdir()
    (tmp_path / "cohorts" / "c1.yaml").write_text(
        "cohort: C1\nparticipants:\n  SUP: {mpid: SUPA, dip_id: SUP0000001}\n"
    )
    env, problems = load_environment("offline", tmp_path / "envs", tmp_path)
    assert not problems and env is not None
    cohorts, problems = load_cohorts(tmp_path / "cohorts", tmp_path)
    assert not problems
    return Runtime(environment=env, dip_url="http://127.0.0.1:9", cohorts=cohorts, run_id="r1"), cohorts["C1"]


def test_the_engine_runs_a_new_kind_it_never_names(tmp_path: Path, kinds: StepRegistry[RunnableStepKind]) -> None:
    scenario, _ = _build(SCENARIO, kinds)
    runtime, cohort = _runtime(tmp_path)
    case = scenario.cases[0]  # type: ignore[attr-defined]
    record = run_case(CaseRun(runtime, scenario, case, cohort), kinds)  # type: ignore[arg-type]
    assert record.status == "passed"
    assert [(s.title, s.status, s.saved) for s in record.steps] == [
        ("count from {{ start }}", "passed", {"total": 42}),
        ("check {{ total }} eq 42", "passed", {}),
    ]
    count = kinds["count"]
    assert isinstance(count, CountStep) and count.subscribed == ["cases[0].steps[0]"]


def test_a_failing_check_after_a_new_kind_is_a_product_failure(
    tmp_path: Path, kinds: StepRegistry[RunnableStepKind]
) -> None:
    scenario, _ = _build(SCENARIO.replace("eq: 42", "eq: 43"), kinds)
    runtime, cohort = _runtime(tmp_path)
    run = CaseRun(runtime, scenario, scenario.cases[0], cohort)  # type: ignore[arg-type, attr-defined]
    with pytest.raises(ScenarioFailure, match="43"):
        run_case(run, kinds)
    assert [s.status for s in run.record.steps] == ["passed", "failed"]
