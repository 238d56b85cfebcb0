"""The completion report: what the IPA reads to decide whether a test stage may exit.

A cycle is usually several runs (the first pass, then re-runs of what failed), so one or more
``results.json`` are combined into one result per case and cohort — the latest run wins — and
then counted, measured for requirement coverage and judged against the exit criteria
(``criteria.py``). Both renderings (self-contained HTML and GitHub Markdown) are built from the
same ``Section``s, so they can never disagree.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mhhs_sit import __version__
from mhhs_sit.errors import ConfigError
from mhhs_sit.model import STAGES
from mhhs_sit.results import FailingStep, failing_step, parse_utc, utc_now

if TYPE_CHECKING:
    from mhhs_sit.evidence.criteria import CriteriaSet, Outcome

STATUSES = ("passed", "failed", "broken", "skipped", "not run", "error")  # error: file not collected
EXECUTED = ("passed", "failed", "broken")
CATEGORIES = ("product defect", "environment issue", "test data issue", "test definition error", "framework error")
PASS_RATE_RULE = (
    "Pass rate = passed ÷ executed, where executed = passed + failed + broken. "
    "Skipped and not-run results are counted separately and are not part of the pass rate."
)
COVERAGE_RULE = (
    "A case covers a requirement when it was executed (passed, failed or broken) in at least one cohort and "
    "passed in every cohort in which it was executed; cohorts where it was skipped or not run count neither "
    "for nor against it. A requirement is covered when at least one of the cases that reference it covers it."
)
BREACHES_SHOWN = 25  # per criterion in the criteria table; every one is still listed in its own section
LATEST_RULE = (
    "For each case and cohort the result of the latest run (by the run's finish time; on a tie, the file "
    "given later) counts; earlier results of the same case and cohort are superseded, except that a later "
    "run which did not reach the case (not run) leaves an earlier recorded outcome in place."
)


# ---------------------------------------------------------------------------------------------
# Input: runs and their results


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
        category=_opt(raw.get("category")) if raw["status"] in ("failed", "broken") else None,
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
            if earlier is not None and result.status == "not run" and earlier.status != "not run":
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


# ---------------------------------------------------------------------------------------------
# Counting and coverage


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
    return bool(executed) and all(s == "passed" for s in executed)


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


# ---------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class CompletionReport:
    cycle: Cycle
    criteria: CriteriaSet
    outcomes: tuple[Outcome, ...]
    generated: str

    @property
    def met(self) -> bool:
        return all(o.met for o in self.outcomes)

    @property
    def verdict(self) -> str:
        return "EXIT CRITERIA MET" if self.met else "EXIT CRITERIA NOT MET"

    def summary(self) -> str:
        """The verdict in one line, for a terminal or a CI log."""
        failed = [o.criterion.id for o in self.outcomes if not o.met]
        n = len(self.outcomes)
        if not failed:
            return f"{self.verdict}: all {n} criteria passed"
        return f"{self.verdict}: {len(failed)} of {n} criteria failed ({', '.join(failed)})"


def build_report(cycle: Cycle, criteria: CriteriaSet, *, generated: str | None = None) -> CompletionReport:
    from mhhs_sit.evidence.criteria import evaluate  # criteria.py imports this module

    return CompletionReport(cycle, criteria, evaluate(criteria, cycle.results), generated or utc_now())


# ---------------------------------------------------------------------------------------------
# Format-neutral content: both renderers walk the same sections


@dataclass(frozen=True)
class Cell:
    text: str  # "\n" is a line break
    tone: str = ""  # passed | failed | broken | skipped | not-run | ok | bad | total | "" (plain)
    mono: bool = False  # an identifier: monospace, never wrapped


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: frozenset[int] = frozenset()  # right-aligned columns
    empty: str = "None."


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[tuple[str, Table], ...] = ()  # (sub-heading or "", table)


def _tone(status: str) -> str:
    return status.replace(" ", "-")


def pct(rate: float | None) -> str:
    if rate is None:
        return "n/a"
    text = f"{rate * 100:.1f}".removesuffix(".0")
    return "99.9%" if text == "100" and rate < 1 else f"{text}%"


def _stamp(text: str) -> str:
    when = parse_utc(text)
    if when is None:
        return text
    return when.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if when.tzinfo else "")


def _distinct(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def identity(report: CompletionReport) -> list[tuple[str, str]]:
    """The header block: enough to tell which cycle, environment and build this report is about."""
    runs = report.cycle.runs
    envs = _distinct(f"{r.environment} ({r.environment_tag})" if r.environment_tag else r.environment for r in runs)
    starts = sorted((r.started for r in runs if r.started), key=_when)
    ends = sorted((r.finished for r in runs if r.finished), key=_when)
    period = f"{_stamp(starts[0])} – {_stamp(ends[-1])}" if starts and ends else "unknown"
    return [
        ("Environment", ", ".join(envs) or "unknown"),
        ("Interim release", ", ".join(_distinct(r.ir for r in runs)) or "unset"),
        ("Interface spec version", ", ".join(_distinct(r.spec_version for r in runs)) or "unknown"),
        ("Runs", ", ".join(r.run_id for r in runs)),
        ("Period", period),
        ("Git commit", ", ".join(_distinct(r.git_commit for r in runs)) or "unknown"),
        ("Cohorts", ", ".join(sorted(_distinct(c for r in runs for c in r.cohorts), key=natural_key)) or "none"),
        ("Framework", ", ".join(_distinct(f"mhhs-sit {r.framework_version}" for r in runs if r.framework_version))),
        ("Exit criteria", f"{report.criteria.title} ({report.criteria.source})"),
        ("Generated", f"{_stamp(report.generated)} by mhhs-sit {__version__}"),
    ]


def warnings(report: CompletionReport) -> list[str]:
    """Runs that should not normally be combined: say so rather than hide it."""
    runs = report.cycle.runs
    out = []
    for label, values in (
        ("environments", _distinct(r.environment for r in runs)),
        ("interim releases", _distinct(r.ir for r in runs)),
        ("git commits", _distinct(r.git_commit for r in runs)),
    ):
        if len(values) > 1:
            out.append(f"The combined runs were made on different {label}: {', '.join(values)}.")
    return out


def tiles(report: CompletionReport) -> list[tuple[str, str, str, str]]:
    """(value, label, note, tone) for the summary tiles."""
    t = tally(report.cycle.results)
    cov = coverage(report.cycle.results)
    covered = sum(c.covered for c in cov)
    rate = t.pass_rate
    rate_tone = "" if rate is None else "ok" if rate == 1 else "bad"
    return [
        (str(t.total), "Results", "case × cohort", ""),
        (pct(rate), "Pass rate", f"{t.passed} passed of {t.executed} executed", rate_tone),
        (str(t.passed), "Passed", "", "passed" if t.passed else ""),
        (str(t.failed), "Failed", "", "failed" if t.failed else ""),
        (str(t.broken), "Broken", "", "broken" if t.broken else ""),
        (str(t.skipped), "Skipped", "", "skipped" if t.skipped else ""),
        (str(t.not_run), "Not run", "", "not-run" if t.not_run else ""),
        (f"{covered}/{len(cov)}", "Requirements covered", pct(covered / len(cov) if cov else None), ""),
    ]


def sections(report: CompletionReport) -> list[Section]:
    results = report.cycle.results
    return [
        _criteria_section(report),
        _totals_section(results),
        _failures_section(results),
        _not_executed_section(results),
        _coverage_section(results),
        _runs_section(report),
        _method_section(report),
        _all_results_section(results),
    ]


def _criteria_section(report: CompletionReport) -> Section:
    rows = []
    for o in report.outcomes:
        c = o.criterion
        shown = [b.text() for b in o.breaches[:BREACHES_SHOWN]]
        if len(o.breaches) > BREACHES_SHOWN:
            shown.append(f"… and {len(o.breaches) - BREACHES_SHOWN} more (listed in the sections below)")
        breaches = "\n".join(shown) or "—"
        rows.append(
            (
                Cell(c.id, mono=True),
                Cell(c.title + (f"\n{c.description}" if c.description else "")),
                Cell(f"{c.rule}\n{c.scope()}"),
                Cell(o.measured),
                Cell("PASS" if o.met else "FAIL", "ok" if o.met else "bad"),
                Cell(breaches),
            )
        )
    table = Table(("ID", "Criterion", "Rule and scope", "Measured", "Result", "Breached by"), tuple(rows))
    intro = f"{sum(o.met for o in report.outcomes)} of {len(report.outcomes)} criteria passed."
    return Section("Exit criteria", "criteria", (intro,), (("", table),))


def _tally_table(first: str, groups: list[tuple[str, Tally]], total: Tally | None = None) -> Table:
    # the error column (files not collected) only when there is one, not as a column of zeros
    statuses = [s for s in STATUSES if s != "error" or any(t.error for _, t in groups)]
    rows = [_tally_row(name, t, statuses) for name, t in groups]
    if total is not None:
        rows.append(_tally_row("Total", total, statuses, "total"))
    return Table(
        (first, "Results", *(s.capitalize() for s in statuses), "Pass rate"),
        tuple(rows),
        frozenset(range(1, len(statuses) + 3)),
    )


def _tally_row(name: str, t: Tally, statuses: Sequence[str], tone: str = "") -> tuple[Cell, ...]:
    counts = [Cell(str(t.count(s)), _tone(s) if t.count(s) and s != "passed" else "") for s in statuses]
    rate_tone = "" if t.pass_rate is None else "ok" if t.pass_rate == 1 else "bad"
    return (Cell(name, tone), Cell(str(t.total)), *counts, Cell(pct(t.pass_rate), rate_tone))


def _totals_section(results: Sequence[CaseResult]) -> Section:
    total = tally(results)
    return Section(
        "Totals",
        "totals",
        (PASS_RATE_RULE,),
        (
            ("By stage", _tally_table("Stage", tally_by(results, lambda r: STAGES.get(r.stage, r.stage)), total)),
            ("By theme", _tally_table("Theme", _sorted(tally_by(results, lambda r: r.theme or "—")), total)),
            ("By cohort", _tally_table("Cohort", _sorted(tally_by(results, lambda r: r.cohort or "—")), total)),
        ),
    )


def _sorted(groups: list[tuple[str, Tally]]) -> list[tuple[str, Tally]]:
    return sorted(groups, key=lambda g: natural_key(g[0]))


def _step_text(r: CaseResult) -> str:
    s = r.failing_step
    if s is None:
        return "before the first step"
    if s.detail and s.detail.strip() != r.message.strip():
        return f"{s.text()}\n{s.detail}"
    return s.text()


def _failures_section(results: Sequence[CaseResult]) -> Section:
    failures = [r for r in results if r.status in ("failed", "broken")]
    by_cat: dict[str, list[CaseResult]] = {}
    for r in failures:
        by_cat.setdefault(r.category or "uncategorised", []).append(r)
    order = [c for c in CATEGORIES if c in by_cat] + sorted(c for c in by_cat if c not in CATEGORIES)
    summary_rows = []
    for cat in order:
        rs = by_cat[cat]
        summary_rows.append(
            (
                Cell(cat),
                Cell(str(sum(r.status == "failed" for r in rs))),
                Cell(str(sum(r.status == "broken" for r in rs))),
                Cell(str(len(rs)), "failed"),
                Cell(str(len({r.case for r in rs}))),
            )
        )
    summary = Table(
        ("Category", "Failed", "Broken", "Results", "Distinct cases"),
        tuple(summary_rows),
        frozenset({1, 2, 3, 4}),
        empty="No failed or broken results.",
    )
    tables: list[tuple[str, Table]] = [("", summary)]
    for cat in order:
        rows = tuple(
            (
                Cell(r.case, mono=True),
                Cell(r.cohort, mono=True),
                Cell(r.status, _tone(r.status)),
                Cell(f"P{r.priority}" if r.priority else "—"),
                Cell(r.title),
                Cell(r.message or "—"),
                Cell(_step_text(r)),
                Cell(r.run_id, mono=True),
            )
            for r in by_cat[cat]
        )
        headers = ("Case", "Cohort", "Status", "Priority", "Title", "Message", "Failing step", "Run")
        tables.append((f"{cat.capitalize()} ({len(rows)})", Table(headers, rows)))
    intro = (
        "Failed = the product did not behave as the scenario expects; broken = the case could not be judged "
        "(environment, test data, definition or framework). Each failed or broken result carries its category."
    )
    return Section("Failures by category", "failures", (intro,), tuple(tables))


def _not_executed_section(results: Sequence[CaseResult]) -> Section:
    rows = tuple(
        (
            Cell(r.case, mono=True),
            Cell(r.cohort, mono=True),
            Cell(r.status, _tone(r.status)),
            Cell(r.title),
            Cell(r.message or ("the run ended before this case" if r.status == "not run" else "—")),
            Cell(r.run_id, mono=True),
        )
        for r in results
        if not r.executed
    )
    table = Table(("Case", "Cohort", "Status", "Title", "Reason", "Run"), rows, empty="Every result was executed.")
    intro = (
        "Skipped, not-run and not-collected results (error: a scenario file that could not be read) are not in the "
        "pass rate; they are listed here so that nothing is hidden."
    )
    return Section("Skipped, not run and not collected", "not-executed", (intro,), (("", table),))


_COVERAGE_TONE = {"covered": "ok", "failing": "bad", "not executed": "not-run", "not referenced": "bad"}


def _coverage_section(results: Sequence[CaseResult]) -> Section:
    cov = coverage(results)
    rows = tuple(
        (
            Cell(c.requirement, mono=True),
            Cell(c.state, _COVERAGE_TONE[c.state]),
            Cell("\n".join(f"{case}: " + ", ".join(f"{co} {st}" for co, st in cohorts) for case, cohorts in c.cases)),
        )
        for c in cov
    )
    covered = sum(c.covered for c in cov)
    rate = pct(covered / len(cov) if cov else None)
    intro = (COVERAGE_RULE, f"{covered} of {len(cov)} requirements referenced by the cases are covered ({rate}).")
    table = Table(("Requirement", "Coverage", "Cases (cohort status)"), rows, empty="No case references a requirement.")
    return Section("Requirement coverage", "coverage", intro, (("", table),))


def _runs_section(report: CompletionReport) -> Section:
    cycle = report.cycle
    rows = tuple(
        (
            Cell(r.run_id, mono=True),
            Cell(r.environment or "—"),
            Cell(r.ir or "—"),
            Cell(_stamp(r.started) if r.started else "—"),
            Cell(_stamp(r.finished) if r.finished else "—"),
            Cell((r.git_commit or "—")[:12], mono=True),
            Cell(str(r.results)),
            Cell(str(cycle.used_from(r.run_id))),
            Cell(r.path),
        )
        for r in cycle.runs
    )
    headers = ("Run", "Environment", "IR", "Started", "Finished", "Commit", "Results", "Used", "File")
    n = len(cycle.runs)
    intro = [f"{n} run{'s' if n != 1 else ''} combined, oldest first. {LATEST_RULE}"]
    if n > 1:
        intro.append(
            f"{cycle.superseded} earlier result{'s' if cycle.superseded != 1 else ''} superseded by a later run; "
            "'Used' is how many of a run's results decide this report."
        )
    return Section(
        "Runs combined", "runs", (*intro, *warnings(report)), (("", Table(headers, rows, frozenset({6, 7}))),)
    )


def _method_section(report: CompletionReport) -> Section:
    return Section(
        "How this report is calculated",
        "method",
        (
            LATEST_RULE,
            PASS_RATE_RULE,
            COVERAGE_RULE,
            "The verdict is EXIT CRITERIA MET only when every criterion passes. Criteria are read from "
            f"{report.criteria.source}; each is evaluated on the results that match its scope.",
        ),
    )


def _all_results_section(results: Sequence[CaseResult]) -> Section:
    rows = tuple(
        (
            Cell(r.case, mono=True),
            Cell(r.cohort, mono=True),
            Cell(STAGES.get(r.stage, r.stage or "—")),
            Cell(r.theme or "—"),
            Cell(f"P{r.priority}" if r.priority else "—"),
            Cell(r.title),
            Cell(r.status, _tone(r.status)),
            Cell(r.category or ""),
            Cell(r.run_id, mono=True),
        )
        for r in results
    )
    headers = ("Case", "Cohort", "Stage", "Theme", "Priority", "Title", "Status", "Category", "Run")
    return Section("All results", "results", (), (("", Table(headers, rows, empty="No results.")),))


# ---------------------------------------------------------------------------------------------
# HTML: one self-contained file, inline CSS, no scripts, no external references


REPORT_CSS = """
:root { --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #b42318; --bad-bg: #fee4e2; --warn: #9a6700; --warn-bg: #fff4cc;
  --muted: #57606a; --line: #d0d7de; --head: #f6f8fa; --skip-bg: #eaeef2; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 0 auto;
  max-width: 1200px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid
  var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0; } .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td { white-space: pre-wrap; overflow-wrap: break-word; }
