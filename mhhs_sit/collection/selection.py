"""Which collected cases run: ``--stage``, ``--theme``, ``--cohort``, ``--rerun`` and the
environment's own ``selection:`` (a smoke set: tags, stages, cohorts per case).

Applied after collection, so a deselected case is still reported as deselected (and the store
and the RTTM still know it exists) rather than silently never collected.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol, cast

import pytest

from mhhs_sit.definitions.model import ONLY_WHEN_ASKED, RunSubset, Scenario, TestCase


class Case(Protocol):
    """What selection reads of a ``CaseItem`` (which imports the session, which holds a Selection)."""

    scenario: Scenario
    case: TestCase

    @property
    def cohort_id(self) -> str: ...


LEFT_OUT = pytest.StashKey[list[str]]()
"""Why items were left out of the run besides the options (a scenario's ``since:`` version)."""


def split_csv(values: list[str] | None) -> list[str]:
    """Repeatable, comma-separated option values as one list."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


@dataclass(frozen=True)
class Selection:
    stages: frozenset[str]
    themes: frozenset[str]
    cohorts: frozenset[str]
    rerun: frozenset[str] = frozenset()  # --rerun: the statuses to re-run
    rerun_latest: dict[str, str] | None = None  # --rerun: CASE[COHORT] -> latest status in the cycle
    subset: RunSubset = field(default_factory=RunSubset)  # the environment's selection:

    @classmethod
    def from_options(cls, config: pytest.Config, subset: RunSubset | None = None) -> Selection:
        return cls(
            frozenset(split_csv(config.getoption("mhhs_stage"))),
            frozenset(split_csv(config.getoption("mhhs_theme"))),
            frozenset(split_csv(config.getoption("mhhs_cohort"))),
            subset=subset or RunSubset(),
        )

    @property
    def is_rerun(self) -> bool:
        return self.rerun_latest is not None

    @property
    def selects_all(self) -> bool:
        return not (self.stages or self.themes or self.cohorts or self.is_rerun or self.subset != RunSubset())

    def keeps(self, item: pytest.Item) -> bool:
        """Whether ``item`` runs; a re-run is of cases only."""
        if not getattr(item, "is_mhhs_case", False):
            return not self.is_rerun
        case = cast(Case, item)
        scenario = case.scenario
        return (
            self._stage_keeps(scenario.stage)
            and (not self.subset.tags or bool(self.subset.tags & {*scenario.tags, *case.case.tags}))
            and (not self.themes or scenario.theme in self.themes)
            and (not self.cohorts or case.cohort_id in self.cohorts)
            and self._rerun_keeps(case)
        )

    def _stage_keeps(self, stage: str) -> bool:
        """--stage, else the environment's stages, else every stage but those run only when asked."""
        if self.stages:
            return stage in self.stages
        if self.subset.stages:
            return stage in self.subset.stages
        return stage not in ONLY_WHEN_ASKED

    def _rerun_keeps(self, item: Case) -> bool:
        if self.rerun_latest is None:
            return True
        from mhhs_sit.store.rerun import rerun_status

        return rerun_status(self.rerun_latest, f"{item.case.id}[{item.cohort_id}]", item.scenario.file) in self.rerun


def deselect(config: pytest.Config, selection: Selection, items: list[pytest.Item]) -> None:
    """Keep the items ``selection`` keeps; report the others as deselected."""
    too_new = Counter(str(getattr(item, "too_new", None)) for item in items if getattr(item, "too_new", None))
    keep = [item for item in items if selection.keeps(item) and not getattr(item, "too_new", None)]
    config.stash[LEFT_OUT] = [f"{count} case item(s) of scenarios marked {why}" for why, count in too_new.items()]
    if selection.subset.cohorts_per_case is not None:
        keep = spread_cohorts(keep, selection.subset.cohorts_per_case)
    if len(keep) != len(items):
        kept = set(map(id, keep))
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
        items[:] = keep


def spread_cohorts(items: list[pytest.Item], per_case: int) -> list[pytest.Item]:
    """Each case in at most ``per_case`` of its cohorts, choosing for each case (in collection
    order) the cohorts used least so far: a smoke set then touches as many cohorts as it can."""
    cohorts_of: dict[tuple[str, str], list[str]] = {}
    for item in items:
        if getattr(item, "is_mhhs_case", False):
            case = cast(Case, item)
            cohorts_of.setdefault((case.scenario.file, case.case.id), []).append(case.cohort_id)
    used: Counter[str] = Counter()
    chosen: dict[tuple[str, str], set[str]] = {}
    for key, cohorts in cohorts_of.items():
        picked = sorted(cohorts, key=lambda c: (used[c], c))[:per_case]
        used.update(picked)
        chosen[key] = set(picked)
    return [
        item
        for item in items
        if not getattr(item, "is_mhhs_case", False)
        or cast(Case, item).cohort_id in chosen[(cast(Case, item).scenario.file, cast(Case, item).case.id)]
    ]
