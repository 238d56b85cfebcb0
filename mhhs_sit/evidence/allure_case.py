"""The Allure result of one mhhs-sit case: its steps, labels, links and one attachment.

Labels file each case stage › theme › scenario (parentSuite, suite, subSuite; and epic, feature,
story for Allure's behaviours view); the identity (historyId, testCaseId) is the case and the
cohort only, so it is the same in every run. Every exchange and poll goes into one attachment:
two files a case, the cheapest evidence that keeps everything.
"""

from __future__ import annotations

import os
import platform
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeGuard

import pytest

from mhhs_sit.definitions.model import Cohort, Scenario, TestCase
from mhhs_sit.evidence.allure_results import (
    STATUS,
    case_labels,
    full_name_of,
    md5_hex,
    package_of,
    stable_id,
    title_path_of,
)
from mhhs_sit.evidence.allure_writer import encoded
from mhhs_sit.evidence.redact import Scrubber, redact
from mhhs_sit.execution.case import CaseRecord, StepRecord
from mhhs_sit.results.outcome import Status, classify

HOST = platform.node()
Json = dict[str, object]


class MhhsCase(Protocol):
    """What the writer reads of a case item (``collection.items.CaseItem``, not imported here)."""

    nodeid: str
    scenario: Scenario
    case: TestCase
    cohort: Cohort | None
    record: CaseRecord | None

    @property
    def cohort_id(self) -> str: ...


def is_case(item: object) -> TypeGuard[MhhsCase]:
    """An mhhs-sit case: ``CaseItem`` says so of itself, evidence does not import collection."""
    return getattr(item, "is_mhhs_case", False) is True


@dataclass(frozen=True)
class Masking:
    """How a case's files are masked: secrets in the text, personal-data fields by name."""

    scrub: Scrubber | None = None
    personal: frozenset[str] | None = None


def outcome(report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException] | None) -> str:
    """Allure's status for ours: the exception that ended the item is classified by the one rule
    (a definition error is Allure's broken, in the category "Test definition errors")."""
    if report.skipped:
        return Status.SKIPPED.value
    if report.passed:
        return Status.PASSED.value
    return STATUS[classify(excinfo.value).status.value] if excinfo is not None else Status.BROKEN.value


def status_message(report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException] | None) -> Json:
    message = excinfo.exconly() if excinfo is not None else skip_message(report)
    return {"message": message, "trace": report.longreprtext}


def skip_message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return f"Skipped: {str(longrepr[2]).removeprefix('Skipped: ')}"
    return str(longrepr)


def process_labels(nodeid: str) -> list[tuple[str, str]]:
    """The labels every result carries: where it ran and what ran it."""
    return [
        ("host", HOST),
        ("thread", f"{os.getpid()}-{threading.current_thread().name}"),
        ("framework", "pytest"),
        ("language", "cpython3"),
        ("package", package_of(nodeid)),
    ]


def _case_labels(item: MhhsCase) -> Iterator[tuple[str, str]]:
    sc, case, cohort = item.scenario, item.case, item.cohort
    scenario = f"{sc.id} {sc.title}"
    yield from case_labels(stage=sc.stage_title, theme=sc.theme, scenario=scenario, priority=case.priority,
                           cohort=item.cohort_id, case=case.id)  # fmt: skip
    yield from (("tag", tag) for tag in case.tags)
    participants = sorted(cohort.participants.items()) if cohort else []
    yield from (("participant", f"{role} {p.mpid} {p.dip_id}") for role, p in participants)
    yield from process_labels(item.nodeid)


def _step(s: StepRecord) -> Json:
    params = [{"name": "at", "value": s.location}]
    params += [{"name": f"saved {k}", "value": str(v)[:200]} for k, v in s.saved.items()]
    for ex in s.exchanges:
        response = ex.get("response") or {}
        if "status" in response:
            params.append({"name": f"{ex.get('method')} {ex.get('url')}", "value": str(response["status"])})
    step: Json = {
        "name": f"{s.number}. {s.title}",
        "status": STATUS.get(s.status, "skipped"),
        "stage": "finished",
        "parameters": params,
    }
    if s.started:
        step["start"] = int(s.started * 1000)
        step["stop"] = int((s.stopped or s.started) * 1000)
    if s.detail:
        step["statusDetails"] = {"message": s.detail}
    return step


