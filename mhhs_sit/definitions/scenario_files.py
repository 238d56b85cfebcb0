"""Which files are scenarios, how they are named in messages, and ids unique across all of them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from mhhs_sit.core.yamlsrc import PathPart, format_path, load_yaml
from mhhs_sit.definitions.model import Location, Scenario
from mhhs_sit.definitions.scenario_cache import load_scenario_file
from mhhs_sit.definitions.steps import StepKind, StepRegistry
from mhhs_sit.errors import Problem

SCENARIO_SUFFIXES = (".yaml", ".yml")


def is_scenario_file(path: Path) -> bool:
    return path.suffix in SCENARIO_SUFFIXES


def is_scenario_file_id(nodeid: str) -> bool:
    """Whether a pytest node id names a scenario file itself (its collection, not a case in it)."""
    return nodeid.endswith(SCENARIO_SUFFIXES)


def scenario_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and is_scenario_file(f))
        elif p.exists():
            out.append(p)
    return out


def display_path(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


class IdRegistry:
    """Scenario and case ids seen so far, across files: a repeat is a problem where it repeats."""

    def __init__(self) -> None:
        self.scenarios: dict[str, Location] = {}
        self.cases: dict[str, Location] = {}

    def add(self, scenario: Scenario, source: Path | None = None) -> list[Problem]:
        problems: list[Problem] = []
        first = self.scenarios.setdefault(scenario.id, scenario.location)
        if first.file != scenario.file:
            problems.append(
                _at_key(scenario.file, source, ["scenario"], f"scenario id '{scenario.id}' is also defined at {first}")
            )
        for case in scenario.cases:
            first = self.cases.setdefault(case.id, case.location)
            if first.file != scenario.file:
                problems.append(
                    _at_key(
                        scenario.file,
                        source,
                        [*_parse_path(case.path), "id"],
                        f"case id '{case.id}' is also defined at {first}; case ids must be unique across all files",
                    )
                )
        return problems


def _parse_path(path: str) -> list[PathPart]:
    return [int(i) if i else k for k, i in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)]


def _at_key(display: str, source: Path | None, path: list[PathPart], message: str) -> Problem:
    """A problem at the exact key (the file is parsed again: this only happens on an error)."""
    if source is not None:
        return load_yaml(source, display=display).problem(path, message, key=True)
    return Problem(display, 0, 0, format_path(path), message)


def load_scenarios(
    paths: Iterable[Path],
    kinds: StepRegistry[StepKind],
    root: Path | None = None,
    *,
    version: str | None = None,
    dip_spec: str | None = None,
    cache_dir: Path | None = None,
    remember: bool = True,
) -> tuple[list[Scenario], list[Problem]]:
    """Every scenario under ``paths`` and every problem, ids checked across the files (kept in
    memory for the process's next read unless not ``remember``)."""
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    ids = IdRegistry()
    for f in scenario_files(paths):
        sc, pr = load_scenario_file(
            f, kinds, display_path(f, root), version=version, dip_spec=dip_spec, cache_dir=cache_dir, remember=remember
        )
        problems += pr
        if sc:
            scenarios.append(sc)
            problems += ids.add(sc, f)
    return scenarios, problems
