"""The outcomes of a cycle as the completion report and the exit criteria read them: runs, cases, tallies, coverage."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mhhs_sit.core.natural_order import natural_key
from mhhs_sit.definitions.model import STAGES
from mhhs_sit.errors import ConfigError
from mhhs_sit.results.model import CaseResult, StepResult
from mhhs_sit.results.outcome import EXECUTED, UNSUCCESSFUL, Category, Status
from mhhs_sit.results.run import RunFacts

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


@dataclass(frozen=True, slots=True)
class CycleResult:
    """One case in one cohort as a run recorded it: the shared ``CaseResult`` and the run it came from.

    Read through the report's vocabulary (``case``, ``title``, ``category``...), which the exit
    criteria's ``where`` keys name too."""

    result: CaseResult
    run_id: str

    @property
    def key(self) -> tuple[str, str]:
        return self.case, self.cohort

    @property
    def case(self) -> str:
        return self.result.case_id

    @property
    def cohort(self) -> str:
        return self.result.cohort

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def executed(self) -> bool:
        return self.result.status in EXECUTED

    @property
    def nodeid(self) -> str:
        return self.result.nodeid

    @property
    def title(self) -> str:
        return self.result.meta.title

    @property
    def priority(self) -> int | None:
        return self.result.meta.priority

    @property
    def tags(self) -> tuple[str, ...]:
        return self.result.meta.tags

    @property
    def stage(self) -> str:
        return self.result.meta.stage

    @property
    def theme(self) -> str:
        return self.result.meta.theme

    @property
    def requirements(self) -> tuple[str, ...]:
        return self.result.meta.requirements

    @property
    def category(self) -> Category | None:
        """Only a failed, broken or definition-error result has one (a file's own category is not a case's)."""
        return self.result.category if self.result.status in UNSUCCESSFUL else None

    @property
    def message(self) -> str:
        return self.result.message or ""

    @property
    def failing_step(self) -> StepResult | None:
        return self.result.failing_step()


def load_run(path: Path) -> tuple[RunInfo, tuple[CycleResult, ...]]:
    """Read one ``results.json``; anything that is not one is a ``ConfigError`` naming the file."""
    doc, raw_cases = _document(path)
    run_id = str(doc.get("run_id") or path.parent.name or path.name)
    cases = tuple(CycleResult(_case(path, i, raw), run_id) for i, raw in enumerate(raw_cases))
    facts = RunFacts.from_json(doc)
    info = RunInfo(
        path=str(path),
        run_id=run_id,
        started=str(doc.get("started") or ""),
        finished=str(doc.get("finished") or doc.get("started") or ""),
        environment=facts.environment,
        environment_tag=facts.environment_tag,
        ir=facts.ir,
        spec_version=facts.spec_version,
        cohorts=facts.cohorts or (),
        git_commit=facts.git_commit,
        framework_version=_opt(doc.get("framework_version")),
        results=len(cases),
    )
    return info, cases


