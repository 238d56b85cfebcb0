"""classify: the one rule that says whether a case failed or broke, and who is to act on it."""

from __future__ import annotations

import json

import pytest

from mhhs_sit.errors import ConfigError, EnvironmentBroken, ScenarioFailure, StepDefinitionError, TestDataError
from mhhs_sit.results.outcome import Category, Status, classify


@pytest.mark.parametrize(
    ("exc", "status", "category"),
    [
        (ScenarioFailure("the MPAN was not appointed"), "failed", "product defect"),
        (AssertionError("plain assert"), "failed", "product defect"),
        (EnvironmentBroken("the DIP did not answer"), "broken", "environment issue"),
        (StepDefinitionError("no such step"), "definition error", "test definition error"),
        (ConfigError("bad environment file"), "definition error", "test definition error"),
        (TestDataError("the pool ran dry"), "broken", "test data issue"),
        (KeyError("oops"), "broken", "framework error"),
    ],
)
def test_classify_keeps_the_spellings_files_hold(exc: BaseException, status: str, category: str) -> None:
    verdict = classify(exc)
    assert verdict.status == status
    assert verdict.category == category


def test_status_and_category_are_written_as_their_spellings() -> None:
    assert json.dumps({Status.NOT_RUN: Category.ENVIRONMENT}) == '{"not run": "environment issue"}'


def test_a_definition_error_recorded_as_broken_by_an_older_version_reads_back_as_one() -> None:
    from mhhs_sit.results.model import CaseResult

    old = {"nodeid": "t.yaml::X-TC01[C1]", "case": "X-TC01", "cohort": "C1", "status": "broken"}
    assert CaseResult.from_json(old | {"category": "test definition error"}).status is Status.DEFINITION_ERROR
    assert CaseResult.from_json(old | {"category": "environment issue"}).status is Status.BROKEN
