"""Build the RTTM from three sources: the requirements catalogue, the scenarios, and the store.

The scenarios say which cases trace to which requirements and which cohorts each case can run in
(so a case never run in the cycle still shows, *not run*); the store says what happened in the
cycle's runs. A case the store knows but the scenarios no longer define still shows, from the
store's record of it; a scenario file that cannot be loaded shows its cases (as far as they can be
read) as *definition error (file)*: not run, because the file is wrong; never silently missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mhhs_sit.core.gcpause import paused_gc
from mhhs_sit.core.natural_order import natural_key
from mhhs_sit.core.yamlsrc import load_yaml
from mhhs_sit.definitions.model import ONLY_WHEN_ASKED, Cohort, Scenario, TestCase
from mhhs_sit.definitions.requirements import Requirement
from mhhs_sit.definitions.steps import StepKind, StepRegistry
from mhhs_sit.errors import Problem
from mhhs_sit.results.outcome import EXECUTED, Status
from mhhs_sit.results.run import utc_now
from mhhs_sit.rttm.checked import checked_roles
from mhhs_sit.rttm.model import RELIED, UNLOADED, Cell, Outcome, Row, Rttm, RunSummary
from mhhs_sit.rttm.reliance import Reliance
from mhhs_sit.store.cycle import History, collection_errors, histories
from mhhs_sit.store.rows import StoredResult, StoredRun

_ROW_RANK = {"covered": 0, "failing": 1, UNLOADED: 2, "not executed": 3}


@dataclass
class CaseInfo:
    case: str
    title: str = ""
    scenario: str = ""
    stage: str = ""
    theme: str = ""
    priority: int | None = None
    location: str = ""
    requirements: tuple[str, ...] = ()
    cohorts: set[str] = field(default_factory=set)  # where it can run (per the definitions)
    error: str | None = None  # its file could not be loaded (a definition error of the file): why
    checks: frozenset[str] = frozenset()  # roles its steps check at or from (rttm/checked.py)


def case_infos(
    scenarios: Iterable[Scenario],
    cohorts: Mapping[str, Cohort],
    *,
    local: bool,
    kinds: StepRegistry[StepKind] | None = None,
) -> dict[str, CaseInfo]:
    """What the matrix needs of each defined case; ``kinds`` (the loader's step registry) tells
    which steps act as a role, so that a send is never taken for a check."""
    out: dict[str, CaseInfo] = {}
    for sc in scenarios:
        for case in sc.cases:
            out[case.id] = CaseInfo(
                case=case.id,
                title=case.title,
                scenario=sc.id,
                stage=sc.stage,
                theme=str(sc.theme),
                priority=case.priority,
                location=str(case.location),
                # a case counts for what it names itself; only a silent case inherits its scenario's
                requirements=tuple(sorted(set(case.requirements or sc.requirements))),
                cohorts=_runs_in(sc, case, cohorts, local=local),
                checks=checked_roles(case, kinds),
            )
    return out


def _runs_in(sc: Scenario, case: TestCase, cohorts: Mapping[str, Cohort], *, local: bool) -> set[str]:
    """The cohorts a case is collected in. A qualification case runs under ``mhhs-sit qualify``,
    which arranges the cohort itself (the system under test external, every other role simulated
    or played), so any cohort holding its roles counts, not only one the plain rules make eligible."""
    if sc.stage in ONLY_WHEN_ASKED:
        return {cid for cid, c in cohorts.items() if all(role in c.participants for role in sc.roles)}
    return {cid for cid, c in cohorts.items() if c.ineligibility(sc, case, local=local) is None}


def unreadable_cases(file: Path, display: str, reason: str) -> list[CaseInfo]:
    """What can still be read of a scenario file that failed to load: its case ids and requirements."""
    doc = load_yaml(file, display=display).data  # bounded: None for a file over the YAML limits
    if not isinstance(doc, dict):
        return [CaseInfo(case=display, location=display, error=reason)]
    common = _ids(doc.get("requirements"))
    readable = (raw for raw in doc.get("cases") or [] if isinstance(raw, dict) and isinstance(raw.get("id"), str | int))
    found = [_readable_case(doc, raw, common, display, reason) for raw in readable]
    return found or [CaseInfo(case=display, location=display, requirements=tuple(common), error=reason)]


def _readable_case(
    doc: dict[object, object], raw: dict[object, object], common: list[str], display: str, reason: str
) -> CaseInfo:
    """One case of an unreadable file, as far as its YAML says: its id, title and requirements."""
    return CaseInfo(
        case=str(raw["id"]),
        title=str(raw.get("title") or ""),
        scenario=str(doc.get("scenario") or ""),
        stage=str(doc.get("stage") or ""),
        theme=str(doc.get("theme") or ""),
        location=display,
        requirements=tuple(sorted(set(_ids(raw.get("requirements")) or common))),
        error=reason,
    )


def _ids(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


# The result columns the matrix reads from the store (see ``ResultsStore.results``): the outcome,
# and what shows a case the scenarios no longer define.
STORE_FIELDS = (
    "recorded", "category", "message", "title", "scenario", "stage", "theme", "priority", "location", "requirements",
)  # fmt: skip


_NOT_RUN, _PASSED = Status.NOT_RUN.value, Status.PASSED.value  # plain str: compared once per result


def _outcome(row: StoredResult) -> Outcome:
    run = row.run
    return Outcome(
        row.run_id,
        row.recorded or run.finished or run.started,
        row.status,
        run.sprint,
        row.category,
        row.message or "",
        run.evidence,
    )


def _cell(h: History, *, stale: bool = False) -> Cell:
    """Each outcome made once: the deciding one is one of the history's, not a copy."""
    history = tuple(map(_outcome, h.outcomes))
    latest = next((o for o in reversed(history) if o.status != _NOT_RUN), history[-1])
    return Cell(latest=latest, history=history, stale=stale)


def _row_verdict(info: CaseInfo, cells: Mapping[str, Cell]) -> str:
    if info.error is not None:
        return UNLOADED
    executed = [c.latest.status for c in cells.values() if c.latest.status in EXECUTED and not c.stale]
    if not executed:
        return "not executed"
    return "covered" if all(s == _PASSED for s in executed) else "failing"


def _requirement_verdict(verdicts: Sequence[str]) -> str:
    if not verdicts:
        return "uncovered"
    return min(verdicts, key=lambda v: _ROW_RANK[v])


_Covering = list[tuple[CaseInfo, dict[str, Cell], str]]  # a requirement's cases, their cells and verdicts
_NEVER_RUN = Cell(Outcome(run_id="", finished="", status=Status.NOT_RUN), ())


@paused_gc()
def build_rttm(
    requirements: Mapping[str, Requirement],
    cases: Mapping[str, CaseInfo],
    store_rows: Sequence[StoredResult],
    *,
    cycle: str | None = None,
    runs: Sequence[StoredRun] = (),
    roles: Iterable[str] = (),
    participant: str | None = None,
    only_cohorts: Iterable[str] = (),
    reliance: Sequence[Reliance] = (),
    qualification_stage: str | None = None,
) -> Rttm:
    """The matrix. ``roles`` (with ``participant``) makes the qualification variant: only the
    requirements that apply to those roles, covered only by cases that check at or from one of
    them (a case merely run in a cohort holding the role is no evidence of its system);
    ``only_cohorts`` narrows the status columns; ``reliance`` (loaded by rttm/reliance.py) covers
    requirements no case of these runs covers, and ``qualification_stage`` is the stage (PIT, QT)
    the runs' own cases are of."""
    hist = histories(store_rows)
    collected = {(info.case, c) for info in cases.values() for c in info.cohorts}
    unreadable = {info.case for info in cases.values() if info.error is not None}
    stale = {key for key in hist if key not in collected and key[0] not in unreadable}
    cases = _with_stored_cases(dict(cases), store_rows, hist)
    wanted_cohorts = set(only_cohorts)
    columns = sorted(
        {c for info in cases.values() for c in info.cohorts if not wanted_cohorts or c in wanted_cohorts},
        key=natural_key,
    )
    role_set = frozenset(roles)
    by_requirement, unknown = _cases_by_requirement(requirements, cases, hist, wanted_cohorts, stale, role_set)
    rows: list[Row] = []
    verdicts: dict[str, str] = {}
    relied = {r.requirement: r for r in reliance}
    for req_id in sorted(requirements, key=natural_key):
        req = requirements[req_id]
        if role_set and not req.applies_to(role_set):
            continue
        covering = sorted(by_requirement.get(req_id, []), key=lambda t: natural_key(t[0].case))
        verdict = _requirement_verdict([v for _, _, v in covering])
        found = _requirement_rows(req, covering, qualification_stage or "")
        verdicts[req_id], found = placed(req, verdict, found, relied.get(req_id))
        rows.extend(found)
    return Rttm(
        cycle=cycle,
        generated=utc_now(),
        cohorts=tuple(columns),
        rows=tuple(rows),
        requirement_verdicts=verdicts,
        runs=tuple(_run_summary(r) for r in runs),
        roles=tuple(sorted(role_set)),
        participant=participant,
        unknown_requirements=tuple(sorted(unknown, key=lambda t: (natural_key(t[0]), natural_key(t[1])))),
        qualification_stage=qualification_stage,
        reliance=tuple(reliance),
    )


def placed(req: Requirement, verdict: str, rows: list[Row], relied: Reliance | None) -> tuple[str, list[Row]]:
    """A requirement's verdict and rows once reliance is placed on earlier evidence for it.

    Reliance covers a requirement no case of these runs has evidenced (uncovered, or its cases
    not executed): a row of its own, *covered by reliance*, carrying the evidence's stage. A
    requirement a case of these runs covered stays covered by the case, and one a case failed
    stays failing (what the system does now outweighs what it did before): the reliance is then
    only noted on its rows, never counted."""
    if relied is None:
        return verdict, rows
    if verdict in ("uncovered", "not executed"):
        kept = [r for r in rows if r.case is not None]
        row = Row(requirement=req, case=None, stage=req.stage, verdict=RELIED, qualification_stage=relied.stage)
        return RELIED, [*kept, dataclasses.replace(row, reliance=relied, evidence=relied.evidence)]
    return verdict, [dataclasses.replace(r, reliance=relied) for r in rows]


def _with_stored_cases(
    cases: dict[str, CaseInfo], store_rows: Sequence[StoredResult], hist: Mapping[tuple[str, str], History]
) -> dict[str, CaseInfo]:
    """The defined cases, plus files the store saw fail to load and cases only the store still knows."""
    for file, err in collection_errors(store_rows).items():
        if not any(c.location.startswith(file) for c in cases.values() if c.error):
            first = (err.message or "").splitlines()[:1]
            cases.setdefault(file, CaseInfo(case=file, location=file, error=first[0] if first else "not collected"))
    for (case_id, cohort), h in hist.items():
        info = cases.get(case_id)
        if info is None:
            info = cases[case_id] = _stored_case(case_id, h.outcomes[-1])
        if cohort:
            info.cohorts.add(cohort)
    return cases


def _stored_case(case_id: str, last: StoredResult) -> CaseInfo:
    """A case the store recorded and the scenarios no longer define, as its last result described it."""
    return CaseInfo(
        case=case_id,
        title=last.title or "",
        scenario=last.scenario or "",
        stage=last.stage or "",
        theme=last.theme or "",
        priority=last.priority,
        location=last.location or "",
        requirements=last.requirements or (),
    )


def _cases_by_requirement(
    requirements: Mapping[str, Requirement],
    cases: Mapping[str, CaseInfo],
    hist: Mapping[tuple[str, str], History],
    wanted_cohorts: set[str],
    stale: set[tuple[str, str]],
    checked_at: frozenset[str] = frozenset(),
) -> tuple[dict[str, _Covering], set[tuple[str, str]]]:
    """Each requirement's covering cases (with ``checked_at``, only those checking at or from one
    of those roles); and (requirement, case) pairs naming no known requirement."""
    by_requirement: dict[str, _Covering] = {}
    unknown: set[tuple[str, str]] = set()
    for info in cases.values():
        if checked_at and not info.checks & checked_at:
            unknown.update((rid, info.case) for rid in info.requirements if rid not in requirements)
            continue
        cells = _case_cells(info, hist, wanted_cohorts, stale)
        verdict = _row_verdict(info, cells)
        for rid in info.requirements:
            if rid in requirements:
                by_requirement.setdefault(rid, []).append((info, cells, verdict))
            else:
                unknown.add((rid, info.case))
    return by_requirement, unknown


def _case_cells(
    info: CaseInfo, hist: Mapping[tuple[str, str], History], wanted_cohorts: set[str], stale: set[tuple[str, str]]
) -> dict[str, Cell]:
    cells: dict[str, Cell] = {}
    for cohort in info.cohorts:
        if wanted_cohorts and cohort not in wanted_cohorts:
            continue
        found = hist.get((info.case, cohort))
        cells[cohort] = _cell(found, stale=(info.case, cohort) in stale) if found else _NEVER_RUN
    return cells


def _requirement_rows(req: Requirement, covering: _Covering, stage: str = "") -> list[Row]:
    if not covering:
        return [Row(requirement=req, case=None, stage=req.stage, verdict="uncovered")]
    return [_case_row(req, info, cells, verdict, stage) for info, cells, verdict in covering]


def _case_row(req: Requirement, info: CaseInfo, cells: dict[str, Cell], verdict: str, stage: str = "") -> Row:
    executed = [c.latest for c in cells.values() if c.latest.status in EXECUTED and not c.stale]
    newest = max(executed, key=lambda o: o.finished) if executed else None
    return Row(
        requirement=req,
        case=info.case,
        case_title=info.title,
        scenario=info.scenario,
        stage=info.stage,
        theme=info.theme,
        priority=info.priority,
        location=info.location,
        cells=cells,
        verdict=verdict,
        latest_run=newest.finished if newest else None,
        evidence=newest.evidence if newest else None,
        qualification_stage=stage,
        unloaded=(info.error or "")[:300],
    )


def _run_summary(r: StoredRun) -> RunSummary:
    return RunSummary(
        r.run_id, r.started, r.finished, r.state, r.cycle, r.sprint, r.environment, r.ir, r.evidence, r.results
    )


def problem_files(problems: Iterable[Problem]) -> dict[str, str]:
    """File -> the first problem's text, for scenario files that did not load."""
    out: dict[str, str] = {}
    for p in problems:
        out.setdefault(p.file, p.render())
    return out
