"""``mhhs-sit validate``: every problem in the project's definitions, in one block, before a run.

It reads the project as ``pytest`` does (the same ini settings, the same files), so a project
that validates is the project a run collects.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mhhs_sit.cli.common import add_definition_options, project_of, shown
from mhhs_sit.cli.trigger_check import trigger_problems
from mhhs_sit.core.gcpause import paused_gc
from mhhs_sit.definitions.cohort_independence import foreign_participants
from mhhs_sit.definitions.cohorts import unobservable_problems
from mhhs_sit.definitions.environments import environment_file_problems, find_environment
from mhhs_sit.definitions.model import ONLY_WHEN_ASKED, Scenario
from mhhs_sit.definitions.requirements import unknown_references
from mhhs_sit.definitions.scenario_files import load_scenarios
from mhhs_sit.errors import Problem, render_problems
from mhhs_sit.execution.steps import STEP_KINDS
from mhhs_sit.project import Project


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check scenario, cohort and environment files; exit 1 on any problem",
        description="Check every scenario, cohort and environment file and print every "
        "problem with file:line:column and its YAML path.",
    )
    p.add_argument("paths", nargs="*", help="scenario files or directories (default: ini mhhs_scenarios)")
    add_definition_options(p)
    p.set_defaults(func=cmd_validate)


@paused_gc()  # a 10,000-case file is 600,000 values and no cycles: the collector walked them again and again
def cmd_validate(args: argparse.Namespace) -> int:
    """Every problem in every file, in one block; exit 1 if there is any."""
    project = project_of(args)
    paths = [Path(p) for p in args.paths] or project.scenario_dirs
    problems = [Problem(str(p), 0, 0, "", "no such file or directory") for p in paths if not p.exists()]
    problems += project.cohorts[1] + project.environment[1] + project.version[1] + project.dip_spec[1]
    scenarios, found = load_scenarios(
        [p for p in paths if p.exists()],
        STEP_KINDS,
        project.root,
        version=project.version[0],
        dip_spec=project.dip_spec[0],
        remember=False,  # read once here: what is kept until the process ends costs its last collection
    )
    problems += found + _requirement_problems(project, scenarios) + _environment_files(project)
    problems += [p for sc in scenarios for p in unobservable_problems(sc, project.cohorts[0])]
    foreign = [foreign_participants(sc, project.cohorts[0], project.root) for sc in scenarios]
    problems += [p for refused, _ in foreign for p in refused]
    env = project.environment[0]
    if env is not None and env.is_local:
        problems += project.simulator_rule_problems
        problems += trigger_problems(scenarios, project.simulator_rules[0])
    if problems:
        print(render_problems(problems), file=sys.stdout)
        return 1
    _print_summary(project, scenarios)
    _print_reliances([p for _, notes in foreign for p in notes])
    return 0


def _print_reliances(noted: list[Problem]) -> None:
    """What relies on another cohort's simulated party or supplier: the first of each file, and how many more."""
    if not noted:
        return
    by_file: dict[str, list[Problem]] = {}
    for p in noted:
        by_file.setdefault(p.file, []).append(p)
    print(f"note: {len(by_file)} scenario file(s) rely on a party of another cohort (README: cohort independence):")
    for found in by_file.values():
        more = f" (and {len(found) - 1} more in this file)" if len(found) > 1 else ""
        print(f"  {found[0].render()}{more}")


def _requirement_problems(project: Project, scenarios: list[Scenario]) -> list[Problem]:
    catalogue, problems = project.requirements
    for scenario in scenarios if catalogue else []:
        problems = problems + unknown_references(scenario, catalogue, project.root / scenario.location.file)
    return problems


def _environment_files(project: Project) -> list[Problem]:
    """The other environment files' YAML and structure (the one in use was loaded in full)."""
    directory = project.path("mhhs_environments")
    return environment_file_problems(directory, project.root, skip=find_environment(project.env_name, directory))


def _runnable(project: Project, scenarios: list[Scenario]) -> dict[str, int]:
    """Each case (named with its location) -> how many cohorts can run it (counted once per
    scenario for each distinct set of roles its cases drive and observe, all that it depends on)."""
    env, cohorts = project.environment[0], project.cohorts[0].values()
    local = env is not None and env.is_local
    counted: dict[tuple[int, frozenset[str], frozenset[str]], int] = {}
    runnable = {}
    for sc in scenarios:
        if sc.stage in ONLY_WHEN_ASKED:  # run by mhhs-sit qualify, with a cohort of its own making
            continue
        for case in sc.cases:
            key = (id(sc), frozenset(case.drives), frozenset(case.listens))
            if key not in counted:
                counted[key] = sum(1 for c in cohorts if c.ineligibility(sc, case, local=local) is None)
            runnable[f"{case.id} ({case.location})"] = counted[key]
    return runnable


def _print_summary(project: Project, scenarios: list[Scenario]) -> None:
    env, cohorts = project.environment[0], project.cohorts[0]
    runnable = _runnable(project, scenarios)
    print(
        f"OK: {len(scenarios)} scenarios, {len(runnable)} cases, {len(cohorts)} cohorts, "
        f"{sum(runnable.values())} runnable items in environment '{env.name if env else project.env_name}', "
        f"messages checked against {_spec(project)}; {_requirements_checked(project)}"
    )
    qualification = sum(len(sc.cases) for sc in scenarios if sc.stage in ONLY_WHEN_ASKED)
    if qualification:
        print(f"note: {qualification} qualification case(s) run under mhhs-sit qualify or --stage qualification")
    orphans = [case for case, n in runnable.items() if n == 0]
    if orphans:
        print(f"note: {len(orphans)} case(s) have no eligible cohort and will be reported as skipped:")
        for orphan in orphans:
            print(f"  {orphan}")


def _spec(project: Project) -> str:
    dip_spec = project.dip_spec[0]
    return f"the DIP spec at {dip_spec}" if dip_spec else f"spec version {project.version[0]}"


def _requirements_checked(project: Project) -> str:
    catalogue, where = project.requirements[0], shown(project, project.path("mhhs_requirements"))
    if catalogue:
        return f"{len(catalogue)} requirements checked against {where}"
    return f"requirements not checked: no catalogue at {where}"
