"""The RTTM as CSV (flat rows, as spreadsheets and the programme's templates want) and JSON
(grouped per requirement, with every outcome of the history, for tools), plus the column list,
history text and summary figures the workbook and the HTML page share, so no two formats can
disagree about them.

The JSON document (``to_json``; ``SCHEMA`` changes only if a key changes meaning or goes away,
new keys may be added)::

    {
      "schema": 2,
      "cycle": "C2" | null,                 # null: the runs "covers" names
      "covers": "cycle C2" | "run r1" | "every run in the store",
      "generated": "<ISO 8601 UTC>",
      "cohorts": ["C1", ...],               # the status columns, in order
      "participant": "LDSO DNOA (...)" | null,
      "roles": ["LDSO", ...],               # qualification variant; [] otherwise
      "qualification_stage": "QT" | "PIT" | null,  # qualification variant: the stage of its own cases
      "summary": {"requirements": n, "covered": n, "coverage": 0.5 | null,
                  "covered_by_case": n, "covered_by_reliance": n,   # qualification: covered = sum
                  "by_verdict": {"failing": n, "definition error (file)": n, "not executed": n,
                                 "uncovered": n, "covered by reliance": n, "covered": n},
                  "by_stage": [{"stage", "covered", "requirements", "coverage"}, ...],
                  "by_theme": [{"theme", "covered", "requirements", "coverage"}, ...]},
      "runs": [{"run_id", "started", "finished", "state", "cycle", "sprint", "environment", "ir",
                "evidence", "results"}, ...],                       # oldest first
      "requirements": [{                    # one entry per requirement, catalogue order
        "id", "title", "source", "stage", "priority", "roles", "verdict",
        "reliance": {"evidence", "sha256", "stage", "kind", "run_id", "note", "location",
                     "counted"},            # only when reliance is placed; counted: no case decides
        "cases": [{                         # [] when uncovered
          "case", "title", "scenario", "stage", "theme", "location", "verdict",
          "unloaded",                       # verdict "definition error (file)" only: the file's first problem
          "latest_run", "evidence",         # the latest run that executed the case, if any
          "qualification_stage",            # qualification variant only
          "cohorts": {"C1": {"status", "run_id", "finished", "category", "message",
                             "history": [{"run_id", "finished", "status", "sprint"}, ...]}}
        }]
      }],
      "unknown_requirements": [{"id", "case"}, ...]  # referenced by a case, not in the catalogue
    }

A cohort missing from a case's ``cohorts`` means the case is not collected there; ``run_id`` and
``finished`` are null for a case that can run there but has not in this cycle (status "not run").
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Generic, TypeVar

from mhhs_sit.rttm.model import RELIED, VERDICTS, Cell, Row, Rttm

SCHEMA = 2  # 2: the verdict "collection error" became "definition error (file)"
T = TypeVar("T")
FIXED_COLUMNS = (
    "Requirement ID",
    "Requirement",
    "Source",
    "Stage",
    "Priority",
    "Roles",
    "Case",
    "Case title",
    "Scenario",
    "Theme",
)
TAIL_COLUMNS = ("History", "Latest run", "Evidence", "Verdict")
QUALIFICATION_COLUMNS = ("Qualification stage", "Reliance")  # the qualification variant's, last
NOT_COLLECTED = "—"  # the status shown for a cohort the case is not collected in


def columns(rttm: Rttm) -> list[str]:
    """The flat matrix's columns: the CSV header and the workbook's RTTM sheet header."""
    return [*FIXED_COLUMNS, *rttm.cohorts, *TAIL_COLUMNS, *(QUALIFICATION_COLUMNS if rttm.qualification else ())]


def reliance_text(row: Row) -> str:
    """The Reliance cell: what the requirement is covered by when no case covers it, or the
    reliance noted (not counted) beside the case that covers it or fails it now."""
    if row.reliance is None:
        return ""
    counted = row.case is None
    lead = "by reliance: " if counted else "noted, not counted (a case of this session decides): "
    return lead + row.reliance.shown


def qualification_cells(row: Row, rttm: Rttm) -> list[object]:
    """The qualification variant's last columns for ``row`` (none otherwise)."""
    return [row.qualification_stage, reliance_text(row)] if rttm.qualification else []


