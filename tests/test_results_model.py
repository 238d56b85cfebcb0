"""The typed results model: one JSON form shared by results.json, the store and the evidence readers."""

from __future__ import annotations

import json

import pytest

from mhhs_sit.execution.case import CaseRecord, StepRecord
from mhhs_sit.results.model import CaseKey, CaseMeta, CaseResult, Execution, StepResult
from mhhs_sit.results.outcome import Category, Status

FAILED_CASE = {
    "nodeid": "t/a.yaml::A-01-001-TC01[C1]",
    "status": "failed",
    "case": "A-01-001-TC01",
    "cohort": "C1",
    "title": "a case",
    "priority": 1,
    "tags": ["smoke"],
    "scenario": "A-01-001",
    "scenario_title": "a scenario",
    "stage": "sit-functional",
    "theme": "3",
    "requirements": ["BP003", "IF-031"],
    "location": "t/a.yaml:7",
    "participants": {"SUP": "2300000101"},
    "started": 1700000000.5,
    "stopped": 1700000001.25,
    "data": {"mpan": "1234"},
    "steps": [
        {"n": 1, "title": "send", "kind": "send", "status": "passed", "ms": 5.0, "location": "t/a.yaml:9",
         "detail": ""},
        {"n": 2, "title": "wait", "kind": "expect", "status": "failed", "ms": 1000.0, "location": "t/a.yaml:12",
         "detail": "nothing came"},
    ],
    "category": "product defect",
    "message": "nothing came",
    "duration_s": 1.2,
}  # fmt: skip


def test_a_result_reads_back_exactly_as_results_json_holds_it() -> None:
    result = CaseResult.from_json(FAILED_CASE)
    assert result.key == CaseKey("A-01-001-TC01", "C1") == ("A-01-001-TC01", "C1")
    assert (result.status, result.category) == (Status.FAILED, Category.PRODUCT_DEFECT)
    step = result.failing_step()
    assert step is not None and step.text() == "step 2 expect: wait (t/a.yaml:12)"
    assert json.dumps(result.to_json()) == json.dumps(FAILED_CASE)  # same keys, same order


def test_what_a_result_does_not_say_stays_unsaid() -> None:
    not_run = {"nodeid": "t/a.yaml::A-01-001-TC01[C2]", "status": "not run", "case": "A-01-001-TC01", "cohort": "C2"}
    result = CaseResult.from_json(not_run)
    assert (result.about, result.execution, result.message, result.category) == (None, None, None, None)
    assert result.to_json() == not_run
    unloaded = {"nodeid": "t/bad.yaml", "case": "t/bad.yaml", "cohort": "", "status": "definition error",
                "category": "test definition error", "message": "t/bad.yaml:1: bad",
                "location": "t/bad.yaml"}  # fmt: skip
    assert list(CaseResult.from_json(unloaded).to_json().items()) == list(unloaded.items())


def test_a_file_that_could_not_be_loaded_is_a_definition_error_of_the_file_and_an_older_error_reads_so() -> None:
    older = {"nodeid": "t/bad.yaml", "case": "t/bad.yaml", "cohort": "", "status": "error",
             "category": "test definition error", "message": "t/bad.yaml:1: bad", "location": "t/bad.yaml"}  # fmt: skip
    result = CaseResult.from_json(older)  # results.json of a run before the file's error was a definition error
    assert result.status is Status.DEFINITION_ERROR and result.unloaded and result.location == "t/bad.yaml"
    assert result.to_json() == older | {"status": "definition error"}
    ran = CaseResult.from_json({"nodeid": "t/a.yaml::A-TC01[C1]", "case": "A-TC01", "cohort": "C1",
                                "status": "definition error", "category": "test definition error"})  # fmt: skip
    assert ran.status is Status.DEFINITION_ERROR and not ran.unloaded  # a case's own, found when it ran
    assert not CaseResult.from_json({"nodeid": "t/bad.yaml", "case": "t/bad.yaml", "status": "broken"}).unloaded


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"case": "A", "status": "exploded"}, "unknown status 'exploded'"),
        ({"case": "A", "status": "failed", "category": "bad luck"}, "unknown category 'bad luck'"),
        ({"status": "passed"}, "has no case id or status"),
    ],
)
def test_what_is_not_a_result_is_refused(raw: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        CaseResult.from_json(raw)


def test_the_run_time_record_freezes_into_the_result_it_reports() -> None:
    record = CaseRecord("A-01-001-TC01", "C1", started=10.0, stopped=11.0, status="broken", data_drawn={"mpan": "1"})
    record.steps.append(StepRecord(1, "send", "send", "t/a.yaml:9", "broken", 10.0, 10.01234, "the DIP is down"))
    record.steps.append(StepRecord(2, "wait", "expect", "t/a.yaml:12", "skipped"))
    about = CaseMeta(title="a case", requirements=("BP003",))
    result = record.freeze("t/a.yaml::A-01-001-TC01[C1]", about)
    assert result.key == ("A-01-001-TC01", "C1") and result.status is Status.BROKEN and result.about is about
    assert result.execution == Execution(
        10.0,
        11.0,
        {"mpan": "1"},
        (
            StepResult(1, "send", "send", Status.BROKEN, 12.3, "t/a.yaml:9", "the DIP is down"),
            StepResult(2, "wait", "expect", Status.SKIPPED, 0.0, "t/a.yaml:12"),
        ),
    )
    record.steps[0].detail = "changed later"  # the frozen result does not follow the record
    assert result.execution is not None and result.execution.steps[0].detail == "the DIP is down"
