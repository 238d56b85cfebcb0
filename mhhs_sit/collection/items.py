"""pytest collectors: one scenario file -> one item per test case and eligible cohort."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mhhs_sit.collection.session import SessionState, state_of
from mhhs_sit.definitions.cohorts import unobservable_problems
from mhhs_sit.definitions.model import Cohort, Scenario, TestCase
from mhhs_sit.errors import DefinitionError, MhhsSitError, Problem
from mhhs_sit.results.model import CaseKey, Json
from mhhs_sit.results.outcome import classify
from mhhs_sit.results.run import CASE_META

if TYPE_CHECKING:
    from mhhs_sit.collection.started_case import StartedCase
    from mhhs_sit.execution.case import CaseRecord

NO_COHORT = "no-eligible-cohort"


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        scenario = self._scenario()
        state = state_of(self.config)
        local = state.environment is not None and state.environment.is_local
        too_new = _too_new(scenario, state.version, state.dip_spec)
        for case in scenario.cases:
            for item in self._case_items(scenario, case, state.cohorts, local=local):
                item.too_new = too_new  # left out of this run by selection, which says why
                yield item

    def _scenario(self) -> Scenario:
        """The file's scenario; raises every problem in it, and the definitions' problems once."""
        state = state_of(self.config)
        scenario, found = state.load_scenario(self.path)
        problems = list(found)
        if scenario is not None:
            problems += state.ids.add(scenario, self.path) + self._unknown_requirements(scenario, state)
            problems += unobservable_problems(scenario, state.cohorts)
        problems += self._definition_problems(state)
        if problems or scenario is None:
            raise DefinitionError(problems)
        return scenario

    def _unknown_requirements(self, scenario: Scenario, state: SessionState) -> list[Problem]:
        if not state.requirements:
            return []
        from mhhs_sit.definitions.requirements import unknown_references

        return unknown_references(scenario, state.requirements, self.path)

    @staticmethod
    def _definition_problems(state: SessionState) -> list[Problem]:
        """Cohort/environment problems block every file: shown in full once, then by reference."""
        definition = state.definition_error()
        if definition is None:
            return []
        if state.reported:
            return [Problem("cohorts/environments", 0, 0, "", "invalid (see the first error above)")]
        state.reported = True
        return list(definition.problems)

    def _case_items(
        self, scenario: Scenario, case: TestCase, cohorts: dict[str, Cohort], *, local: bool
    ) -> Iterator[CaseItem]:
        """One item per eligible cohort; a skipped one saying why when no cohort is eligible."""
        reasons = {c.id: c.ineligibility(scenario, case, local=local) for c in cohorts.values()}
        eligible = sorted((c for c in cohorts.values() if reasons[c.id] is None), key=lambda c: c.id)
        if not eligible:
            item = CaseItem.from_parent(
                self, name=CaseKey(case.id, NO_COHORT).claim, scenario=scenario, case=case, cohort=None
            )
            why = "; ".join(f"{cid}: {r}" for cid, r in sorted(reasons.items())) or "no cohorts defined"
            item.add_marker(pytest.mark.skip(reason=f"no eligible cohort ({why})"))
            yield item
        for cohort in eligible:
            yield CaseItem.from_parent(
                self, name=CaseKey(case.id, cohort.id).claim, scenario=scenario, case=case, cohort=cohort
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: object = None) -> str:
        if isinstance(excinfo.value, MhhsSitError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)  # type: ignore[return-value]


class CaseItem(pytest.Item):
    """One test case for one cohort."""

    is_mhhs_case = True  # how evidence writers tell our items from other tests without importing this module

    def __init__(self, *, scenario: Scenario, case: TestCase, cohort: Cohort | None, **kwargs: Any):
        super().__init__(**kwargs)
        self.scenario = scenario
        self.case = case
        self.cohort = cohort
        self.record: CaseRecord | None = None
        self.started_ahead: StartedCase | None = None  # run ahead of its turn (--mhhs-concurrency)
        self.too_new: str | None = None  # why this run's interface spec version is too old for it
        for tag in case.tags:
            if tag not in _registered(self.config):
                self.config.addinivalue_line("markers", f"{tag}: scenario tag (mhhs-sit)")
                _registered(self.config).add(tag)
            self.add_marker(getattr(pytest.mark, tag))
        self.extra_keyword_matches.update({scenario.id, case.id, scenario.stage, f"theme{scenario.theme}"})
        self.user_properties.append((CASE_META, json.dumps(self.describe())))
        if cohort is not None:
            self.extra_keyword_matches.add(cohort.id)

    def describe(self) -> dict[str, Any]:
        """What this item is, for results and reports (known before it runs)."""
        sc, case = self.scenario, self.case
        return {
            "case": case.id,
            "cohort": self.cohort_id,
            "title": case.title,
            "priority": case.priority,
            "tags": list(case.tags),
            "scenario": sc.id,
            "scenario_title": sc.title,
            "stage": sc.stage,
            "theme": sc.theme,
            "requirements": sorted(set(case.requirements or sc.requirements)),  # the case's own, else its scenario's
            "location": str(case.location),
            "participants": {r: p.dip_id for r, p in self.cohort.participants.items()} if self.cohort else {},
        }

    def run_summary(self) -> Json:
        """What happened when it ran (steps, timings, test data drawn), in the results model's JSON form."""
        return {} if self.record is None else self.record.execution().to_json()

    @property
    def cohort_id(self) -> str:
        return self.cohort.id if self.cohort else NO_COHORT

    def runtest(self) -> None:
        assert self.cohort is not None
        from mhhs_sit.execution.case import CaseRun  # the DIP client (requests, cryptography) when a case runs
        from mhhs_sit.execution.engine import run_case

        if self.started_ahead is not None:
            started, self.started_ahead = self.started_ahead, None
            try:
                started.outcome()
            finally:
                self.record = started.run.record
            return
        state = state_of(self.config)
        runtime = state.runtime()
        run = CaseRun(runtime, self.scenario, self.case, self.cohort)
        try:
            run_case(run)
        finally:
            self.record = run.record

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: object = None) -> str:
        if not isinstance(excinfo.value, MhhsSitError | AssertionError):
            return super().repr_failure(excinfo)  # type: ignore[return-value]
        if self.record is None:
            outcome = classify(excinfo.value).status.value.upper()
            return f"{self.name} {outcome} before it started: {excinfo.value}"
        from mhhs_sit.execution.failure_text import case_failure_text

        return case_failure_text(self, excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.location.line - 1, f"{self.name}: {self.case.title}"


def _too_new(scenario: Scenario, version: str | None, dip_spec: str | None) -> str | None:
    """Why a scenario whose ``since:`` version is newer than the run's cannot run in it (None: it can)."""
    if scenario.since is None or version is None or dip_spec is not None:
        return None
    from mhhs_sit.catalogue import load_catalogue

    if not load_catalogue().is_before(version, scenario.since):
        return None
    return f"since: {scenario.since} (this run checks against {version}; --ir {scenario.since} runs them)"


def _registered(config: pytest.Config) -> set[str]:
    key = "_mhhs_registered_markers"
    if not hasattr(config, key):
        setattr(config, key, set())
    return getattr(config, key)  # type: ignore[no-any-return]
