"""Per-process session state of the plugin: definitions, selection, stubs and the runtime.

Loaded lazily on the first scenario file, so a pytest run without scenarios (the framework's own
tests, say) never reads cohorts or environments.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.environments import load_environment
from mhhs_sit.definitions.loader import IdRegistry
from mhhs_sit.definitions.model import Cohort, Environment
from mhhs_sit.errors import DefinitionError, MhhsSitError, Problem
from mhhs_sit.execution.local_stubs import LocalStubs, start_stubs
from mhhs_sit.execution.runtime import Runtime


def split_csv(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


@dataclass
class Selection:
    stages: frozenset[str]
    themes: frozenset[str]
    cohorts: frozenset[str]


@dataclass
class SessionState:
    config: pytest.Config
    run_id: str
    seed: int
    selection: Selection
    _loaded: bool = False
    problems: list[Problem] = field(default_factory=list)
    reported: bool = False
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    environment: Environment | None = None
    ids: IdRegistry = field(default_factory=IdRegistry)
    stubs: LocalStubs | None = None
    stub_error: MhhsSitError | None = None
    version: str | None = None  # canonical catalogue version (e.g. 1.8.2 for IR8.2)
    secrets_: list[str] | None = None
    scrubber_: Any = None
    allure_dir: Path | None = None  # where case results go when --alluredir is given
    allure_writer: Any = None  # the evidence.allure_writer.ResultWriter writing them
    requirements: dict[str, Any] = field(default_factory=dict)  # the catalogue: id -> Requirement
    rerun: frozenset[str] = frozenset()  # --rerun: the statuses to re-run
    rerun_latest: dict[str, str] | None = None  # --rerun: CASE[COHORT] -> latest status in the cycle
    scenario_places: tuple[tuple[Path, ...], frozenset[Path]] | None = None
    dip_spec: str | None = None  # an official DIP spec to validate messages against instead
    runtime_: Runtime | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def create(cls, config: pytest.Config) -> SessionState:
        winput: Mapping[str, Any] = getattr(config, "workerinput", {})
        seed_opt = config.getoption("mhhs_seed")
        seed = int(winput.get("mhhs_seed", seed_opt if seed_opt is not None else secrets.randbelow(100)))
        run_id = str(winput.get("mhhs_run_id") or f"r{secrets.token_hex(4)}")
        selection = Selection(
            frozenset(split_csv(config.getoption("mhhs_stage"))),
            frozenset(split_csv(config.getoption("mhhs_theme"))),
            frozenset(split_csv(config.getoption("mhhs_cohort"))),
        )
        return cls(config, run_id, seed, selection)

    def secrets(self) -> list[str]:
        """Values never to be written to evidence (looked up once: the environment does not change)."""
        if self.secrets_ is None:
            from mhhs_sit.evidence.redact import secret_values

            issued = self.runtime_.issued_keys.values() if self.runtime_ is not None else ()
            self.secrets_ = secret_values(issued)
        return self.secrets_

    def scrubber(self) -> Any:
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

        listed = [str(f).lower() for f in self.config.getini("mhhs_personal_fields")]
        return frozenset(listed) if listed else DEFAULT_PERSONAL_FIELDS

    @property
    def cache_dir(self) -> Path | None:
        """Parsed scenario files kept between sessions; ``mhhs_cache =`` (empty) turns it off."""
        value = str(self.config.getini("mhhs_cache"))
        if not value:
            return None
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    @property
    def root(self) -> Path:
        return Path(self.config.rootpath)

    def _dir(self, ini: str) -> Path:
        value = Path(str(self.config.getini(ini)))
        return value if value.is_absolute() else self.root / value

    def load(self) -> None:
        """Cohorts and environment, once; problems are kept for the first scenario file to show."""
        if self._loaded:
            return
        self._loaded = True
        self.cohorts, problems = load_cohorts(self._dir("mhhs_cohorts"), self.root)
        env_name = self.config.getoption("mhhs_env") or str(self.config.getini("mhhs_env"))
        env, env_problems = load_environment(env_name, self._dir("mhhs_environments"), self.root)
        problems += env_problems
        if env is not None and self.config.getoption("mhhs_ir"):
            from dataclasses import replace

            env = replace(env, ir=str(self.config.getoption("mhhs_ir")))
        self.environment = env
        if env is not None:
            problems += self._resolve_version(env)
        problems += self._load_dip_spec()
        from mhhs_sit.definitions.requirements import load_requirements

        self.requirements, req_problems = load_requirements(self._dir("mhhs_requirements"), self.root)
        problems += req_problems
        unknown = sorted(self.selection.cohorts - set(self.cohorts))
        if unknown and self.cohorts:
            problems.append(
                Problem(
                    "--cohort",
                    0,
                    0,
                    "",
                    f"unknown cohort {', '.join(unknown)}; known: {', '.join(sorted(self.cohorts))}",
                )
            )
        self.problems = problems

    def _resolve_version(self, env: Environment) -> list[Problem]:
        """The catalogue version scenarios are checked against: --ir, else the environment's ir."""
        from mhhs_sit.catalogue import load_catalogue

        cat = load_catalogue()
        wanted = self.config.getoption("mhhs_ir") or env.ir
        try:
            self.version = cat.resolve_version(str(wanted)) if wanted else cat.default_version
        except MhhsSitError as exc:
            where = "--ir" if self.config.getoption("mhhs_ir") else env.location.file
            return [Problem(where, 0, 0, "" if where == "--ir" else "ir", str(exc))]
        return []

    def _load_dip_spec(self) -> list[Problem]:
        value = self.config.getoption("mhhs_dip_spec") or str(self.config.getini("mhhs_dip_spec") or "")
        if not value:
            return []
        path = Path(value) if Path(value).is_absolute() else Path.cwd() / value
        try:
            from mhhs_sit.catalogue.dipspec import load_dip_spec

            load_dip_spec(path)
        except MhhsSitError as exc:
            return [Problem("--dip-spec", 0, 0, "", str(exc))]
        self.dip_spec = str(path)
        return []

    def definition_error(self) -> DefinitionError | None:
        self.load()
        return DefinitionError(self.problems) if self.problems else None

    # -- running --------------------------------------------------------------------------

    def ensure_stubs(self) -> LocalStubs | None:
        """Start the local simulator if the environment wants one (controller or serial run only)."""
        self.load()
        env = self.environment
        if env is None or env.stubs == "none" or env.dip_url or self.stubs is not None:
            return self.stubs
        if self.stub_error is not None:  # failed once: say so for every case, don't retry
            raise self.stub_error
        try:
            self.stubs = start_stubs(env, self.cohorts, dip_spec=self.dip_spec, tls=env.tls)
        except MhhsSitError as exc:
            self.stub_error = exc
            raise
        return self.stubs

    def runtime(self) -> Runtime:
        if self.runtime_ is None:
            self.load()
            env = self.environment
            assert env is not None
            winput: Mapping[str, Any] = getattr(self.config, "workerinput", {})
            credentials: str | None = None
            if "mhhs_dip_url" in winput:
                url, keys = winput["mhhs_dip_url"], dict(winput.get("mhhs_api_keys") or {})
                credentials = winput.get("mhhs_credentials_dir")
            elif env.dip_url:
                url, keys = env.dip_url, {}
            else:
                stubs = self.ensure_stubs()
                assert stubs is not None
                url, keys, credentials = stubs.url, dict(stubs.api_keys), stubs.credentials_dir
            worker = str(winput.get("workerid", "gw0"))
            self.runtime_ = Runtime(
                environment=env,
                dip_url=url,
                cohorts=self.cohorts,
                run_id=self.run_id,
                seed=self.seed,
                # A replacement for a crashed worker (gw2 of 2) takes the dead worker's data slot.
                worker=(int(worker[2:]) if worker[2:].isdigit() else 0) % max(int(winput.get("workercount", 1)), 1),
                workers=int(winput.get("workercount", 1)),
                issued_keys=keys,
                version=self.version,
                dip_spec=self.dip_spec,
                credentials_dir=credentials,
            )
        return self.runtime_

    def close(self) -> None:
        if self.allure_writer is not None:
            self.allure_writer.close()
        if self.runtime_ is not None:
            self.runtime_.close()
            self.runtime_ = None
        if self.stubs is not None:
            self.stubs.stop()
            self.stubs = None