def history_text(row: Row, cohorts: tuple[str, ...]) -> str:
    """``C1: failed → passed; C2: passed``: every outcome of the cycle, oldest first, per cohort (led,
    for a case whose scenario file could not be loaded, by why)."""
    parts = [f"file not loaded: {row.unloaded}"] if row.unloaded else []
    for cohort in cohorts:
        cell = row.cells.get(cohort)
        if cell is None or not cell.history:
            continue
        parts.append(f"{cohort}: " + " → ".join(o.status for o in cell.history))
    return "; ".join(parts)


class PerCase(Generic[T]):
    """``make(row)`` once per case: a case covering several requirements has one row per
    requirement, all sharing its cells, and what is made from them is the same for each."""

    def __init__(self, make: Callable[[Row], T]) -> None:
        self.make = make
        self.made: dict[int, tuple[dict[str, Cell], T]] = {}

    def __call__(self, row: Row) -> T:
        found = self.made.get(id(row.cells))
        if found is not None and found[0] is row.cells:
            return found[1]
        value = self.make(row)
        self.made[id(row.cells)] = (row.cells, value)  # the cells kept alive, so their id stays theirs
        return value


def history_texts(rttm: Rttm) -> PerCase[str]:
    return PerCase(lambda row: history_text(row, rttm.cohorts))


def status_of(cell: Cell | None) -> str:
    return NOT_COLLECTED if cell is None else cell.shown


REPORT = "report/index.html"  # a run folder's Allure report


@lru_cache(maxsize=4096)  # a cycle's rows share a handful of run folders: each looked at once (cleared per write)
def link_target(target: str, base: str | None = None) -> str | None:
    """Where evidence can be opened from: a URL as is; a run folder, relative to ``base`` (the
    directory the linking file is in), so the link survives packing and moving both together, and
    to its Allure report when it has one (or, for the linking file's own folder, will have);
    without ``base``, an absolute path as a ``file:`` URI. A relative path has nothing reliable to
    be relative to, so no link."""
    if "://" in target:
        return target
    path = Path(target)
    if not path.is_absolute():
        return None
    if base is None:
        return path.as_uri()
    try:
        relative = os.path.relpath(path, base)
    except ValueError:  # another drive
        return path.as_uri()
    if path.is_dir() and (relative == "." or (path / REPORT).is_file()):
        relative = REPORT if relative == "." else f"{relative}/{REPORT}"
    return urllib.parse.quote(Path(relative).as_posix())


def flat_row(row: Row, rttm: Rttm, history: PerCase[str] | None = None) -> list[object]:
    """One CSV row, in ``columns`` order; an uncovered requirement has blank case and cohort cells."""
    req = row.requirement
    return [
        req.id,
        req.title,
        req.source,
        req.stage or "any",
        req.priority if req.priority is not None else "",
        ", ".join(req.roles) or "all",
        row.case or "",
        row.case_title,
        row.scenario,
        row.theme,
        *(status_of(row.cells.get(c)) if row.case else "" for c in rttm.cohorts),
        (history or history_texts(rttm))(row),
        row.latest_run or "",
        row.evidence or "",
        row.verdict,
        *qualification_cells(row, rttm),
    ]


