"""Per-process session state of the plugin: the project's definitions, selection, DIP and runtime.

Loaded lazily on the first scenario file, so a pytest run without scenarios (the framework's own
tests, say) never reads cohorts or environments.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mhhs_sit.collection import sharding
from mhhs_sit.collection.selection import Selection
from mhhs_sit.collection.simulator import DipEndpoint, SharedSimulator, controller_endpoint
from mhhs_sit.collection.workers import WorkerInput, simulator_input, worker_input, worker_slot
from mhhs_sit.definitions.model import Cohort, Environment, Scenario
from mhhs_sit.definitions.requirements import Requirement
from mhhs_sit.definitions.scenario_cache import load_scenario_file
from mhhs_sit.definitions.scenario_files import IdRegistry, scenario_files
from mhhs_sit.errors import DefinitionError, Problem
from mhhs_sit.execution.steps import STEP_KINDS
from mhhs_sit.project import Project

if TYPE_CHECKING:
    from mhhs_sit.evidence.redact import Scrubber
    from mhhs_sit.execution.local_stubs import LocalStubs
    from mhhs_sit.execution.runtime import Runtime


def project_of(config: pytest.Config) -> Project:
    """The project as pytest sees it: its root, its ini settings and the command line's choices."""
    return Project(
        Path(config.rootpath),
        config.getini,
        env=config.getoption("mhhs_env", None),
        ir=config.getoption("mhhs_ir", None),
        dip_spec=config.getoption("mhhs_dip_spec", None),
    )


