"""A cycle's history: every outcome of a case × cohort across runs, and the one that decides.

The deciding outcome is the latest run's, except that a later run which did not reach a case
(*not run*: stopped early, killed, deselected) does not erase what an earlier run found, the same
rule as the completion report's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mhhs_sit.results.outcome import Status

_NOT_RUN = Status.NOT_RUN.value  # plain str: compared once per case × cohort


@dataclass
class History:
    case: str
    cohort: str
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # store rows, oldest run first

    @property
    def latest(self) -> dict[str, Any]:
        reached = (row for row in reversed(self.outcomes) if row["status"] != _NOT_RUN)
        return next(reached, self.outcomes[-1])

    @property
    def status(self) -> str:
        return str(self.latest["status"])


def histories(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], History]:
    """Rows as ``ResultsStore.results`` returns them (oldest run first), grouped per case × cohort.

    Collection errors (a file that could not be read) have no cohort and are left out: see
    ``collection_errors``.
    """
    out: dict[tuple[str, str], History] = {}
    for row in rows:
        if row["status"] == "error":
            continue
        key = (row["case_id"], row["cohort"])
        h = out.get(key)
        if h is None:
            h = out[key] = History(*key)
        h.outcomes.append(row)
    return out


def collection_errors(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The latest run's collection error per file, dropped once a later run collected that file."""
    rows = list(rows)
    errors = {row["nodeid"]: row for row in rows if row["status"] == "error"}
    if not errors:  # the usual case: no need to look at every row's file
        return {}
    files = {nodeid.split("::", 1)[0] for nodeid in errors}
    collected_after: dict[str, str] = {}
    for row in rows:
        if row["status"] != "error":
            file = row["nodeid"].split("::", 1)[0]
            if file in files:
                collected_after[file] = row["run_started"]
    return {f: e for f, e in errors.items() if collected_after.get(f, "") <= e["run_started"]}


def latest_statuses(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """``"CASE[COHORT]" -> deciding status``: what ``--rerun`` selects from."""
    return {f"{case}[{cohort}]": h.status for (case, cohort), h in histories(rows).items()}