_MIME = {".csv": "text/csv", ".html": "text/html", ".json": "application/json", ".log": "text/plain"}


def _step_attachments(result_id: str, record: CaseRecord, steps: list[Json], base: str) -> list[tuple[str, bytes]]:
    """Files a step produced (a load run's Locust reports), attached to that step as they are."""
    files = []
    for record_step, step in zip(record.steps, steps, strict=True):
        listed = []
        for i, (name, content) in enumerate(record_step.attachments):
            source = f"{result_id}-s{record_step.number}-{i}-attachment{Path(name).suffix}"
            files.append((os.path.join(base, source), content))
            listed.append({"name": name, "source": source, "type": _MIME.get(Path(name).suffix, "text/plain")})
        if listed:
            step["attachments"] = listed
    return files


def _exchanges(identity: str, record: CaseRecord) -> Json:
    """The attachment: the data the case drew and every step's exchanges and polls."""
    steps = [
        {"n": s.number, "title": s.title, "status": s.status, "exchanges": s.exchanges, "polls": s.polls}
        for s in record.steps
        if s.exchanges or s.polls
    ]
    return {"case": identity, "data": record.data_drawn, "steps": steps}


def case_result(item: MhhsCase, status: str, result_id: str) -> Json:
    """The case's result, without steps, attachments or status details."""
    sc, case, record = item.scenario, item.case, item.record
    now_ms = int(time.time() * 1000)
    test_id = md5_hex(stable_id(case.id, item.cohort_id))
    result: Json = {
        "uuid": result_id,
        "historyId": test_id,
        "testCaseId": test_id,
        "fullName": full_name_of(item.nodeid),
        "name": f"{case.id} [{item.cohort_id}] {case.title}",
        "status": status,
        "stage": "finished",
        "start": int(record.started * 1000) if record and record.started else now_ms,
        "stop": int(record.stopped * 1000) if record and record.stopped else now_ms,
        "labels": [{"name": n, "value": v} for n, v in _case_labels(item)],
        "links": [
            {"type": "requirement", "url": req, "name": req}
            for req in sorted(set(sc.requirements) | set(case.requirements))
        ],
        "parameters": [{"name": "cohort", "value": repr(item.cohort_id)}],
        "titlePath": title_path_of(item.nodeid),
    }
    if sc.description:
        result["description"] = sc.description
    return result


def case_files(
    item: MhhsCase,
    report: pytest.TestReport,
    excinfo: pytest.ExceptionInfo[BaseException] | None,
    report_dir: Path,
    masking: Masking,
) -> list[tuple[str, bytes]]:
    """The case's result file and its attachment of messages and polls, secrets masked in both."""
    result_id = str(uuid.uuid4())  # the attachment is named after it too: one random id a case
    status = outcome(report, excinfo)
    result = case_result(item, status, result_id)
    if status != Status.PASSED:
        result["statusDetails"] = status_message(report, excinfo)
    files: list[tuple[str, bytes]] = []
    base = os.fspath(report_dir)
    record = item.record
    if record is not None:
        steps = [_step(s) for s in record.steps]
        files += _step_attachments(result_id, record, steps, base)
        result["steps"] = steps
        body: object = _exchanges(stable_id(item.case.id, item.cohort_id), record)
        if masking.personal is not None:
            body = redact(body, personal=masking.personal)
        source = f"{result_id}-attachment.json"
        files.append((os.path.join(base, source), encoded(body, masking.scrub)))
        result["attachments"] = [{"name": "messages and polls", "source": source, "type": "application/json"}]
    files.append((os.path.join(base, f"{result_id}-result.json"), encoded(result, masking.scrub)))
    return files