@dataclass
class SessionState:
    config: pytest.Config
    project: Project
    run_id: str
    seed: int
    selection: Selection
    _loaded: bool = False
    problems: list[Problem] = field(default_factory=list)
    reported: bool = False
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    environment: Environment | None = None
    ids: IdRegistry = field(default_factory=IdRegistry)
    simulator: SharedSimulator = field(default_factory=SharedSimulator)
    version: str | None = None  # canonical catalogue version (e.g. 1.8.2 for IR8.2)
    secrets_: list[str] | None = None
    scrubber_: Scrubber | None = None
    requirements: dict[str, Requirement] = field(default_factory=dict)  # the catalogue: id -> Requirement
    scenario_places: tuple[tuple[Path, ...], frozenset[Path]] | None = None
    dip_spec: str | None = None  # an official DIP spec to validate messages against instead
    runtime_: Runtime | None = None

    @classmethod
    def create(cls, config: pytest.Config) -> SessionState:
        winput: WorkerInput = worker_input(config) or {}
        seed_opt = config.getoption("mhhs_seed")
        seed = int(winput.get("mhhs_seed", seed_opt if seed_opt is not None else secrets.randbelow(100)))
        run_id = str(winput.get("mhhs_run_id") or f"r{secrets.token_hex(4)}")
        project = project_of(config)
        environment = project.environment[0]
        subset = environment.subset if environment is not None else None
        return cls(config, project, run_id, seed, Selection.from_options(config, subset))

    @property
    def stubs(self) -> LocalStubs | None:
        return self.simulator.stubs

    def secrets(self) -> list[str]:
        """Values never to be written to evidence (looked up once: the environment does not change)."""
        if self.secrets_ is None:
            from mhhs_sit.evidence.redact import secret_values

            issued = self.runtime_.issued_keys.values() if self.runtime_ is not None else ()
            self.secrets_ = secret_values(issued)
        return self.secrets_

    def scrubber(self) -> Scrubber:
        """The ``evidence.redact.Scrubber`` of ``secrets``, made once."""
        if self.scrubber_ is None:
            from mhhs_sit.evidence.redact import Scrubber

            self.scrubber_ = Scrubber(self.secrets())
        return self.scrubber_

    @property
    def personal_fields(self) -> frozenset[str] | None:
        """Fields masked in evidence when --mhhs-redact-personal is given (else None: keep them)."""
        if not self.config.getoption("mhhs_redact_personal"):
            return None
        from mhhs_sit.evidence.redact import DEFAULT_PERSONAL_FIELDS

        listed = [str(f).lower() for f in self.project.setting("mhhs_personal_fields")]
        return frozenset(listed) if listed else DEFAULT_PERSONAL_FIELDS

    @property
    def cache_dir(self) -> Path | None:
        return self.project.cache_dir

    @property
    def root(self) -> Path:
        return self.project.root

    def load(self) -> None:
        """Cohorts and environment, once; problems are kept for the first scenario file to show."""
        if self._loaded:
            return
        self._loaded = True
        project = self.project
        self.cohorts = project.cohorts[0]
        self.environment = project.environment[0]
        self.version = project.version[0] if self.environment is not None else None
        self.dip_spec = project.dip_spec[0]
        self.requirements = project.requirements[0]
        self.problems = self._definition_problems() + self._unknown_cohorts()

    def _definition_problems(self) -> list[Problem]:
        project = self.project
        found = project.cohorts[1] + project.environment[1]
        if self.environment is not None:
            found += project.version[1]
        return found + project.dip_spec[1] + project.requirements[1]

    def _unknown_cohorts(self) -> list[Problem]:
        unknown = sorted(self.selection.cohorts - set(self.cohorts))
        if not (unknown and self.cohorts):
            return []
        known = ", ".join(sorted(self.cohorts))
        return [Problem("--cohort", 0, 0, "", f"unknown cohort {', '.join(unknown)}; known: {known}")]

    def definition_error(self) -> DefinitionError | None:
        self.load()
        return DefinitionError(self.problems) if self.problems else None

    def load_scenario(self, path: Path) -> tuple[Scenario | None, list[Problem]]:
        """The scenario file as the collection reads it: checked once per change, then cached."""
        self.load()
        display = path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)
        return load_scenario_file(
            path, STEP_KINDS, display, cache_dir=self.cache_dir, version=self.version, dip_spec=self.dip_spec
        )

    def scenario_at(self, path: Path) -> Scenario | None:
        """The scenario in ``path``, or None when it has problems (the collection reports them)."""
        return self.load_scenario(path)[0]

    def is_scenario(self, path: Path) -> bool:
        """Whether ``path`` is under a scenario directory (mhhs_scenarios) or named on the command line."""
        if self.scenario_places is None:
            args = [Path(a.split("::")[0]) for a in self.config.args]
            named = frozenset([*(a.absolute() for a in args), *(a.resolve() for a in args)])
            dirs = self.project.scenario_dirs
            self.scenario_places = (tuple(dict.fromkeys([*dirs, *(d.resolve() for d in dirs)])), named)
        roots, named = self.scenario_places
        if path in named or any(path.is_relative_to(root) for root in roots):
            return True  # as pytest spells it: no resolving (a syscall per part of the path) per file
        resolved = path.resolve()
        return resolved in named or any(resolved.is_relative_to(root) for root in roots)

    def files_to_collect(self) -> Iterator[Path]:
        """The scenario files the command line's paths will collect, as far as the controller can
        tell without collecting (pytest's ignore options are not applied: reading one too many is harmless)."""
        here = Path(self.config.invocation_params.dir)
        for arg in self.config.args or [str(self.config.rootpath)]:
            place = (here / arg.split("::")[0]).resolve()
            if place.is_file():
                yield place
                continue
            # a directory: the scenario directories in or around it, never the rest of the tree
            roots = [d for d in self.project.scenario_dirs if d.resolve().is_relative_to(place)]
            roots += [place] if any(place.is_relative_to(d.resolve()) for d in self.project.scenario_dirs) else []
            yield from (f for f in scenario_files(r for r in roots if r.is_dir()) if self.is_scenario(f))

    def has_scenarios(self) -> bool:
        return any(d.is_dir() for d in self.project.scenario_dirs)

    # -- running --------------------------------------------------------------------------

    def ensure_stubs(self) -> LocalStubs | None:
        """Start the local simulator if the environment wants one (controller or serial run only)."""
        self.load()
        return self.simulator.ensure(self.environment, self.cohorts, self.dip_spec)

    def worker_input(self) -> WorkerInput:
        """What the controller hands a worker: the run's identity, the re-run and the one simulator."""
        handed: WorkerInput = {"mhhs_run_id": self.run_id, "mhhs_seed": self.seed}
        if self.selection.rerun_latest is not None:
            handed["mhhs_rerun_latest"] = self.selection.rerun_latest
        if not self.has_scenarios():
            return handed
        try:
            handed.update(simulator_input(self.ensure_stubs()))
        except Exception as exc:  # each worker reports its cases broken with this reason
            handed["mhhs_stub_error"] = str(exc)
        return handed

    def endpoint(self) -> DipEndpoint:
        """The DIP cases talk to: the controller's simulator, the environment's DIP, or our own simulator."""
        winput = worker_input(self.config)
        handed = controller_endpoint(winput) if winput is not None else None
        if handed is not None:
            return handed
        env = self.environment
        if env is not None and env.dip_url:
            return DipEndpoint(env.dip_url)
        stubs = self.ensure_stubs()
        assert stubs is not None
        return DipEndpoint(stubs.url, dict(stubs.api_keys), stubs.credentials_dir)

    def runtime(self) -> Runtime:
        if self.runtime_ is None:
            self.load()
            env = self.environment
            assert env is not None
            endpoint = self.endpoint()
            worker, workers = worker_slot(worker_input(self.config) or {})
            shard = sharding.requested(self.config)
            if shard is not None:  # every process of every shard draws from a slice of its own
                worker, workers = shard.slot(worker, workers)
            from mhhs_sit.execution.runtime import Runtime

            self.runtime_ = Runtime(
                environment=env,
                dip_url=endpoint.url,
                cohorts=self.cohorts,
                run_id=self.run_id,
                seed=self.seed,
                worker=worker,
                workers=workers,
                issued_keys=endpoint.api_keys,
                version=self.version,
                dip_spec=self.dip_spec,
                credentials_dir=endpoint.credentials_dir,
            )
        return self.runtime_

    def close(self) -> None:
        if self.runtime_ is not None:
            self.runtime_.close()
            self.runtime_ = None
        self.simulator.stop()


STATE_KEY = pytest.StashKey[SessionState]()


def state_of(config: pytest.Config) -> SessionState:
    """The session's state, which the plugin keeps in the config's stash."""
    return config.stash[STATE_KEY]
