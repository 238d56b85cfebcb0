"""Option values checked once, before anything is collected, stored or written.

``--theme 7`` used to end in "19 deselected", ``--mhhs-seed 200`` in every case broken and
``--cohort C9`` in a collection error of every file; each is a usage error instead: one line naming
the option as the command spells it, with a did-you-mean. pytest (``plugin.py``'s configure) and
every ``mhhs-sit`` command read the same ``OptionValues`` through ``usage_error``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mhhs_sit.collection.selection import split_csv
from mhhs_sit.definitions.environments import find_environment
from mhhs_sit.definitions.model import STAGES
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.errors import ConfigError
from mhhs_sit.project import Project

PYTEST_FLAGS: Mapping[str, str] = {
    "stage": "--stage",
    "theme": "--theme",
    "cohort": "--cohort",
    "env": "--mhhs-env",
    "ir": "--ir",
    "seed": "--mhhs-seed",
    "store": "--mhhs-store",
    "markers": "-m",
}
"""Each option's concept -> how pytest spells it (``mhhs-sit`` commands pass their own)."""

_STORE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "sqlite")


@dataclass(frozen=True)
class OptionValues:
    """What a command line asked for, unset as None or empty; ``flags`` names each option."""

    stages: Sequence[str] = ()
    themes: Sequence[str] = ()
    cohorts: Sequence[str] = ()
    env: str | None = None
    ir: str | None = None
    seed: int | None = None
    store: str | None = None
    flags: Mapping[str, str] = field(default_factory=lambda: PYTEST_FLAGS)
    paths: Sequence[str] = ()  # scenario files or folders named on the command line, beside the ini's

    @classmethod
    def of(
        cls,
        flags: Mapping[str, str] = PYTEST_FLAGS,
        *,
        stages: list[str] | None = None,
        themes: list[str] | None = None,
        cohorts: list[str] | None = None,
        env: str | None = None,
        ir: str | None = None,
        seed: int | None = None,
        store: str | None = None,
        paths: Sequence[str] = (),
    ) -> OptionValues:
        """From repeatable, comma-separated lists and single values (as argparse leaves them)."""
        return cls(
            split_csv(stages),
            split_csv(themes),
            split_csv(cohorts),
            env,
            ir,
            seed,
            store,
            {**PYTEST_FLAGS, **flags},
            tuple(paths),
        )


def usage_error(values: OptionValues, project: Project) -> str | None:
    """The first option value that cannot be right, as one line (None when all may be)."""
    checks: tuple[Callable[[OptionValues, Project], str | None], ...] = (
        _env,
        _ir,
        _seed,
        _store,
        _stages,
        _cohorts,
        _themes,
    )
    for check in checks:
        found = check(values, project)
        if found:
            return found
    return None


def _env(values: OptionValues, project: Project) -> str | None:
    name = values.env
    directory = project.path("mhhs_environments")
    if name is None or find_environment(name, directory) is not None:
        return None
    known = sorted(p.stem for p in directory.glob("*.y*ml"))
    where = directory.relative_to(project.root).as_posix() if directory.is_relative_to(project.root) else directory
    return (
        f"{values.flags['env']}: unknown environment {name!r}{suggest(name, known)}; "
        f"environments in {where}: {', '.join(known) or 'none'} (or a path to a YAML file)"
    )


def _ir(values: OptionValues, project: Project) -> str | None:
    if values.ir is None:
        return None
    from mhhs_sit.catalogue import load_catalogue

    catalogue = load_catalogue()
    try:
        catalogue.resolve_version(values.ir)
    except ConfigError:
        names = [n for v in catalogue.versions for n in (v, *catalogue.version(v).aliases)]
        labels = ", ".join(catalogue.version(v).label for v in catalogue.versions)
        hint = suggest(values.ir, names)
        return f"{values.flags['ir']}: unknown catalogue version {values.ir!r}{hint}; known versions: {labels}"
    return None


def _seed(values: OptionValues, project: Project) -> str | None:
    if values.seed is None:
        return None
    from mhhs_sit.data.partition import check_seed

    try:
        check_seed(values.seed)
    except ConfigError as exc:
        return f"{values.flags['seed']}: {exc}"
    return None


