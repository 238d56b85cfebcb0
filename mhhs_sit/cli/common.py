"""What every ``mhhs-sit`` sub-command shares: the project's definitions read as pytest reads
them, and framework errors turned into a message and exit code 2."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mhhs_sit.collection.usage import (
    PYTEST_MARKS,
    OptionValues,
    marker_error,
    scenario_places,
    scenario_tags,
    usage_error,
)
from mhhs_sit.definitions.model import Scenario
from mhhs_sit.errors import ConfigError, MhhsSitError
from mhhs_sit.project import Project

Handler = Callable[[argparse.Namespace], int]

# A command's option -> the ini setting it overrides (the same as the pytest plugin's).
INI_OF_OPTION = {
    "cohorts": "mhhs_cohorts",
    "environments": "mhhs_environments",
    "requirements": "mhhs_requirements",
    "scenarios": "mhhs_scenarios",
}


CLI_FLAGS = {"env": "--env", "seed": "--seed", "store": "--store"}
"""Where ``mhhs-sit`` spells an option unlike pytest (``--mhhs-env``); the others are the same."""


def guarded(handler: Handler, prefix: Callable[[argparse.Namespace], str]) -> Handler:
    """``handler`` with MhhsSitError reported as ``<prefix>: <message>`` on stderr, exit code 2."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except MhhsSitError as exc:
            print(f"{prefix(args)}: {exc}", file=sys.stderr)
            return 2

    return run


def add_definition_options(p: argparse.ArgumentParser) -> None:
    """Where the definitions are and which environment and spec apply; unset: the ini settings."""
    p.add_argument("--cohorts", metavar="DIR", help="cohort files (default: ini mhhs_cohorts, else cohorts)")
    p.add_argument(
        "--environments", metavar="DIR", help="environment files (default: ini mhhs_environments, else environments)"
    )
    p.add_argument("--env", metavar="NAME", help="environment to check against (default: ini mhhs_env, else local)")
    p.add_argument("--ir", metavar="VERSION", help="interface spec version to validate against (e.g. IR8.2, 2.1.0)")
    p.add_argument("--dip-spec", metavar="PATH", help="validate messages against this official DIP spec instead")
    p.add_argument(
        "--requirements",
        metavar="PATH",
        help="requirements catalogue scenario requirement ids are checked against "
        "(default: ini mhhs_requirements, else test_data/requirements)",
    )


def project_of(args: argparse.Namespace) -> Project:
    """The project the working directory is in, the command's options over its ini settings."""
    overrides = {ini: _from_cwd(getattr(args, option, None)) for option, ini in INI_OF_OPTION.items()}
    project = Project.discover(
        overrides=overrides,
        env=getattr(args, "env", None),
        ir=getattr(args, "ir", None),
        dip_spec=getattr(args, "dip_spec", None),
    )
    problem = usage_error(option_values(args), project) or _marker_error(args, project)
    if problem:
        raise ConfigError(problem)  # one line, exit 2: before anything is read, stored or written
    return project


def _marker_error(args: argparse.Namespace, project: Project) -> str | None:
    """``-m`` of ``mhhs-sit run`` selects scenario cases: its names are their tags."""
    expression = getattr(args, "markers", None)
    tags = scenario_tags(scenario_places(project, getattr(args, "paths", None) or [])) if expression else None
    return marker_error(expression, None if tags is None else tags | PYTEST_MARKS)


def option_values(args: argparse.Namespace) -> OptionValues:
    """The option values a command was given, named as ``mhhs-sit`` spells them."""

    def listed(name: str) -> list[str]:
        value = getattr(args, name, None)
        return [value] if isinstance(value, str) else list(value or [])

    return OptionValues.of(
        CLI_FLAGS,
        stages=listed("stage"),
        themes=listed("theme"),
        cohorts=listed("cohort"),
        env=getattr(args, "env", None),
        ir=getattr(args, "ir", None),
        seed=getattr(args, "seed", None),
        store=getattr(args, "store", None),
        paths=getattr(args, "paths", None) or [],
    )


def _from_cwd(value: str | list[str] | None) -> str | list[str] | None:
    """A path given on the command line is relative to the working directory, not the root."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(Path.cwd().resolve() / v) for v in value]
    return str(Path.cwd().resolve() / value)


def shown(project: Project, path: Path) -> str:
    """``path`` as a tester reads it: relative to the project root when it is inside it."""
    return path.relative_to(project.root).as_posix() if path.is_relative_to(project.root) else str(path)


def readable_scenarios(project: Project, paths: Sequence[str] | None = None) -> list[Scenario]:
    """The scenarios under ``paths`` (default: the project's ini ``mhhs_scenarios``) that load;
    for listing commands, which leave reporting the others to validate."""
    from mhhs_sit.definitions.scenario_files import load_scenarios
    from mhhs_sit.execution.steps import STEP_KINDS

    chosen = [Path(p) for p in paths] if paths else project.scenario_dirs
    scenarios, _ = load_scenarios([p for p in chosen if p.exists()], STEP_KINDS, project.root)
    return scenarios
