"""What the store gives back: a cycle's runs and their recorded results, typed.

Free of SQLAlchemy, so a cycle's history (``cycle.py``) and the RTTM can name them without a
database layer. A recorded result is a named tuple: the RTTM reads 100,000 of them, and a tuple
made from the database's row costs a fraction of a dataclass or a dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from mhhs_sit.results.model import CaseKey
from mhhs_sit.results.outcome import Category, Status


class RunLabel(NamedTuple):
    """What each recorded result carries of its run: one per run, shared by all its results."""

    run_id: str
    started: str
    finished: str | None
    heartbeat: str | None
    cycle: str | None
    sprint: str | None
    evidence: str | None
    environment: str | None


class StoredResult(NamedTuple):
    """One item's outcome in one run, as ``mhhs_results`` holds it (``None``: not read, or not recorded).

    The fields come in the table's column order, then the run's labels."""

    run_id: str
    nodeid: str
    case_id: str
    cohort: str
    status: Status
    title: str | None
    scenario: str | None
    scenario_title: str | None
    stage: str | None
    theme: str | None
    priority: int | None
    tags: tuple[str, ...] | None
    requirements: tuple[str, ...] | None
    location: str | None
    category: Category | None
    message: str | None
    failing_step: str | None
    duration_s: float | None
    recorded: str | None  # when the outcome was recorded (not run: when collected)
    data: dict[str, object] | None  # the test data the case drew (read only when asked for)
    run: RunLabel

    @property
    def key(self) -> CaseKey:
        return CaseKey(self.case_id, self.cohort)


@dataclass(frozen=True, slots=True)
class StoredRun:
    """One run of a cycle, with the state a reader should believe and how many items it recorded."""

    run_id: str
    cycle: str | None
    sprint: str | None
    state: str  # running | finished | interrupted
    started: str
    finished: str | None
    heartbeat: str | None
    environment: str | None
    environment_tag: str | None
    ir: str | None
    spec_version: str | None
    cohorts: tuple[str, ...]
    git_commit: str | None
    framework_version: str | None
    seed: int | None
    host: str | None
    pid: int | None
    evidence: str | None
    exit_status: int | None
    command: str | None
    results: int = 0


@dataclass(frozen=True, slots=True)
class CycleSpan:
    """A cycle as the store knows it: how many runs, when the first and last started, its sprints."""

    cycle: str | None
    runs: int
    first: str
    last: str
    sprints: frozenset[str]
