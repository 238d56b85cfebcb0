"""The run's results: one record per collected item, whatever happened to it.

Built in the process that reports (the controller under xdist) from pytest's reports, so every
collected case appears — passed, failed, broken, definition error, skipped, or *not run* when the session ended
before it (``-x``, an interrupt, a crashed worker) — and written as ``results.json``, the input
of the completion report, the RTTM and the evidence pack.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mhhs_sit import __version__
from mhhs_sit.core import atomic
from mhhs_sit.results.model import CaseKey, CaseMeta, CaseResult, Execution, Json, category_of, status_of, totals
from mhhs_sit.results.outcome import Category, Status

if TYPE_CHECKING:
    import pytest

CASE_META = "mhhs_case"  # user property: what the case is (set at collection)
CASE_RUN = "mhhs_run"  # user property: what happened when it ran (set on the call report)
OUTCOME = "mhhs_outcome"  # user property: the status of a call that did not pass, when it is not pytest's "failed"
BROKEN = (OUTCOME, Status.BROKEN.value)
DEFINITION = (OUTCOME, Status.DEFINITION_ERROR.value)  # the test file is wrong, not the environment
Described = tuple[CaseKey, CaseMeta]  # an item's CASE_META: which case in which cohort, and what it is


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def parse_utc(text: str | None) -> dt.datetime | None:
    """An ISO time, in UTC when it names a zone (naive when it does not); None if it is not one."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(dt.UTC) if when.tzinfo is not None else when


def git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def described(text: str) -> Described:
    """An item's CASE_META property (``CaseItem.describe`` as JSON), read back."""
    raw = json.loads(text)
    about = CaseMeta.from_json(raw)
    return CaseKey(str(raw["case"]), str(raw["cohort"])), about if about is not None else CaseMeta()


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What a run was, known when it ends: ``results.json``'s header and the store's run row say the same.
    ``None``: not known (the store keeps what the run's start said)."""

    environment: str | None = None
    environment_tag: str | None = None
    ir: str | None = None
    spec_version: str | None = None
    cohorts: tuple[str, ...] | None = None
    git_commit: str | None = None
    exit_status: int | None = None

    def to_json(self) -> Json:
        return {
            "environment": self.environment,
            "environment_tag": self.environment_tag,
            "ir": self.ir,
            "spec_version": self.spec_version,
            "cohorts": None if self.cohorts is None else list(self.cohorts),
            "git_commit": self.git_commit,
            "exit_status": self.exit_status,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> RunFacts:
        """Read back from ``results.json``'s header: an empty text is not known."""
        cohorts, exit_status = doc.get("cohorts"), doc.get("exit_status")
        return cls(
            environment=_known(doc.get("environment")),
            environment_tag=_known(doc.get("environment_tag")),
            ir=_known(doc.get("ir")),
            spec_version=_known(doc.get("spec_version")),
            cohorts=tuple(str(c) for c in cohorts) if isinstance(cohorts, list | tuple) else None,
            git_commit=_known(doc.get("git_commit")),
            exit_status=exit_status if isinstance(exit_status, int) else None,
        )


def _known(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True, slots=True)
class RunLabels:
    """How a run was started: its seed, the DIP spec it checked against, its cycle and sprint."""

    seed: int | None = None
    dip_spec: str | None = None
    cycle: str | None = None
    sprint: str | None = None


@dataclass
class RunResults:
    run_id: str
    started: str = field(default_factory=utc_now)
    items: dict[str, CaseResult] = field(default_factory=dict)  # nodeid -> its result so far

    def expect(self, nodeid: str, about: Described | None = None) -> None:
        """A collected item: it is *not run* until a report says otherwise."""
        result = self.items.get(nodeid) or CaseResult(nodeid, Status.NOT_RUN)
        if about is not None:
            result = replace(result, key=about[0], about=about[1])
        elif result.key is None:
            key = CaseKey.of_item(nodeid)
            if key is not None:
                result = replace(result, key=key)
        self.items[nodeid] = result

    def collection_error(self, nodeid: str, text: str) -> None:
        """A scenario file that could not be loaded: a definition error of the file (its cases
        cannot be listed, the file can; ``model.unloaded_file`` tells it from a case's)."""
        lines = [line for line in text.strip().splitlines() if line.strip()]
        self.items[nodeid] = CaseResult(
            nodeid,
            Status.DEFINITION_ERROR,
            key=CaseKey(nodeid, ""),
            category=Category.TEST_DEFINITION,
            message="\n".join(lines[:40])[:4000] or "the scenario file could not be loaded",
            location=nodeid,
        )

    def add(self, report: pytest.TestReport) -> bool:
        """Take one report; True when it settled the item's outcome (worth recording at once)."""
        props = dict(report.user_properties)
        meta = props.get(CASE_META)
        if meta is None and "::" not in report.nodeid:
            return False
        known = self.items.get(report.nodeid)
        if known is None or known.about is None:  # each phase's report carries it: read it once
            self.expect(report.nodeid, described(str(meta)) if meta is not None else None)
        result = self.items[report.nodeid]
        if CASE_RUN in props:
            result = self.items[report.nodeid] = _with_run(result, json.loads(str(props[CASE_RUN])))
        settled = _settled(result, report, said=props.get(OUTCOME))
        if settled is None:
            return False
        self.items[report.nodeid] = settled
        return True

    def document(self, facts: RunFacts, labels: RunLabels) -> Json:
        results = sorted(self.items.values(), key=lambda r: r.nodeid)
        cases: list[object] = [r.to_json() for r in results]
        return {
            "run_id": self.run_id,
            "framework_version": __version__,
            "started": self.started,
            "finished": utc_now(),
            "seed": labels.seed,
            "dip_spec": labels.dip_spec,
            "cycle": labels.cycle,
            "sprint": labels.sprint,
            **facts.to_json(),
            "totals": totals(results),
            "cases": cases,
        }

    def write(self, path: Path, facts: RunFacts, labels: RunLabels) -> None:
        atomic.write_text(path, json.dumps(self.document(facts, labels), indent=2, default=str))


def _with_run(result: CaseResult, run: Mapping[str, object]) -> CaseResult:
    """The CASE_RUN property merged in: what a key it has says, and nothing else changes."""
    return replace(
        result,
        execution=Execution.from_json(run) or result.execution,
        category=category_of(run["category"]) if "category" in run else result.category,
        message=str(run["message"]) if run.get("message") is not None else result.message,
    )


def _settled(result: CaseResult, report: pytest.TestReport, *, said: object) -> CaseResult | None:
    """The result once this report is taken (``said``: the call's OUTCOME property); None when the
    report settles nothing."""
    if report.when == "setup" and report.skipped:
        return replace(result, status=Status.SKIPPED, message=_skip_reason(report))
    if report.when == "call":
        status = status_of(said) if report.failed and said is not None else status_of(report.outcome)
        return replace(result, status=status, duration_s=round(report.duration, 4))
    if report.failed:  # an error in setup or teardown, or a crashed worker
        return replace(
            result,
            status=Status.BROKEN,
            category=result.category or Category.ENVIRONMENT,
            message=_error_line(report) if result.message is None else result.message,
        )
    return None


def _error_line(report: pytest.TestReport) -> str:
    text = str(report.longreprtext)
    return text.strip().splitlines()[-1:][0][:300] if text else "error outside the case"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