def _document(path: Path) -> tuple[dict[str, object], list[object]]:
    """The file's object and its ``cases`` list."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    cases = doc.get("cases") if isinstance(doc, dict) else None
    if not isinstance(cases, list):
        raise ConfigError(f"{path}: not a results.json written by `mhhs-sit run` (no 'cases' list)")
    return doc, cases


def _case(path: Path, i: int, raw: object) -> CaseResult:
    """One entry of the ``cases`` list, read by the results model; its problem named by file and index."""
    if not isinstance(raw, dict) or "status" not in raw or not (raw.get("case") or raw.get("nodeid")):
        raise ConfigError(f"{path}: cases[{i}] has no case id or status")
    try:
        return CaseResult.from_json(raw)
    except ValueError as exc:
        raise ConfigError(f"{path}: cases[{i}] ({raw.get('nodeid') or raw.get('case')}) has {exc}") from None


def _opt(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class Cycle:
    """The runs combined, oldest first, and the one deciding result per case and cohort."""

    runs: tuple[RunInfo, ...]
    results: tuple[CycleResult, ...]
    superseded: int  # earlier results replaced by a later run's

    def used_from(self, run_id: str) -> int:
        return sum(1 for r in self.results if r.run_id == run_id)


def combine(runs: Sequence[tuple[RunInfo, Sequence[CycleResult]]]) -> Cycle:
    """Latest outcome wins per case × cohort, so a re-run that passes closes the earlier failure.

    A later run that did not reach a case (``not run``: stopped by ``-x``, interrupted) does not
    erase the outcome an earlier run recorded for it; a scenario file that could not be loaded is
    superseded by a later run that loaded it (the store's rule, ``store.cycle.collection_errors``).
    """
    order = sorted(range(len(runs)), key=lambda i: (_when(runs[i][0].finished), i))
    latest: dict[tuple[str, str], CycleResult] = {}
    superseded = 0
    loaded: dict[str, int] = {}  # scenario file -> the last run (its place in ``order``) that loaded it
    for place, i in enumerate(order):
        for result in runs[i][1]:
            if not result.result.unloaded:
                loaded[result.nodeid.split("::", 1)[0]] = place
            earlier = latest.get(result.key)
            if earlier is not None and result.status == Status.NOT_RUN and earlier.status != Status.NOT_RUN:
                continue
            superseded += earlier is not None
            latest[result.key] = result
    places = {runs[i][0].run_id: place for place, i in enumerate(order)}
    fixed = [k for k, r in latest.items() if r.result.unloaded and loaded.get(r.nodeid, -1) > places[r.run_id]]
    for key in fixed:
        del latest[key]
    return Cycle(
        runs=tuple(runs[i][0] for i in order),
        results=tuple(sorted(latest.values(), key=_result_order)),
        superseded=superseded + len(fixed),
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


def stage_order(stage: str) -> tuple[int, str]:
    order = list(STAGES)
    return (order.index(stage), "") if stage in order else (len(order), stage)


def _result_order(r: CycleResult) -> tuple[object, ...]:
    return stage_order(r.stage), natural_key(r.theme), natural_key(r.case), natural_key(r.cohort)


@dataclass(frozen=True)
class Tally:
    passed: int = 0
    failed: int = 0
    broken: int = 0
    # the test file is wrong (a case's file at run time, or a scenario file that could not be loaded):
    # executed, but no product defect
    definition_error: int = 0
    skipped: int = 0
    not_run: int = 0

    @property
    def total(self) -> int:
        return self.executed + self.skipped + self.not_run

    @property
    def executed(self) -> int:
        return self.passed + self.failed + self.broken + self.definition_error

    @property
    def pass_rate(self) -> float | None:
        """passed / executed; ``None`` when nothing was executed (undefined, not 0 or 100%)."""
        return self.passed / self.executed if self.executed else None

    def count(self, status: str) -> int:
        return int(getattr(self, status.replace(" ", "_")))


def tally(results: Iterable[CycleResult]) -> Tally:
    counts = Counter(r.status.value for r in results)
    return Tally(*(counts.get(s, 0) for s in STATUSES))


def tally_by(results: Sequence[CycleResult], key: Callable[[CycleResult], str]) -> list[tuple[str, Tally]]:
    groups: dict[str, list[CycleResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return [(k, tally(v)) for k, v in groups.items()]  # results are already in report order


def case_covers(results: Iterable[CycleResult]) -> bool:
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


def coverage(results: Iterable[CycleResult], required: Iterable[str] = ()) -> tuple[Coverage, ...]:
    """Every requirement the results reference (plus ``required``), with the coverage rule applied."""
    by_req: dict[str, dict[str, list[CycleResult]]] = {r: {} for r in required}
    for r in results:
        for req in r.requirements:
            by_req.setdefault(req, {}).setdefault(r.case, []).append(r)
    return tuple(
        Coverage(req, _coverage_state(by_req[req]), _coverage_detail(by_req[req]))
        for req in sorted(by_req, key=natural_key)
    )


def _coverage_state(cases: Mapping[str, list[CycleResult]]) -> str:
    """The coverage rule, over one requirement's cases (case -> its results across cohorts)."""
    if not cases:
        return "not referenced"
    if any(case_covers(rs) for rs in cases.values()):
        return "covered"
    if any(r.executed for rs in cases.values() for r in rs):
        return "failing"
    return "not executed"


def _coverage_detail(cases: Mapping[str, list[CycleResult]]) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    return tuple(
        (case, tuple((r.cohort, r.status.value) for r in sorted(rs, key=lambda r: natural_key(r.cohort))))
        for case, rs in sorted(cases.items(), key=lambda kv: natural_key(kv[0]))
    )


def pct(rate: float | None) -> str:
    if rate is None:
        return "n/a"
    text = f"{rate * 100:.1f}".removesuffix(".0")
    return "99.9%" if text == "100" and rate < 1 else f"{text}%"