def _store(values: OptionValues, project: Project) -> str | None:
    spec = (values.store or "").strip()
    if "://" not in spec:
        return None  # 'none' or a SQLite file path
    scheme = spec.split("://", 1)[0].lower()
    if scheme in _STORE_SCHEMES:
        return None
    return (
        f"{values.flags['store']}: unknown database {scheme!r} in {spec.split('://', 1)[0]}://…"
        f"{suggest(scheme, _STORE_SCHEMES)}; use a SQLite file path, postgresql://USER@HOST/DB or 'none'"
    )


def _stages(values: OptionValues, project: Project) -> str | None:
    for stage in values.stages:
        if stage not in STAGES:
            return (
                f"{values.flags['stage']}: unknown stage {stage!r}{suggest(stage, STAGES)}; stages: {', '.join(STAGES)}"
            )
    return None


def _cohorts(values: OptionValues, project: Project) -> str | None:
    cohorts, problems = project.cohorts
    if problems:
        return None  # the cohort files are wrong: collection and validate say where
    for cohort in values.cohorts:
        if cohort not in cohorts:
            return (
                f"{values.flags['cohort']}: unknown cohort {cohort!r}{suggest(cohort, cohorts)}; "
                f"cohorts are {', '.join(sorted(cohorts)) or 'none'}"
            )
    return None


def _themes(values: OptionValues, project: Project) -> str | None:
    if not values.themes:
        return None
    known = _known_themes(scenario_places(project, values.paths))
    if known is None:
        return None
    for theme in values.themes:
        if theme not in known:
            hint = suggest(theme, known) or (" (themes are numbers)" if not theme.isdigit() else "")
            return f"{values.flags['theme']}: no scenario has theme {theme!r}{hint}; themes: {', '.join(sorted(known))}"
    return None


_THEME_LINE = re.compile(r"^theme:[ \t]*['\"]?([^'\"#\s]+)", re.M)


def scenario_places(project: Project, paths: Sequence[str] = ()) -> list[Path]:
    """The ini's scenario folders and the files a command line names (``a.yaml::id`` too): a named
    folder is collected only where it holds the ini's scenario folders, as the plugin collects."""
    named = [Path(p.split("::", 1)[0]) for p in paths]
    return [*project.scenario_dirs, *(p for p in named if p.is_file())]


def _known_themes(places: Sequence[Path]) -> set[str] | None:
    """The themes the project's scenario files name (read as text: nothing is collected yet);
    None when a file names none, since it cannot be read and may hold the theme asked for."""
    from mhhs_sit.definitions.scenario_files import scenario_files

    known: set[str] = set()
    for path in scenario_files(places):
        found = _THEME_LINE.search(path.read_text(encoding="utf-8", errors="replace"))
        if found is None:
            return None
        known.add(found.group(1))
    return known


_TAGS_LINE = re.compile(r"^[ \t]*tags:[ \t]*(.*)$", re.M)
_MARK_ARGS = re.compile(r"(?<=[\w])\([^()]*\)")  # mark(kw=1): the arguments are no marker names
_WORD = re.compile(r"[A-Za-z_][\w.\-]*")
_KEYWORDS = frozenset({"and", "or", "not", "True", "False", "None"})
PYTEST_MARKS = frozenset({"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "mhhs"})


def marker_error(expression: str | None, known: set[str] | None, flag: str = "-m") -> str | None:
    """A marker name in ``expression`` that nothing has (a typo selects nothing, silently)."""
    if not expression or known is None:
        return None
    for word in _WORD.findall(_MARK_ARGS.sub("", expression)):
        if word not in _KEYWORDS and word not in known:
            return (
                f"{flag}: no scenario tag or marker {word!r}{suggest(word, known)}; "
                f"tags and markers: {', '.join(sorted(known))}"
            )
    return None


def scenario_tags(places: Sequence[Path]) -> set[str] | None:
    """The tags the project's scenario files give (read as text); None when one is not a flow list."""
    from mhhs_sit.definitions.scenario_files import scenario_files

    tags: set[str] = set()
    for path in scenario_files(places):
        for listed in _TAGS_LINE.findall(path.read_text(encoding="utf-8", errors="replace")):
            value = listed.split("#", 1)[0].strip()
            if not (value.startswith("[") and value.endswith("]")):
                return None
            tags.update(t.strip().strip("'\"") for t in value[1:-1].split(",") if t.strip())
    return tags