def write_csv(rttm: Rttm, path: Path) -> Path:
    """UTF-8 without a byte-order mark, one line per row of the matrix."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(columns(rttm))
        history = history_texts(rttm)
        out.writerows(flat_row(row, rttm, history) for row in rttm.rows)
    return path


@dataclass(frozen=True, slots=True)
class Headline:
    """The figures every format leads with: requirements in scope, how many are covered, and per verdict."""

    requirements: int
    covered: int
    coverage: float | None  # covered / requirements, 4 places; None when there is none
    by_verdict: dict[str, int]  # every verdict, in VERDICTS order
    relied_on: int = 0  # of ``covered``, those covered by reliance alone (qualification variant)


def denominator_line(rttm: Rttm) -> str:
    """The one line that says what the coverage figure is out of, and that the completion report counts the same."""
    scope = " that apply to the roles asked for" if rttm.roles else ""
    return (
        f"Denominator: the {len(rttm.requirement_verdicts)} requirements of the catalogue{scope}, referenced by a "
        "case or not, as the completion report counts them."
    )


def headline(rttm: Rttm) -> Headline:
    total = len(rttm.requirement_verdicts)
    # "covered by reliance" is the qualification variant's alone
    by_verdict = dict.fromkeys((v for v in VERDICTS if rttm.qualification or v != RELIED), 0)
    for verdict in rttm.requirement_verdicts.values():
        by_verdict[verdict] = by_verdict.get(verdict, 0) + 1
    coverage = round(rttm.covered / total, 4) if total else None
    return Headline(total, rttm.covered, coverage, by_verdict, rttm.relied_on)


def summary(rttm: Rttm) -> dict[str, object]:
    """The headline figures as the JSON document holds them, with coverage by stage and theme."""
    h = headline(rttm)

    def groups(key: str) -> list[dict[str, object]]:
        return [
            {key: name, "covered": covered, "requirements": n, "coverage": round(covered / n, 4) if n else None}
            for name, covered, n in rttm.coverage(key)
        ]

    return {
        "requirements": h.requirements,
        "covered": h.covered,
        "coverage": h.coverage,
        **(_by_source(h) if rttm.qualification else {}),
        "by_verdict": h.by_verdict,
        "by_stage": groups("stage"),
        "by_theme": groups("theme"),
    }


def _by_source(h: Headline) -> dict[str, int]:
    """Covered by a case of these runs, and by reliance on earlier evidence: ``covered`` is their sum."""
    return {"covered_by_case": h.covered - h.relied_on, "covered_by_reliance": h.relied_on}


def _cohorts(row: Row, order: tuple[str, ...]) -> dict[str, object]:
    names = [c for c in order if c in row.cells] + sorted(c for c in row.cells if c not in order)
    out: dict[str, object] = {}
    for cohort in names:
        cell = row.cells[cohort]
        out[cohort] = {
            "status": cell.latest.status,
            "stale": cell.stale,
            "run_id": cell.latest.run_id or None,
            "finished": cell.latest.finished or None,
            "category": cell.latest.category,
            "message": cell.latest.message or None,
            "history": [
                {"run_id": o.run_id, "finished": o.finished, "status": o.status, "sprint": o.sprint}
                for o in cell.history
            ],
        }
    return out


def to_json(rttm: Rttm) -> dict[str, object]:
    """The document described in the module docstring: requirements grouped, each with its cases."""
    requirements: dict[str, dict[str, object]] = {}
    cases: dict[str, list[object]] = {}  # each requirement's "cases" list
    for row in rttm.rows:
        req = row.requirement
        entry = requirements.get(req.id)
        if entry is None:
            entry = requirements[req.id] = {
                "id": req.id,
                "title": req.title,
                "source": req.source,
                "stage": req.stage,
                "priority": req.priority,
                "roles": list(req.roles),
                "verdict": rttm.requirement_verdicts.get(req.id, row.verdict),
                "cases": cases.setdefault(req.id, []),
            }
        if row.reliance is not None:
            entry["reliance"] = {**row.reliance.to_json(), "counted": row.case is None}
        if row.case is None:
            continue
        cases[req.id].append(
            {
                "case": row.case,
                "title": row.case_title,
                "scenario": row.scenario,
                "stage": row.stage,
                "theme": row.theme,
                "location": row.location,
                "verdict": row.verdict,
                **({"unloaded": row.unloaded} if row.unloaded else {}),  # why its file could not be loaded
                "latest_run": row.latest_run,
                "evidence": row.evidence,
                **({"qualification_stage": row.qualification_stage} if rttm.qualification else {}),
                "cohorts": _cohorts(row, rttm.cohorts),
            }
        )
    return {
        "schema": SCHEMA,
        "cycle": rttm.cycle,
        "covers": rttm.scope,
        "generated": rttm.generated,
        "cohorts": list(rttm.cohorts),
        "participant": rttm.participant,
        "roles": list(rttm.roles),
        **({"qualification_stage": rttm.qualification_stage} if rttm.qualification else {}),
        "summary": summary(rttm),
        "runs": [dataclasses.asdict(r) for r in rttm.runs],
        "requirements": list(requirements.values()),
        "unknown_requirements": [{"id": rid, "case": case} for rid, case in rttm.unknown_requirements],
    }


def write_json(rttm: Rttm, path: Path) -> Path:
    """Compact (no indentation): a cycle's matrix with full histories runs to megabytes."""
    path.write_text(json.dumps(to_json(rttm), separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    return path
