"""What became of a case, in the words every file and report uses: its status and its category.

One place decides whether an exception makes a case *failed* (the product misbehaved) or *broken*
(anything else stopped it), and which category it falls in, so the terminal, results.json, the
store, the completion report and the RTTM never disagree. Both enums are str-valued: they compare
equal to, and are written as, the spellings the files and the store have always held.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mhhs_sit.errors import ConfigError, EnvironmentBroken, StepDefinitionError, TestDataError


class Status(StrEnum):
    """A case's outcome in a run."""

    PASSED = "passed"
    FAILED = "failed"
    BROKEN = "broken"
    SKIPPED = "skipped"
    NOT_RUN = "not run"  # collected, but the session ended before it (-x, an interrupt, a crash)
    ERROR = "error"  # its scenario file could not be collected


# Plain strings, so a membership test on the RTTM's hot path is one hash look-up, not enum compares.
EXECUTED = frozenset({Status.PASSED.value, Status.FAILED.value, Status.BROKEN.value})
UNSUCCESSFUL = frozenset({Status.FAILED.value, Status.BROKEN.value})


class Category(StrEnum):
    """Who is to act on a case that did not pass."""

    PRODUCT_DEFECT = "product defect"
    ENVIRONMENT = "environment issue"
    TEST_DATA = "test data issue"
    TEST_DEFINITION = "test definition error"
    FRAMEWORK = "framework error"


@dataclass(frozen=True, slots=True)
class Verdict:
    """How an exception that ended a case is reported."""

    status: Status
    category: Category


def classify(exc: BaseException) -> Verdict:
    """An AssertionError (a ScenarioFailure among them) is a product defect; anything else broke the case."""
    if isinstance(exc, AssertionError):
        return Verdict(Status.FAILED, Category.PRODUCT_DEFECT)
    return Verdict(Status.BROKEN, _broken_category(exc))


def _broken_category(exc: BaseException) -> Category:
    if isinstance(exc, TestDataError):
        return Category.TEST_DATA
    if isinstance(exc, StepDefinitionError | ConfigError):
        return Category.TEST_DEFINITION
    if isinstance(exc, EnvironmentBroken):
        return Category.ENVIRONMENT
    return Category.FRAMEWORK
