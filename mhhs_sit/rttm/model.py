"""The RTTM as data: one row per requirement × covering case, and one per uncovered requirement.

Built by ``rttm.build`` from the requirements catalogue and a cycle's results (latest outcome
per case × cohort wins, as in the completion report); rendered to xlsx, csv, json and html by the
``render_*`` modules, which only read this model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from mhhs_sit.definitions.requirements import Requirement
from mhhs_sit.results.outcome import Category, Status
from mhhs_sit.rttm.reliance import Reliance

# Row and requirement verdicts, in the order a reviewer should look at them.
# A covering case's scenario file could not be loaded: a definition error of the file, so the case never ran.
UNLOADED = "definition error (file)"
VERDICTS = ("failing", UNLOADED, "not executed", "uncovered", "covered by reliance", "covered")
RELIED = "covered by reliance"  # evidenced by an earlier run or evidence pack (rttm/reliance.py)
COVERED = frozenset({"covered", RELIED})  # what counts towards coverage


class Outcome(NamedTuple):
    """One result of a case in one cohort, in one run. (A named tuple: a cycle's RTTM makes one per
    recorded result, 100,000 of them, and a frozen dataclass costs several times more to make.)"""

    run_id: str
    finished: str  # ISO 8601 UTC time the run finished (or was last seen)
    status: Status  # str-valued: compares and renders as its spelling
    sprint: str | None = None
    category: Category | None = None
    message: str = ""
    evidence: str | None = None  # where the run's evidence is (directory or report path/URL)


@dataclass(frozen=True)
class Cell:
    """A case in one cohort across the cycle: the deciding outcome and every outcome, oldest first."""

    latest: Outcome
    history: tuple[Outcome, ...]
    # the definitions no longer collect the case in this cohort (removed, or no longer eligible):
    # its outcomes are history, shown as such, and never count for or against a requirement
    stale: bool = False

    @property
    def shown(self) -> str:
        """The status as a reader sees it: ``passed (stale)`` for an item no longer collected."""
        return f"{self.latest.status} (stale)" if self.stale else str(self.latest.status)


@dataclass(frozen=True)
class Row:
    requirement: Requirement
    case: str | None  # None: no case covers the requirement
    case_title: str = ""
    scenario: str = ""
    stage: str = ""
    theme: str = ""
    priority: int | None = None
    location: str = ""  # the case's file:line
    cells: dict[str, Cell] = field(default_factory=dict)  # cohort -> cell (absent: not collected there)
    verdict: str = "uncovered"  # one of VERDICTS
    latest_run: str | None = None  # ISO time of the latest run that executed the case
    evidence: str | None = None  # the evidence of that run
    # qualification variant: the stage (PIT, QT) the row's evidence is of, and the reliance placed
    # on earlier evidence for the requirement (counted when ``case`` is None, only noted otherwise)
    qualification_stage: str = ""
    reliance: Reliance | None = None
    unloaded: str = ""  # verdict UNLOADED: why the case's scenario file could not be loaded (its first problem)


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    started: str
    finished: str | None
    state: str  # finished | interrupted | running
    cycle: str | None = None
    sprint: str | None = None
    environment: str | None = None
    ir: str | None = None
    evidence: str | None = None
    results: int = 0


@dataclass(frozen=True)
class Rttm:
    cycle: str | None
    generated: str  # ISO time
    cohorts: tuple[str, ...]  # status columns, in order
    rows: tuple[Row, ...]  # requirement order, covering cases in case order within
    requirement_verdicts: dict[str, str]  # requirement id -> verdict (covered if any row covers it)
    runs: tuple[RunSummary, ...] = ()  # the cycle's runs, oldest first
    roles: tuple[str, ...] = ()  # qualification variant: only requirements for these roles
    participant: str | None = None  # e.g. "LDSO DNOA (2300000501)" for a qualification RTTM
    unknown_requirements: tuple[tuple[str, str], ...] = ()  # (id, case) referenced but not catalogued
    only_runs: tuple[str, ...] = ()  # built from these runs alone (a run folder's own RTTM), not a cycle
    links_from: str | None = None  # the directory the file is written into: evidence links are relative to it
    related: tuple[tuple[str, str], ...] = ()  # (label, relative link): the run folder's other reports
    qualification_stage: str | None = None  # qualification variant: the stage this session's cases are of
    reliance: tuple[Reliance, ...] = ()  # qualification variant: the reliance placed, as loaded

    @property
    def scope(self) -> str:
        """What the matrix covers, for its title: a cycle, one run (or a few), or the whole store."""
        if self.cycle:
            return f"cycle {self.cycle}"
        if self.only_runs:
            return ("run " if len(self.only_runs) == 1 else "runs ") + ", ".join(self.only_runs)
        return "every run in the store"

    def coverage(self, key: str) -> list[tuple[str, int, int]]:
        """(group, covered, total requirements) by ``stage`` or ``theme``, in reading order (stages
        in test-stage order, themes 2 before 10, "(none)" last). A requirement counts in every group
        one of its rows falls in: its own stage for ``stage``; uncovered ones under "(none)" for
        ``theme``."""
        from mhhs_sit.core.natural_order import natural_key
        from mhhs_sit.evidence.outcomes import stage_order

        groups: dict[str, set[str]] = {}
        for row in self.rows:
            name = (row.requirement.stage or row.stage or "(any)") if key == "stage" else (row.theme or "(none)")
            groups.setdefault(name, set()).add(row.requirement.id)

        def rank(name: str) -> tuple[object, ...]:
            if key == "stage":
                return (stage_order(name), natural_key(name))
            return (name.startswith("("), natural_key(name))

        return [
            (name, sum(1 for r in ids if self.requirement_verdicts.get(r) in COVERED), len(ids))
            for name, ids in sorted(groups.items(), key=lambda kv: rank(kv[0]))
        ]

    @property
    def covered(self) -> int:
        """Requirements covered, by a case or by reliance."""
        return sum(1 for v in self.requirement_verdicts.values() if v in COVERED)

    @property
    def relied_on(self) -> int:
        """Requirements covered by reliance on earlier evidence alone (no case of these runs covers them)."""
        return sum(1 for v in self.requirement_verdicts.values() if v == RELIED)

    @property
    def qualification(self) -> bool:
        return bool(self.roles)
