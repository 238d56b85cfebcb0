"""The outcomes of a cycle as the completion report and the exit criteria read them: runs, cases, tallies, coverage."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mhhs_sit.definitions.model import STAGES
from mhhs_sit.errors import ConfigError
from mhhs_sit.results.outcome import EXECUTED, UNSUCCESSFUL, Category, Status
from mhhs_sit.results.run import FailingStep, failing_step

STATUSES = tuple(s.value for s in Status)
CATEGORIES = tuple(c.value for c in Category)


@dataclass(frozen=True)
class RunInfo:
    """One ``results.json``: who ran what, where and when (the report's identity block)."""

    path: str
    run_id: str
    started: str
    finished: str
    environment: str | None = None
    environment_tag: str | None = None
    ir: str | None = None
    spec_version: str | None = None
    cohorts: tuple[str, ...] = ()
    git_commit: str | None = None
    framework_version: str | None = None
    results: int = 0


@dataclass(frozen=True)
class CaseResult:
    """One case in one cohort, as the deciding run recorded it."""

    case: str
    cohort: str
    status: str
    run_id: str
    nodeid: str = ""
    title: str = ""
    priority: int | None = None
    tags: tuple[str, ...] = ()
    scenario: str = ""
    scenario_title: str = ""
    stage: str = ""
    theme: str = ""
    requirements: tuple[str, ...] = ()
    category: str | None = None
    message: str = ""
    failing_step: FailingStep | None = None
    location: str = ""
    duration_s: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.case, self.cohort

    @property
    def executed(self) -> bool:
        return self.status in EXECUTED


def load_run(path: Path) -> tuple[RunInfo, tuple[CaseResult, ...]]:
    """Read one ``results.json``; anything that is not one is a ``ConfigError`` naming the file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise ConfigError(f"{path}: not a results.json written by `mhhs-sit run` (no 'cases' list)")
    run_id = str(doc.get("run_id") or path.parent.name or path.name)
    cases = []
    for i, raw in enumerate(doc["cases"]):
        if not isinstance(raw, dict) or "status" not in raw or not (raw.get("case") or raw.get("nodeid")):
            raise ConfigError(f"{path}: cases[{i}] has no case id or status")
        if raw["status"] not in STATUSES:
            raise ConfigError(
                f"{path}: cases[{i}] ({raw.get('nodeid') or raw.get('case')}) has unknown status "
                f"{raw['status']!r}; expected one of {', '.join(STATUSES)}"
            )
        cases.append(_case(raw, run_id))
    info = RunInfo(
        path=str(path),
        run_id=run_id,
        started=str(doc.get("started") or ""),
        finished=str(doc.get("finished") or doc.get("started") or ""),
        environment=_opt(doc.get("environment")),
        environment_tag=_opt(doc.get("environment_tag")),
        ir=_opt(doc.get("ir")),
        spec_version=_opt(doc.get("spec_version")),
        cohorts=tuple(str(c) for c in doc.get("cohorts") or ()),
        git_commit=_opt(doc.get("git_commit")),
        framework_version=_opt(doc.get("framework_version")),
        results=len(cases),
    )
    return info, tuple(cases)


def _opt(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _case(raw: dict[str, Any], run_id: str) -> CaseResult:
    priority = raw.get("priority")
    duration = raw.get("duration_s")
    return CaseResult(
        case=str(raw.get("case") or raw["nodeid"]),
        cohort=str(raw.get("cohort") or ""),
        status=raw["status"],
        run_id=run_id,
        nodeid=str(raw.get("nodeid") or ""),
        title=str(raw.get("title") or ""),
        priority=priority if isinstance(priority, int) and not isinstance(priority, bool) else None,
        tags=tuple(str(t) for t in raw.get("tags") or ()),
        scenario=str(raw.get("scenario") or ""),
        scenario_title=str(raw.get("scenario_title") or ""),
        stage=str(raw.get("stage") or ""),
        theme="" if raw.get("theme") is None else str(raw["theme"]),
        requirements=tuple(sorted({str(r) for r in raw.get("requirements") or ()})),
        category=_opt(raw.get("category")) if raw["status"] in UNSUCCESSFUL else None,
        message=str(raw.get("message") or ""),
        failing_step=failing_step(raw.get("steps")),
        location=str(raw.get("location") or ""),
        duration_s=float(duration) if isinstance(duration, int | float) else None,
    )


@dataclass(frozen=True)
class Cycle:
    """The runs combined, oldest first, and the one deciding result per case and cohort."""

    runs: tuple[RunInfo, ...]
    results: tuple[CaseResult, ...]
    superseded: int  # earlier results replaced by a later run's

    def used_from(self, run_id: str) -> int:
        return sum(1 for r in self.results if r.run_id == run_id)


def combine(runs: Sequence[tuple[RunInfo, Sequence[CaseResult]]]) -> Cycle:
    """Latest outcome wins per case × cohort, so a re-run that passes closes the earlier failure.

    A later run that did not reach a case (``not run``: stopped by ``-x``, interrupted) does not
    erase the outcome an earlier run recorded for it.
    """
    order = sorted(range(len(runs)), key=lambda i: (_when(runs[i][0].finished), i))
    latest: dict[tuple[str, str], CaseResult] = {}
    superseded = 0
    for i in order:
        for result in runs[i][1]:
            earlier = latest.get(result.key)
            if earlier is not None and result.status == Status.NOT_RUN and earlier.status != Status.NOT_RUN:
                continue
            superseded += earlier is not None
            latest[result.key] = result
    return Cycle(
        runs=tuple(runs[i][0] for i in order),
        results=tuple(sorted(latest.values(), key=_result_order)),
        superseded=superseded,
    )


def load_cycle(paths: Sequence[Path]) -> Cycle:
    if not paths:
        raise ConfigError("no results.json given")
    return combine([load_run(p) for p in paths])


def _when(stamp: str) -> float:
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return float("-inf")
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def natural_key(text: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def stage_order(stage: str) -> tuple[int, str]:
    order = list(STAGES)
    return (order.index(stage), "") if stage in order else (len(order), stage)


def _result_order(r: CaseResult) -> tuple[Any, ...]:
    return stage_order(r.stage), natural_key(r.theme), natural_key(r.case), natural_key(r.cohort)


@dataclass(frozen=True)
class Tally:
    passed: int = 0
    failed: int = 0
    broken: int = 0
    skipped: int = 0
    not_run: int = 0
    error: int = 0  # scenario files that could not be collected

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.broken + self.skipped + self.not_run + self.error

    @property
    def executed(self) -> int:
        return self.passed + self.failed + self.broken

    @property
    def pass_rate(self) -> float | None:
        """passed / executed; ``None`` when nothing was executed (undefined, not 0 or 100%)."""
        return self.passed / self.executed if self.executed else None

    def count(self, status: str) -> int:
        return int(getattr(self, status.replace(" ", "_")))


def tally(results: Iterable[CaseResult]) -> Tally:
    counts = Counter(r.status for r in results)
    return Tally(*(counts.get(s, 0) for s in STATUSES))


def tally_by(results: Sequence[CaseResult], key: Callable[[CaseResult], str]) -> list[tuple[str, Tally]]:
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return [(k, tally(v)) for k, v in groups.items()]  # results are already in report order


def case_covers(results: Iterable[CaseResult]) -> bool:
    """One case's results across cohorts: executed somewhere, and passed wherever executed."""
    executed = [r.status for r in results if r.executed]
    return bool(executed) and all(s == Status.PASSED for s in executed)


@dataclass(frozen=True)
class Coverage:
    requirement: str
    state: str  # covered | failing | not executed | not referenced
    cases: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # case -> ((cohort, status), ...)

    @property
    def covered(self) -> bool:
        return self.state == "covered"


def coverage(results: Iterable[CaseResult], required: Iterable[str] = ()) -> tuple[Coverage, ...]:
    """Every requirement the results reference (plus ``required``), with the coverage rule applied."""
    by_req: dict[str, dict[str, list[CaseResult]]] = {r: {} for r in required}
    for r in results:
        for req in r.requirements:
            by_req.setdefault(req, {}).setdefault(r.case, []).append(r)
    out = []
    for req in sorted(by_req, key=natural_key):
        cases = by_req[req]
        if not cases:
            state = "not referenced"
        elif any(case_covers(rs) for rs in cases.values()):
            state = "covered"
        elif any(r.executed for rs in cases.values() for r in rs):
            state = "failing"
        else:
            state = "not executed"
        detail = tuple(
            (case, tuple((r.cohort, r.status) for r in sorted(rs, key=lambda r: natural_key(r.cohort))))
            for case, rs in sorted(cases.items(), key=lambda kv: natural_key(kv[0]))
        )
        out.append(Coverage(req, state, detail))
    return tuple(out)


def pct(rate: float | None) -> str:
    if rate is None:
        return "n/a"
    text = f"{rate * 100:.1f}".removesuffix(".0")
    return "99.9%" if text == "100" and rate < 1 else f"{text}%"
