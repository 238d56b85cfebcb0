"""The project's definitions, found and loaded one way for the plugin and every command.

pytest and ``mhhs-sit validate`` once read the project from four places and disagreed: the
commands ignored the ``mhhs_*`` ini settings and hard-coded ``cohorts/``, ``environments/``…
A :class:`Project` is to the definitions what pytest's ``Config`` is to options: its root and
ini settings (read from the files pytest reads, in pytest's order, or taken from pytest's own
``Config``), and the cohorts, environment, interface version, DIP spec, requirements and
simulator rules, each loaded once, on first use, with the problems found.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import iniconfig

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.environments import load_environment
from mhhs_sit.definitions.model import Cohort, Environment
from mhhs_sit.definitions.requirements import Requirement
from mhhs_sit.definitions.scenario_cache import DEFAULT_CACHE_DIR
from mhhs_sit.definitions.themes import ThemeTitles
from mhhs_sit.errors import DefinitionError, MhhsSitError, Problem
from mhhs_sit.store import DEFAULT_STORE
from mhhs_sit.store import ENV_VAR as STORE_ENV_VAR

if TYPE_CHECKING:
    from mhhs_stubs.rule_files import Rule

IniValue = str | list[str]


@dataclass(frozen=True)
class IniSetting:
    """One ``mhhs_*`` ini setting, as pytest's ``parser.addini`` takes it."""

    name: str
    help: str
    default: IniValue
    type: Literal["string", "args"] = "string"


INI_SETTINGS = (
    IniSetting("mhhs_env", "default environment name", "local"),
    IniSetting("mhhs_store", "results store: SQLite file or postgresql:// URL ('none')", DEFAULT_STORE),
    IniSetting("mhhs_dip_spec", "official DIP spec to validate messages against", ""),
    IniSetting("mhhs_personal_fields", "field names masked by --mhhs-redact-personal", [], "args"),
    IniSetting("mhhs_cohorts", "directory of cohort files", "cohorts"),
    IniSetting("mhhs_requirements", "requirements catalogue (directory or file)", "test_data/requirements"),
    IniSetting("mhhs_environments", "directory of environment files", "environments"),
    IniSetting("mhhs_cache", "directory for parsed scenario files (empty: no disk cache)", DEFAULT_CACHE_DIR),
    IniSetting("mhhs_themes", "theme titles per stage, for the generated stage pages", "test_data/themes.yaml"),
    IniSetting("mhhs_scenarios", "directories whose YAML files are scenarios", ["test_themes"], "args"),
)
_BY_NAME = {s.name: s for s in INI_SETTINGS}

# The files pytest reads its ini settings from, in its order, with the section each must hold
# (None: the file counts even without one, as pytest.ini does).
_INI_FILES: tuple[tuple[str, str | None], ...] = (
    ("pytest.ini", None),
    (".pytest.ini", None),
    ("pyproject.toml", "tool.pytest.ini_options"),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)


def find_ini(start: Path) -> tuple[Path, Mapping[str, object]]:
    """The project root (the first directory up from ``start`` with an ini file pytest reads) and
    that file's settings; ``start`` itself and no settings when there is none."""
    start = start.resolve()
    for directory in (start, *start.parents):
        for name, section in _INI_FILES:
            settings = _read_ini(directory / name, section)
            if settings is not None:
                return directory, settings
    return start, {}


def _read_ini(path: Path, section: str | None) -> Mapping[str, object] | None:
    if not path.is_file():
        return None
    try:
        if path.suffix == ".toml":
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("pytest", {})
            options = table.get("ini_options") if isinstance(table, dict) else None
            return options if isinstance(options, dict) else None
        ini = iniconfig.IniConfig(str(path))
    except (OSError, tomllib.TOMLDecodeError, iniconfig.ParseError) as exc:
        raise MhhsSitError(f"{path}: cannot read the project's settings: {exc}") from None
    name = section or "pytest"
    if name in ini:
        return {key: value for key, value in ini[name].items()}
    return {} if section is None else None


def _as_setting(setting: IniSetting, raw: object) -> IniValue:
    """A value from a file as pytest's ``getini`` gives it: ``args`` split like a shell line."""
    if setting.type == "args":
        return [str(v) for v in raw] if isinstance(raw, list) else shlex.split(str(raw))
    return str(raw)


