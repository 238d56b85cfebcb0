"""A step kind's verdict is worked out once per distinct body in a file: every step repeating a
mistake is still told, at its own line, and a verdict depends on what the body follows."""

from __future__ import annotations

from collections.abc import Mapping

from mhhs_sit.core.yamlsrc import parse_yaml
from mhhs_sit.definitions.scenario_build import build_scenario
from mhhs_sit.definitions.steps import SpecVersion, StepContext, StepRegistry
from mhhs_sit.errors import Problem
from mhhs_sit.execution.steps import STEP_KINDS, assertion
from mhhs_sit.execution.steps.base import RunnableBase

CASE = """\
  - id: CASE-{n:02d}
    title: case {n}
    steps:
{steps}
"""
HEAD = "scenario: REPEATS\ntitle: Repeats\nstage: sit-functional\ntheme: 3\nroles: [SUP, REGS, SDS]\ncases:\n"


def _file(steps: str, count: int) -> str:
    return HEAD + "".join(CASE.format(n=n, steps=steps) for n in range(1, count + 1))


def _lines(text: str, written: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines(), 1) if written in line]


def test_a_repeated_catalogue_mistake_is_told_at_each_cases_own_line():
    steps = """\
      - expect:
          at: SUP
          interface: IF-032
          event: DSAppInitialResp
          where: {M0.MPANCor: "1"}
          within: 10s
"""
    text = _file(steps, 5)
    scenario, problems = build_scenario(parse_yaml(text, "r.yaml"), STEP_KINDS, SpecVersion("1.8.2"))
    assert scenario is None
    assert [p.line for p in problems] == _lines(text, "M0.MPANCor")
    assert [p.path for p in problems] == [f"cases[{i}].steps[0].expect.where.M0.MPANCor" for i in range(5)]
    assert len({p.message for p in problems}) == 1 and "MPANCore" in problems[0].message


def test_a_verdict_depends_on_whether_an_earlier_step_received():
    # the same reply is right after an expect and wrong as a case's first step
    reply = """\
      - send:
          as: SDS
          interface: IF-032
          event: DSAppInitialResp
          reply_to: previous
"""
    wait = """\
      - expect:
          at: SDS
          interface: IF-031
          event: DSApp
          within: 10s
"""
    text = HEAD + CASE.format(n=1, steps=reply) + CASE.format(n=2, steps=wait + reply) + CASE.format(n=3, steps=reply)
    _, problems = build_scenario(parse_yaml(text, "r.yaml"), STEP_KINDS)
    told = sorted({p.path.split(".send", 1)[0] for p in problems if ".send" in p.path})
    assert told == ["cases[0].steps[0]", "cases[2].steps[0]"], [p.render() for p in problems]


class _Direct(RunnableBase):
    """A kind whose check makes its problem without the step's document (at line 0)."""

    key = "direct"
    schema: Mapping[str, object] = {"type": "object"}

    def check(self, body: object, at: StepContext) -> list[Problem]:
        return [Problem(at.doc.file, 0, 0, ".".join(map(str, at.path)), "said without the document")]

    def title(self, body: object) -> str:
        return "direct"


def test_a_kind_that_makes_its_own_problems_is_asked_at_every_step():
    text = _file("      - direct: {a: 1}\n", 3)
    _, problems = build_scenario(parse_yaml(text, "r.yaml"), StepRegistry([_Direct(), assertion.KIND]))
    assert [p.path for p in problems] == [f"cases.{i}.steps.0.direct" for i in range(3)]


def test_a_file_read_without_remembering_is_read_again(tmp_path):
    from mhhs_sit.definitions.scenario_cache import load_scenario_file

    path = tmp_path / "r.yaml"
    path.write_text(_file("      - direct: {a: 1}\n", 1))
    kinds = StepRegistry([_Direct(), assertion.KIND])
    once = load_scenario_file(path, kinds, remember=False)
    assert load_scenario_file(path, kinds, remember=False) is not once  # validate: nothing kept
    kept = load_scenario_file(path, kinds)
    assert load_scenario_file(path, kinds) is kept and load_scenario_file(path, kinds, remember=False) is kept
