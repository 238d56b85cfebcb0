"""A cycle's history: every outcome of a case × cohort across runs, and the one that decides.

The deciding outcome is the latest run's, except that a later run which did not reach a case
(*not run*: stopped early, killed, deselected) does not erase what an earlier run found, the same
rule as the completion report's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mhhs_sit.results.model import CaseKey
from mhhs_sit.results.outcome import Status
from mhhs_sit.store.rows import StoredResult

_NOT_RUN, _DEFINITION = Status.NOT_RUN.value, Status.DEFINITION_ERROR.value  # plain str: compared once per result


def _unloaded(row: StoredResult) -> bool:
    """A scenario file that could not be loaded (``results.model.unloaded_file``), an older run's
    "error" among them (read back as a definition error)."""
    return row.status == _DEFINITION and "::" not in row.nodeid


@dataclass(slots=True)
class History:
    key: CaseKey
    outcomes: list[StoredResult] = field(default_factory=list)  # oldest run first

    @property
    def latest(self) -> StoredResult:
        reached = (row for row in reversed(self.outcomes) if row.status != _NOT_RUN)
        return next(reached, self.outcomes[-1])

    @property
    def status(self) -> Status:
        return self.latest.status


def histories(rows: Iterable[StoredResult]) -> dict[tuple[str, str], History]:
    """Results as ``ResultsStore.results`` returns them (oldest run first), grouped per case × cohort
    (keyed by a plain ``(case, cohort)``, equal to the history's ``CaseKey``: one look-up per result).

    Files that could not be loaded (a definition error of the file) have no cohort and are left
    out: see ``collection_errors``.
    """
    out: dict[tuple[str, str], History] = {}
    for row in rows:
        if row.status == _DEFINITION and "::" not in row.nodeid:  # _unloaded, inlined: once per result
            continue
        key = (row.case_id, row.cohort)
        h = out.get(key)
        if h is None:
            h = out[key] = History(CaseKey(*key))
        h.outcomes.append(row)
    return out


def collection_errors(rows: Sequence[StoredResult]) -> dict[str, StoredResult]:
    """Files that could not be loaded: the latest run's definition error of each file, dropped once a
    later run loaded (collected) that file."""
    errors = {row.nodeid: row for row in rows if _unloaded(row)}
    if not errors:  # the usual case: no need to look at every row's file
        return {}
    files = {nodeid.split("::", 1)[0] for nodeid in errors}
    collected_after: dict[str, str] = {}
    for row in rows:
        if not _unloaded(row):
            file = row.nodeid.split("::", 1)[0]
            if file in files:
                collected_after[file] = row.run.started
    return {f: e for f, e in errors.items() if collected_after.get(f, "") <= e.run.started}


def latest_statuses(rows: Iterable[StoredResult]) -> dict[str, Status]:
    """``"CASE[COHORT]" -> deciding status``: what ``--rerun`` selects from."""
    return {h.key.claim: h.status for h in histories(rows).values()}
