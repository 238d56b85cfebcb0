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
        (StepDefinitionError("no such step"), "broken", "test definition error"),
        (ConfigError("bad environment file"), "broken", "test definition error"),
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
