"""The plugin's command-line options and ini settings, declared as one table each.

One table, so ``--help``, the defaults and the ini settings the commands share
(``mhhs_sit.project.INI_SETTINGS``) cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mhhs_sit.collection.usage import OptionValues, marker_error, scenario_places, scenario_tags, usage_error
from mhhs_sit.project import INI_SETTINGS, Project
from mhhs_sit.store import DEFAULT_STORE
from mhhs_sit.store import ENV_VAR as STORE_ENV_VAR


@dataclass(frozen=True)
class Option:
    """One ``--flag``: its destination, help, metavar, and ``append``/``store_true``/int-ness."""

    flag: str
    dest: str
    help: str
    metavar: str | None = None
    action: str | None = None
    type: type[int] | type[float] | None = None

    def add_to(self, group: pytest.OptionGroup) -> None:
        kwargs: dict[str, object] = {"dest": self.dest, "help": self.help}
        for name in ("metavar", "action", "type"):
            if getattr(self, name) is not None:
                kwargs[name] = getattr(self, name)
        group.addoption(self.flag, **kwargs)


OPTIONS = (
    Option(
        "--mhhs-shard",
        "mhhs_shard",
        "run the K-th of N disjoint parts of the cycle (K/N, e.g. 2/4; needs --cycle): N machines "
        "that collect the same scenarios run the whole between them, into one store",
        "K/N",
    ),
    Option(
        "--mhhs-progress",
        "mhhs_progress",
        "a progress line (done, in flight, to go, rate, ETA) every SECONDS; 0: none "
        "[default: every 30 s in runs of 200 cases or more]",
        "SECONDS",
        type=float,
    ),
    Option(
        "--mhhs-concurrency",
        "mhhs_concurrency",
        "cases in flight at once in this process: their waits overlap, their reports keep collection "
        "order (with -n, in each worker; a case with a fault step runs alone) [default 1]",
        "N",
        type=int,
    ),
    Option(
        "--mhhs-env",
        "mhhs_env",
        "environment to run against: a name in environments/ (local, sit-a, sit-b) "
        "or a path to a YAML file [ini: mhhs_env, default local]",
        "NAME",
    ),
    Option(
        "--stage",
        "mhhs_stage",
        "run only scenarios of these stages, e.g. sit-functional (repeatable, comma-separated)",
        "STAGE",
        "append",
    ),
    Option(
        "--theme", "mhhs_theme", "run only scenarios of these themes, e.g. 1 or 1,3 (repeatable)", "THEME", "append"
    ),
    Option(
        "--cohort",
        "mhhs_cohort",
        "run only for these cohorts, e.g. C1 (repeatable, comma-separated)",
        "COHORT",
        "append",
    ),
    Option(
        "--ir",
        "mhhs_ir",
        "interface spec version (interim release such as IR8.2, or DIP spec version "
        "such as 2.1.0); overrides the environment's ir:",
        "VERSION",
    ),
    Option(
        "--dip-spec",
        "mhhs_dip_spec",
        "validate messages against an official DIP OpenAPI spec (the directory of Elexon's "
        "unresolved YAML files) instead of the project's catalogue [ini: mhhs_dip_spec]",
        "PATH",
    ),
    Option(
        "--mhhs-redact-personal",
        "mhhs_redact_personal",
        "mask personal-data fields (addresses, postcodes, meter serials; ini: mhhs_personal_fields) "
        "in evidence, for evidence that leaves the team",
        action="store_true",
    ),
    Option(
        "--mhhs-seed",
        "mhhs_seed",
        "seed for synthetic test data (default: random, printed in the header)",
        "N",
        type=int,
    ),
    Option(
        "--mhhs-results",
        "mhhs_results",
        "write a JSON summary of every case (status, steps, exchanges) to FILE",
        "FILE",
    ),
    Option(
        "--cycle",
        "mhhs_cycle",
        "the test cycle this run belongs to (e.g. C2); the store and the RTTM combine its runs",
        "NAME",
    ),
    Option("--sprint", "mhhs_sprint", "the sprint label of this run (e.g. 4)", "NAME"),
    Option(
        "--rerun",
        "mhhs_rerun",
        "run only the cases whose latest status in --cycle is one of: failed, broken, definition-error, not-run, "
        "skipped "
        "(repeatable, comma-separated); a case the cycle never ran counts as not-run",
        "STATUS",
        "append",
    ),
    Option(
        "--mhhs-store",
        "mhhs_store",
        "results store: a SQLite file or a postgresql:// URL ('none': no store) "
        f"[env {STORE_ENV_VAR}, ini: mhhs_store, default {DEFAULT_STORE}]",
        "PATH|URL",
    ),
)


def add_options(parser: pytest.Parser) -> None:
    """Every option in the ``mhhs-sit`` group and every ``mhhs_*`` ini setting."""
    group = parser.getgroup("mhhs-sit", "MHHS SIT scenarios")
    for option in OPTIONS:
        option.add_to(group)
    for setting in INI_SETTINGS:
        parser.addini(setting.name, setting.help, type=setting.type, default=setting.default)


def check_values(config: pytest.Config, project: Project) -> None:
    """Refuse option values that cannot be right before anything is collected or stored (the
    controller checks; xdist workers are handed what it accepted)."""
    if hasattr(config, "workerinput"):
        return
    values = OptionValues.of(
        stages=config.getoption("mhhs_stage"),
        themes=config.getoption("mhhs_theme"),
        cohorts=config.getoption("mhhs_cohort"),
        env=config.getoption("mhhs_env"),
        ir=config.getoption("mhhs_ir"),
        seed=config.getoption("mhhs_seed"),
        store=config.getoption("mhhs_store"),
        paths=[str(a) for a in config.args],
    )
    problem = usage_error(values, project)
    if problem:
        raise pytest.UsageError(problem)


def check_markers(config: pytest.Config, project: Project) -> None:
    """``-m`` names only tags and registered markers (checked once every plugin has registered its own)."""
    if hasattr(config, "workerinput") or not config.option.markexpr:  # no -m: no file to read for its tags
        return
    tags = scenario_tags(scenario_places(project, [str(a) for a in config.args]))
    registered = {str(line).split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    problem = marker_error(config.option.markexpr, None if tags is None else tags | registered)
    if problem:
        raise pytest.UsageError(problem)
