"""The RTTM as CSV (flat rows, as spreadsheets and the programme's templates want) and JSON
(grouped per requirement, with every outcome of the history, for tools)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from mhhs_sit.rttm.model import VERDICTS, Cell, Row, Rttm

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


def columns(rttm: Rttm) -> list[str]:
    return [*FIXED_COLUMNS, *rttm.cohorts, *TAIL_COLUMNS]


def history_text(row: Row, cohorts: tuple[str, ...]) -> str:
    """``C1: failed → passed; C2: passed`` (only cohorts with more than the deciding outcome say more)."""
    parts = []
    for cohort in cohorts:
        cell = row.cells.get(cohort)
        if cell is None or not cell.history:
            continue
        parts.append(f"{cohort}: " + " → ".join(o.status for o in cell.history))
    return "; ".join(parts)


def status_of(cell: Cell | None) -> str:
    return "—" if cell is None else cell.latest.status


def flat_row(row: Row, rttm: Rttm) -> list[Any]:
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
        history_text(row, rttm.cohorts),
        row.latest_run or "",
        row.evidence or "",
        row.verdict,
    ]


def write_csv(rttm: Rttm, path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(columns(rttm))
        for row in rttm.rows:
            out.writerow(flat_row(row, rttm))
    return path


def summary(rttm: Rttm) -> dict[str, Any]:
    total = len(rttm.requirement_verdicts)
    by_verdict = {v: sum(1 for x in rttm.requirement_verdicts.values() if x == v) for v in VERDICTS}

    def groups(key: str) -> list[dict[str, Any]]:
        return [
            {key: name, "covered": covered, "requirements": n, "coverage": round(covered / n, 4) if n else None}
            for name, covered, n in rttm.coverage(key)
        ]

    return {
        "requirements": total,
        "covered": rttm.covered,
        "coverage": round(rttm.covered / total, 4) if total else None,
        "by_verdict": by_verdict,
        "by_stage": groups("stage"),
        "by_theme": groups("theme"),
    }


def to_json(rttm: Rttm) -> dict[str, Any]:
    requirements: dict[str, dict[str, Any]] = {}
    for row in rttm.rows:
        req = row.requirement
        entry = requirements.setdefault(
            req.id,
            {
                "id": req.id,
                "title": req.title,
                "source": req.source,
                "stage": req.stage,
                "priority": req.priority,
                "roles": list(req.roles),
                "verdict": rttm.requirement_verdicts.get(req.id, row.verdict),
                "cases": [],
            },
        )
        if row.case is None:
            continue
        entry["cases"].append(
            {
                "case": row.case,
                "title": row.case_title,
                "scenario": row.scenario,
                "stage": row.stage,
                "theme": row.theme,
                "location": row.location,
                "verdict": row.verdict,
                "latest_run": row.latest_run,
                "evidence": row.evidence,
                "cohorts": {
                    cohort: {
                        "status": cell.latest.status,
                        "run_id": cell.latest.run_id or None,
                        "finished": cell.latest.finished or None,
                        "category": cell.latest.category,
                        "message": cell.latest.message or None,
                        "history": [
                            {"run_id": o.run_id, "finished": o.finished, "status": o.status, "sprint": o.sprint}
                            for o in cell.history
                        ],
                    }
                    for cohort, cell in sorted(row.cells.items())
                },
            }
        )
    return {
        "cycle": rttm.cycle,
        "generated": rttm.generated,
        "participant": rttm.participant,
        "roles": list(rttm.roles),
        "cohorts": list(rttm.cohorts),
        "summary": summary(rttm),
        "runs": [r.__dict__ for r in rttm.runs],
        "requirements": list(requirements.values()),
        "unknown_requirements": [{"id": rid, "case": case} for rid, case in rttm.unknown_requirements],
    }


def write_json(rttm: Rttm, path: Path) -> Path:
    path.write_text(json.dumps(to_json(rttm), separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    return path