td.num, th.num { text-align: right; white-space: nowrap; }
.mono { font-family: ui-monospace, SFMono-Regular, Consolas, monospace; font-size: 12.5px; white-space: nowrap; }
table.identity { width: auto; } table.identity th { width: 190px; }
.passed, .ok { background: var(--ok-bg); color: var(--ok); font-weight: 600; }
.failed, .bad { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.broken { background: var(--warn-bg); color: var(--warn); font-weight: 600; }
.skipped, .not-run { background: var(--skip-bg); color: var(--muted); font-weight: 600; }
.verdict { margin: 18px 0; padding: 16px 20px; border-radius: 6px; color: #fff; }
.verdict.met { background: var(--ok); } .verdict.not-met { background: var(--bad); }
.verdict .word { font-size: 26px; font-weight: 700; letter-spacing: .5px; }
.warning { background: var(--warn-bg); border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 120px; }
.tile .n { font-size: 24px; font-weight: 700; display: block; } .tile .l { font-weight: 600; display: block; }
.tile .note { color: var(--muted); font-size: 12px; display: block; }
.tile.passed, .tile.failed, .tile.broken, .tile.skipped, .tile.not-run, .tile.ok, .tile.bad {
  border-color: currentColor; }
.total { font-weight: 700; } nav a { margin-right: 12px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; } nav { display: none; }
  h2 { break-after: avoid; } tr, .tile, .verdict { break-inside: avoid; } thead { display: table-header-group; }
}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_cell(cell: Cell, tag: str = "td", numeric: bool = False) -> str:
    classes = " ".join(c for c in (cell.tone, "mono" if cell.mono else "", "num" if numeric else "") if c)
    cls = f' class="{classes}"' if classes else ""
    return f"<{tag}{cls}>{_e(cell.text)}</{tag}>"


def _html_table(table: Table) -> str:
    if not table.rows:
        return f'<p class="muted">{_e(table.empty)}</p>'
    head = "".join(_html_cell(Cell(h), "th", i in table.numeric) for i, h in enumerate(table.headers))
    body = "\n".join(
        "<tr>" + "".join(_html_cell(c, numeric=i in table.numeric) for i, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def render_html(report: CompletionReport) -> str:
    secs = sections(report)
    verdict_cls = "met" if report.met else "not-met"
    ident = "\n".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>' for k, v in identity(report))
    tile_html = "\n".join(
        f'<div class="tile {tone}"><span class="n">{_e(n)}</span><span class="l">{_e(label)}</span>'
        f'<span class="note">{_e(note)}</span></div>'
        for n, label, note, tone in tiles(report)
    )
    warn = "".join(f'<p class="warning">{_e(w)}</p>' for w in warnings(report))
    nav = " ".join(f'<a href="#{s.anchor}">{_e(s.title)}</a>' for s in secs)
    body = []
    for s in secs:
        part = [f'<section id="{s.anchor}">', f"<h2>{_e(s.title)}</h2>"]
        part += [f"<p>{_e(p)}</p>" for p in s.paragraphs]
        for sub, table in s.tables:
            if sub:
                part.append(f"<h3>{_e(sub)}</h3>")
            part.append(_html_table(table))
        part.append("</section>")
        body.append("\n".join(part))
    env = next((v for k, v in identity(report) if k == "Environment"), "")
    title = f"MHHS completion report — {env} — {report.verdict}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{REPORT_CSS}</style>
</head>
<body>
<header>
<h1>MHHS test completion report</h1>
<p class="muted">{_e(report.criteria.title)}</p>
<table class="identity">
{ident}
</table>
{warn}
</header>
<div class="verdict {verdict_cls}" role="status">
<div class="word">{_e(report.verdict)}</div>
<div>{_e(report.summary().split(": ", 1)[1])}</div>
</div>
<div class="tiles">
{tile_html}
</div>
<nav>{nav}</nav>
{chr(10).join(body)}
<footer>Generated {_e(_stamp(report.generated))} by mhhs-sit {_e(__version__)}.</footer>
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------
# Markdown: GitHub-flavoured, tables that survive any cell text

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")
_MD_MARK = {
    "ok": "✅ ",
    "passed": "✅ ",
    "bad": "❌ ",
    "failed": "❌ ",
    "broken": "⚠️ ",
    "skipped": "⏭️ ",
    "not-run": "⏸️ ",
}
_MD_MAX = 600  # characters per line of a cell; the HTML report keeps everything


def md_escape(text: str) -> str:
    """Inline Markdown that renders as the literal text: no emphasis, links, HTML or table breaks."""
    text = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_cell(cell: Cell) -> str:
    lines = cell.text.strip().splitlines()
    parts = [md_escape(line if len(line) <= _MD_MAX else line[: _MD_MAX - 1] + "…") for line in lines]
    out = "<br>".join(parts)
    if not out:
        return "—"
    return f"**{out}**" if cell.tone == "total" else _MD_MARK.get(cell.tone, "") + out


def _md_table(table: Table) -> str:
    if not table.rows:
        return f"_{md_escape(table.empty)}_"
    head = "| " + " | ".join(md_escape(h) for h in table.headers) + " |"
    rule = "|" + "|".join("---:" if i in table.numeric else "---" for i in range(len(table.headers))) + "|"
    rows = ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join([head, rule, *rows])


def render_markdown(report: CompletionReport) -> str:
    out = ["# MHHS test completion report", "", f"_{md_escape(report.criteria.title)}_", ""]
    out += ["| | |", "|---|---|", *(f"| **{md_escape(k)}** | {md_escape(v)} |" for k, v in identity(report)), ""]
    out += [f"> [!WARNING]\n> {md_escape(w)}\n" for w in warnings(report)]
    alert, mark = ("TIP", "✅") if report.met else ("CAUTION", "❌")
    out += [f"> [!{alert}]", f"> ## {mark} {report.verdict}", f"> {md_escape(report.summary().split(': ', 1)[1])}", ""]
    t = tiles(report)
    out += ["| " + " | ".join(md_escape(label) for _, label, _, _ in t) + " |", "|" + "---:|" * len(t)]
    out += ["| " + " | ".join(f"**{md_escape(n)}**" for n, _, _, _ in t) + " |", ""]
    for s in sections(report):
        out += [f"## {md_escape(s.title)}", ""]
        for p in s.paragraphs:
            out += [md_escape(p), ""]
        for sub, table in s.tables:
            if sub:
                out += [f"### {md_escape(sub)}", ""]
            out += [_md_table(table), ""]
    out.append(f"<sub>Generated {md_escape(_stamp(report.generated))} by mhhs-sit {md_escape(__version__)}.</sub>")
    return "\n".join(out) + "\n"