class Project:
    """The project's root, ini settings and definitions; each definition loaded once."""

    def __init__(
        self,
        root: Path,
        ini: Callable[[str], object],
        *,
        env: str | None = None,
        ir: str | None = None,
        dip_spec: str | None = None,
    ) -> None:
        self.root = root
        self._ini = ini
        self.env_name = env or str(self.setting("mhhs_env")) or "local"
        self.ir = ir  # a command line's --ir, which overrides the environment's ir:
        self._dip_spec_option = dip_spec

    @classmethod
    def discover(
        cls,
        start: Path | None = None,
        overrides: Mapping[str, IniValue | None] | None = None,
        *,
        env: str | None = None,
        ir: str | None = None,
        dip_spec: str | None = None,
    ) -> Project:
        """The project ``start`` (default: the working directory) is in, as pytest would find it;
        ``overrides`` are a command's options for ini settings (None: not given)."""
        root, found = find_ini(start or Path.cwd())
        given = {name: value for name, value in (overrides or {}).items() if value is not None}

        def ini(name: str) -> object:
            setting = _BY_NAME[name]
            if name in given:
                value = given[name]
                return [value] if setting.type == "args" and isinstance(value, str) else value
            return _as_setting(setting, found[name]) if name in found else setting.default

        return cls(root, ini, env=env, ir=ir, dip_spec=dip_spec)

    def for_environment(self, name: str) -> Project:
        """The same project and settings with another environment (a run's, say)."""
        return Project(self.root, self._ini, env=name, ir=self.ir, dip_spec=self._dip_spec_option)

    # -- settings -----------------------------------------------------------------------------

    def setting(self, name: str) -> IniValue:
        value = self._ini(name)
        return [str(v) for v in value] if isinstance(value, list) else str(value)

    def path(self, name: str) -> Path:
        """An ini setting naming a file or directory, relative to the root unless absolute."""
        value = Path(str(self.setting(name)))
        return value if value.is_absolute() else self.root / value

    @property
    def scenario_dirs(self) -> list[Path]:
        return [(self.root / d).resolve() for d in self.setting("mhhs_scenarios")]

    @property
    def cache_dir(self) -> Path | None:
        """Parsed scenario files kept between sessions; ``mhhs_cache =`` (empty) turns it off."""
        return self.path("mhhs_cache") if self.setting("mhhs_cache") else None

    def store_spec(self, option: str | None = None) -> str | None:
        """Where the results store is (option, environment variable, ini); None when switched off."""
        spec = option or os.environ.get(STORE_ENV_VAR) or str(self.setting("mhhs_store"))
        spec = (spec or DEFAULT_STORE).strip()
        return None if spec.lower() in ("none", "off", "") else spec

    # -- definitions, each loaded once ------------------------------------------------------------

    @cached_property
    def cohorts(self) -> tuple[dict[str, Cohort], list[Problem]]:
        return load_cohorts(self.path("mhhs_cohorts"), self.root)

    @cached_property
    def environment(self) -> tuple[Environment | None, list[Problem]]:
        env, problems = load_environment(self.env_name, self.path("mhhs_environments"), self.root)
        if env is not None and self.ir:
            env = dataclasses.replace(env, ir=self.ir)
        return env, problems

    @cached_property
    def version(self) -> tuple[str | None, list[Problem]]:
        """The catalogue version scenarios are checked against: --ir, else the environment's ir."""
        from mhhs_sit.catalogue.versions import shipped_versions

        env, _ = self.environment
        table = shipped_versions()
        wanted = self.ir or (env.ir if env is not None else None)
        try:
            return (table.resolve(wanted) if wanted else table.default), []
        except MhhsSitError as exc:
            where = "--ir" if self.ir or env is None else env.location.file
            return None, [Problem(where, 0, 0, "" if where == "--ir" else "ir", str(exc))]

    @cached_property
    def dip_spec(self) -> tuple[str | None, list[Problem]]:
        """An official DIP spec to validate messages against (--dip-spec, else mhhs_dip_spec)."""
        option, ini = self._dip_spec_option, str(self.setting("mhhs_dip_spec"))
        if not (option or ini):
            return None, []
        path = Path(option) if option else self.path("mhhs_dip_spec")
        path = path if path.is_absolute() else Path.cwd() / path
        from mhhs_sit.catalogue.dipspec import load_dip_spec

        try:
            load_dip_spec(path)
        except MhhsSitError as exc:
            return None, [Problem("--dip-spec", 0, 0, "", str(exc))]
        return str(path), []

    @cached_property
    def requirements(self) -> tuple[dict[str, Requirement], list[Problem]]:
        from mhhs_sit.definitions.requirements import load_requirements

        return load_requirements(self.path("mhhs_requirements"), self.root)

    @cached_property
    def themes(self) -> tuple[ThemeTitles, list[Problem]]:
        from mhhs_sit.definitions.themes import load_themes

        return load_themes(self.path("mhhs_themes"), self.root)

    @cached_property
    def simulator_rules(self) -> tuple[Mapping[str, Sequence[Rule]] | None, list[Problem]]:
        """The participant simulators' rules a local environment runs (stubs/rules, or the
        environment's ``rules:``), by role; None and the problems when the files are wrong."""
        env, _ = self.environment
        return load_simulator_rules(Path(env.rules_dir) if env is not None and env.rules_dir else None)

    @property
    def simulator_rule_problems(self) -> list[Problem]:
        return self.simulator_rules[1]

    def problems(self) -> list[Problem]:
        """Every problem of the cohorts, environment, version, DIP spec and requirements."""
        loaded = (self.cohorts, self.environment, self.version, self.dip_spec, self.requirements)
        return [problem for _, problems in loaded for problem in problems] + self.themes[1]


def load_simulator_rules(directory: Path | None = None) -> tuple[Mapping[str, Sequence[Rule]] | None, list[Problem]]:
    """The simulator's rules by role (default: the shipped ones), or None and their problems (file:line)."""
    from mhhs_stubs.rule_files import RULES_DIR, load_rules

    try:
        return load_rules(directory or RULES_DIR), []
    except DefinitionError as exc:
        return None, list(exc.problems)


def simulator_rule_problems(directory: Path | None = None) -> list[Problem]:
    """Problems in the simulator's rule files (default: the shipped ones), with file:line."""
    return load_simulator_rules(directory)[1]
