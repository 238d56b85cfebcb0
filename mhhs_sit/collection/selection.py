"""Which collected cases run: ``--stage``, ``--theme``, ``--cohort`` and ``--rerun``.

Applied after collection, so a deselected case is still reported as deselected (and the store
and the RTTM still know it exists) rather than silently never collected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

import pytest

from mhhs_sit.definitions.model import Scenario, TestCase


class Case(Protocol):
    """What selection reads of a ``CaseItem`` (which imports the session, which holds a Selection)."""

    scenario: Scenario
    case: TestCase

    @property
    def cohort_id(self) -> str: ...


ONLY_WHEN_ASKED = frozenset({"qualification"})
"""Stages a run without ``--stage`` leaves out: a qualification scenario needs a participant's own
system under test (``mhhs-sit qualify`` runs it, or ``--stage qualification``)."""


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

    @classmethod
    def from_options(cls, config: pytest.Config) -> Selection:
        return cls(
            frozenset(split_csv(config.getoption("mhhs_stage"))),
            frozenset(split_csv(config.getoption("mhhs_theme"))),
            frozenset(split_csv(config.getoption("mhhs_cohort"))),
        )

    @property
    def is_rerun(self) -> bool:
        return self.rerun_latest is not None

    @property
    def selects_all(self) -> bool:
        return not (self.stages or self.themes or self.cohorts or self.is_rerun)

    def keeps(self, item: pytest.Item) -> bool:
        """Whether ``item`` runs; a re-run is of cases only."""
        if not getattr(item, "is_mhhs_case", False):
            return not self.is_rerun
        case = cast(Case, item)
        scenario = case.scenario
        return (
            (scenario.stage in self.stages if self.stages else scenario.stage not in ONLY_WHEN_ASKED)
            and (not self.themes or scenario.theme in self.themes)
            and (not self.cohorts or case.cohort_id in self.cohorts)
            and self._rerun_keeps(case)
        )

    def _rerun_keeps(self, item: Case) -> bool:
        if self.rerun_latest is None:
            return True
        return self.rerun_latest.get(f"{item.case.id}[{item.cohort_id}]", "not run") in self.rerun


def deselect(config: pytest.Config, selection: Selection, items: list[pytest.Item]) -> None:
    """Keep the items ``selection`` keeps; report the others as deselected."""
    keep = [item for item in items if selection.keeps(item)]
    if len(keep) != len(items):
        kept = set(map(id, keep))
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
        items[:] = keep
