"""What became of a case, in the words every file and report uses: its status and its category.

One place decides whether an exception makes a case *failed* (the product misbehaved), a
*definition error* (the test file is wrong) or *broken* (anything else stopped it: the
environment, the test data, the framework), and which category it falls in, so the terminal, results.json, the
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
    # the test file is wrong: not the product's fault. Found at run time (a case's result), or at load:
    # then the result is the scenario *file*'s (``results.model.unloaded_file``) and none of its cases ran
    DEFINITION_ERROR = "definition error"
    SKIPPED = "skipped"
    NOT_RUN = "not run"  # collected, but the session ended before it (-x, an interrupt, a crash)


# How runs recorded before this version spelled a status this version words otherwise: "error" was a
# scenario file that could not be collected, now a definition error of the file.
LEGACY_SPELLINGS = {"error": Status.DEFINITION_ERROR}

# Plain strings, so a membership test on the RTTM's hot path is one hash look-up, not enum compares.
EXECUTED = frozenset({Status.PASSED.value, Status.FAILED.value, Status.BROKEN.value, Status.DEFINITION_ERROR.value})
UNSUCCESSFUL = frozenset({Status.FAILED.value, Status.BROKEN.value, Status.DEFINITION_ERROR.value})


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
    """An AssertionError (a ScenarioFailure among them) is a product defect; a wrong test file a
    definition error; anything else broke the case."""
    if isinstance(exc, AssertionError):
        return Verdict(Status.FAILED, Category.PRODUCT_DEFECT)
    if isinstance(exc, StepDefinitionError | ConfigError):
        return Verdict(Status.DEFINITION_ERROR, Category.TEST_DEFINITION)
    return Verdict(Status.BROKEN, _broken_category(exc))


def settled(status: Status, category: Category | None) -> Status:
    """The status as this version words it: runs recorded before *definition error* was a status of its
    own said ``broken`` with the category "test definition error"; read back, they say what they were."""
    if status is Status.BROKEN and category is Category.TEST_DEFINITION:
        return Status.DEFINITION_ERROR
    return status


def _broken_category(exc: BaseException) -> Category:
    if isinstance(exc, TestDataError):
        return Category.TEST_DATA
    if isinstance(exc, EnvironmentBroken):
        return Category.ENVIRONMENT
    return Category.FRAMEWORK
