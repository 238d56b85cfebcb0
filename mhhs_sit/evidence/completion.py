"""The completion report: what the IPA reads to decide whether a test stage may exit.

A cycle is usually several runs (the first pass, then re-runs of what failed), so one or more
``results.json`` are combined into one result per case and cohort — the latest run wins — and
then counted, measured for requirement coverage and judged against the exit criteria
(``criteria.py``). Both renderings (self-contained HTML and GitHub Markdown) are built from the
same ``Section``s, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mhhs_sit import __version__
from mhhs_sit.core.natural_order import natural_key
from mhhs_sit.definitions.model import STAGES
from mhhs_sit.evidence.criteria import CriteriaSet, Outcome, evaluate
from mhhs_sit.evidence.outcomes import (
    CATEGORIES,
    STATUSES,
    Coverage,
    Cycle,
    CycleResult,
    RunInfo,
    Tally,
    _when,
    coverage,
    pct,
    tally,
    tally_by,
)
from mhhs_sit.results.outcome import UNSUCCESSFUL, Status
from mhhs_sit.results.run import parse_utc, utc_now

PASS_RATE_RULE = (
    "Pass rate = passed ÷ executed, where executed = passed + failed + broken + definition error (a scenario "
    "file that could not be loaded is one definition error, of the file). "
    "Skipped and not-run results are counted separately and are not part of the pass rate."
)
COVERAGE_RULE = (
    "A case covers a requirement when it was executed (passed, failed, broken or definition error) in at least "
    "one cohort and passed in every cohort in which it was executed; cohorts where it was skipped or not run count "
    "neither for nor against it. A requirement is covered when at least one of the cases that reference it covers it."
)
BREACHES_SHOWN = 25  # per criterion in the criteria table; every one is still listed in its own section
LATEST_RULE = (
    "For each case and cohort the result of the latest run (by the run's finish time; on a tie, the file "
    "given later) counts; earlier results of the same case and cohort are superseded, except that a later "
    "run which did not reach the case (not run) leaves an earlier recorded outcome in place."
)

# ---------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class Cell:
    text: str  # "\n" is a line break
    tone: str = ""  # passed | failed | broken | definition-error | skipped | not-run | ok | bad | total | "" (plain)
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


@dataclass(frozen=True)
class CompletionReport:
    cycle: Cycle
    criteria: CriteriaSet
    outcomes: tuple[Outcome, ...]
    generated: str
    covers: str | None = None  # what the report is about, e.g. "cycle C2 (3 runs)"; default from its runs
    catalogue: tuple[str, ...] = ()  # the requirements catalogue's ids: the coverage denominator, as the RTTM's
    catalogue_source: str | None = None  # where the catalogue was read from, for the denominator line
    related: tuple[tuple[str, str], ...] = ()  # (label, relative link): the run folder's other reports
    participant: str | None = None  # a qualification session's participant: named on every page
    qualification_stage: str | None = None  # PIT or QT: the stage its cases are evidence of
    reliance: tuple[str, ...] = ()  # one line per requirement relied on (earlier evidence, by sha256)

    @property
    def scope(self) -> str:
        """What the report covers, for its title: the cycle, the one run, or the runs combined."""
        if self.covers:
            return self.covers
        runs = self.cycle.runs
        return f"run {runs[0].run_id}" if len(runs) == 1 else f"{len(runs)} runs combined"

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


def build_report(
    cycle: Cycle,
    criteria: CriteriaSet,
    *,
    generated: str | None = None,
    covers: str | None = None,
    catalogue: Iterable[str] = (),
    catalogue_source: str | None = None,
) -> CompletionReport:
    outcomes = evaluate(criteria, cycle.results)
    return CompletionReport(
        cycle, criteria, outcomes, generated or utc_now(), covers, tuple(catalogue), catalogue_source
    )


def requirement_coverage(report: CompletionReport) -> tuple[Coverage, ...]:
    """Coverage over the one denominator the RTTM uses too: every requirement of the catalogue
    (referenced by a case or not); without a catalogue, the requirements the cases reference."""
    if not report.catalogue:
        return coverage(report.cycle.results)
    known = set(report.catalogue)
    return tuple(c for c in coverage(report.cycle.results, known) if c.requirement in known)


def denominator_line(report: CompletionReport, total: int) -> str:
    """The one line that says what the coverage figure is out of, and that the RTTM counts the same."""
    if report.catalogue:
        return (
            f"Denominator: the {total} requirements of the catalogue ({report.catalogue_source or 'given'}), "
            "referenced by a case or not, as the RTTM counts them."
        )
    return (
        f"Denominator: the {total} requirements the cases reference (no requirements catalogue was read; the "
        "RTTM counts every catalogued requirement)."
    )


# ---------------------------------------------------------------------------------------------
# Format-neutral content: both renderers walk the same sections


def _tone(status: str) -> str:
    return status.replace(" ", "-")


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
    qualification = [("Participant", report.participant)] if report.participant else []
    if report.qualification_stage:
        qualification.append(("Qualification stage", report.qualification_stage))
    if report.participant or report.reliance:
        qualification.append(("Reliance placed", _reliance(report.reliance)))
    return [
        *qualification,
        ("Covers", report.scope),
        ("Environment", _listed((_environment(r) for r in runs), "unknown")),
        ("Interim release", _listed((r.ir for r in runs), "unset")),
        ("Interface spec version", _listed((r.spec_version for r in runs), "unknown")),
        ("Runs", ", ".join(r.run_id for r in runs)),
        ("Period", _period(runs)),
        ("Git commit", _listed((r.git_commit for r in runs), "unknown")),
        ("Cohorts", _cohorts(runs)),
        ("Framework", _listed(f"mhhs-sit {r.framework_version}" if r.framework_version else None for r in runs)),
        ("Exit criteria", f"{report.criteria.title} ({report.criteria.source})"),
        ("Generated", f"{_stamp(report.generated)} by mhhs-sit {__version__}"),
    ]


def _reliance(lines: Sequence[str]) -> str:
    """How many requirements rest on earlier evidence, and which (their coverage is the RTTM's)."""
    if not lines:
        return "none"
    noun = "requirement" if len(lines) == 1 else "requirements"
    return f"{len(lines)} {noun} covered by earlier evidence (see the RTTM):\n" + "\n".join(lines)


def _cohorts(runs: Sequence[RunInfo]) -> str:
    return ", ".join(sorted(_distinct(c for r in runs for c in r.cohorts), key=natural_key)) or "none"


def _listed(values: Iterable[str | None], otherwise: str = "") -> str:
    return ", ".join(_distinct(values)) or otherwise


def _environment(run: RunInfo) -> str | None:
    return f"{run.environment} ({run.environment_tag})" if run.environment_tag else run.environment


def _period(runs: Sequence[RunInfo]) -> str:
    starts = sorted((r.started for r in runs if r.started), key=_when)
    ends = sorted((r.finished for r in runs if r.finished), key=_when)
    return f"{_stamp(starts[0])} – {_stamp(ends[-1])}" if starts and ends else "unknown"


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
    cov = requirement_coverage(report)
    covered = sum(c.covered for c in cov)
    rate = t.pass_rate
    rate_tone = "" if rate is None else "ok" if rate == 1 else "bad"
    return [
        (str(t.total), "Results", "case × cohort", ""),
        (pct(rate), "Pass rate", f"{t.passed} passed of {t.executed} executed", rate_tone),
        (str(t.passed), "Passed", "", "passed" if t.passed else ""),
        (str(t.failed), "Failed", "", "failed" if t.failed else ""),
        (str(t.broken), "Broken", "", "broken" if t.broken else ""),
        (str(t.definition_error), "Definition errors", "", "definition-error" if t.definition_error else ""),
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
        _coverage_section(report),
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
    # the definition error column only when there is one, not as a column of zeros
    statuses = [s for s in STATUSES if s not in _WHEN_ANY or any(t.count(s) for _, t in groups)]
    rows = [_tally_row(name, t, statuses) for name, t in groups]
    if total is not None:
        rows.append(_tally_row("Total", total, statuses, "total"))
    return Table(
        (first, "Results", *(s.capitalize() for s in statuses), "Pass rate"),
        tuple(rows),
        frozenset(range(1, len(statuses) + 3)),
    )


_WHEN_ANY = (Status.DEFINITION_ERROR,)


def _tally_row(name: str, t: Tally, statuses: Sequence[str], tone: str = "") -> tuple[Cell, ...]:
    counts = [Cell(str(t.count(s)), _tone(s) if t.count(s) and s != Status.PASSED else "") for s in statuses]
    rate_tone = "" if t.pass_rate is None else "ok" if t.pass_rate == 1 else "bad"
    return (Cell(name, tone), Cell(str(t.total)), *counts, Cell(pct(t.pass_rate), rate_tone))


def _totals_section(results: Sequence[CycleResult]) -> Section:
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


def _step_text(r: CycleResult) -> str:
    if r.result.unloaded:
        return "the scenario file could not be loaded: none of its cases ran"
    s = r.failing_step
    if s is None:
        return "before the first step"
    if s.detail and s.detail.strip() != r.message.strip():
        return f"{s.text()}\n{s.detail}"
    return s.text()


_UNCATEGORISED = "uncategorised"  # a failed or broken result that names no category (a hand-written file)


def _by_category(results: Sequence[CycleResult]) -> list[tuple[str, list[CycleResult]]]:
    """The failed, broken and definition-error results per category, in the categories' order (uncategorised last)."""
    by_cat: dict[str, list[CycleResult]] = {}
    for r in results:
        if r.status in UNSUCCESSFUL:
            by_cat.setdefault(r.category or _UNCATEGORISED, []).append(r)
    return [(c, by_cat[c]) for c in (*CATEGORIES, _UNCATEGORISED) if c in by_cat]


def _category_summary(groups: list[tuple[str, list[CycleResult]]]) -> Table:
    # the definition errors column only when there is one (as in the totals)
    shown = [Status.FAILED, Status.BROKEN]
    if any(r.status == Status.DEFINITION_ERROR for _, rs in groups for r in rs):
        shown.append(Status.DEFINITION_ERROR)
    rows = tuple(
        (
            Cell(cat),
            *(Cell(str(sum(r.status == s for r in rs))) for s in shown),
            Cell(str(len(rs)), "failed"),
            Cell(str(len({r.case for r in rs}))),
        )
        for cat, rs in groups
    )
    return Table(
        ("Category", *(f"{s.capitalize()}s" if s == Status.DEFINITION_ERROR else s.capitalize() for s in shown),
         "Results", "Distinct cases"),
        rows,
        frozenset(range(1, len(shown) + 3)),
        empty="No failed, broken or definition-error results.",
    )  # fmt: skip


def _category_table(cat: str, rs: list[CycleResult]) -> tuple[str, Table]:
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
        for r in rs
    )
    headers = ("Case", "Cohort", "Status", "Priority", "Title", "Message", "Failing step", "Run")
    return f"{cat.capitalize()} ({len(rows)})", Table(headers, rows)


def _failures_section(results: Sequence[CycleResult]) -> Section:
    groups = _by_category(results)
    tables = (("", _category_summary(groups)), *(_category_table(cat, rs) for cat, rs in groups))
    intro = (
        "Failed = the product did not behave as the scenario expects (the only status that is a product defect); "
        "broken = the case could not be judged (environment, test data or framework); definition error = the test "
        "file is wrong, found when a case ran or when its scenario file could not be loaded (a result of the file, "
        "named by its path). Each failed, broken or definition-error result carries its category."
    )
    return Section("Failures by category", "failures", (intro,), tables)


def _not_executed_section(results: Sequence[CycleResult]) -> Section:
    rows = tuple(
        (
            Cell(r.case, mono=True),
            Cell(r.cohort, mono=True),
            Cell(r.status, _tone(r.status)),
            Cell(r.title),
            Cell(r.message or ("the run ended before this case" if r.status == Status.NOT_RUN else "—")),
            Cell(r.run_id, mono=True),
        )
        for r in results
        if not r.executed
    )
    table = Table(("Case", "Cohort", "Status", "Title", "Reason", "Run"), rows, empty="Every result was executed.")
    intro = "Skipped and not-run results are not in the pass rate; they are listed here so that nothing is hidden."
    return Section("Skipped and not run", "not-executed", (intro,), (("", table),))


_COVERAGE_TONE = {"covered": "ok", "failing": "bad", "not executed": "not-run", "not referenced": "bad"}


def _coverage_section(report: CompletionReport) -> Section:
    cov = requirement_coverage(report)
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
    intro = (
        COVERAGE_RULE,
        f"{covered} of {len(cov)} requirements are covered ({rate}).",
        denominator_line(report, len(cov)),
    )
    table = Table(("Requirement", "Coverage", "Cases (cohort status)"), rows, empty="No requirement to cover.")
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


def _all_results_section(results: Sequence[CycleResult]) -> Section:
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


# ---------------------------------------------------------------------------------------------
# Markdown: GitHub-flavoured, tables that survive any cell text
