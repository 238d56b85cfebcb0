"""xdist scheduling by cohort: the cases of a cohort that share its state run on one worker.

A cohort's participants have one webhook each per interface, pointing at the worker that runs
the cohort, so splitting a cohort whose cases receive messages would send them to the wrong
inbox; a simulator fault reaches the cohort's traffic whichever case added it. Cohorts that share
a participant's DIP ID are scheduled together for the same reason. A cohort none of whose
collected cases has such a step (its step kinds say: ``binds_cohort``) is spread over the
workers in a few chunks, so ``-n 2`` is not slower than a serial run for it. A worker that overlaps
cases (``--mhhs-concurrency N``) starts ahead only what it has been handed, so it is handed its next
unit while it still has N items to go, not only when two are left.
``--dist loadgroup`` is not used: with pytest 9.2 / xdist 3.8 it silently ignores groups
(pytest-xdist #1386) and on older pytest it changes node ids, and with them Allure identities.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mhhs_sit.definitions.model import Cohort, Scenario
from mhhs_sit.definitions.steps import StepKind, StepRegistry
from mhhs_sit.results.model import CaseKey


def cohort_groups(cohorts: Mapping[str, Cohort]) -> dict[str, str]:
    """cohort id -> group id; cohorts sharing any DIP ID fall into one group (union-find)."""
    parent = {cid: cid for cid in cohorts}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, str] = {}
    for cid in sorted(cohorts):
        for p in cohorts[cid].participants.values():
            if p.dip_id in owner:
                a, b = find(owner[p.dip_id]), find(cid)
                parent[max(a, b)] = min(a, b)
            else:
                owner[p.dip_id] = cid
    return {cid: find(cid) for cid in cohorts}


def scope_of(nodeid: str, groups: Mapping[str, str]) -> str:
    key = CaseKey.of_item(nodeid)
    if key is None:
        return nodeid
    return f"cohort:{groups.get(key.cohort, key.cohort)}"


CHUNKS_PER_WORKER = 4  # enough units to balance, few enough that xdist's messages stay cheap


def plan_scopes(
    nodeids: Sequence[str], groups: Mapping[str, str], binds: Callable[[str], bool], workers: int
) -> dict[str, str]:
    """nodeid -> work unit: one per cohort group that any of its cases binds, else a few chunks."""
    members: dict[str, list[str]] = {}
    for nodeid in nodeids:
        members.setdefault(scope_of(nodeid, groups), []).append(nodeid)
    plan: dict[str, str] = {}
    for scope, ids in members.items():
        if not scope.startswith("cohort:") or any(binds(n) for n in ids):
            plan.update(dict.fromkeys(ids, scope))
            continue
        size = max(1, math.ceil(len(ids) / (max(1, workers) * CHUNKS_PER_WORKER)))
        plan.update({n: f"{scope}/{i // size}" for i, n in enumerate(ids)})
    return plan


class CaseBindings:
    """Whether a collected case binds its cohort, read from its scenario file on the controller
    (which does not collect under xdist); a file that cannot be read binds, to be safe.

    The controller is idle while its workers start and collect, then the workers wait for it to
    plan: :meth:`prefetch` reads the files it will be asked about in that idle time."""

    def __init__(self, root: Path, load: Callable[[Path], Scenario | None], kinds: StepRegistry[StepKind]):
        self.root, self.load, self.kinds = root, load, kinds
        self._files: dict[str, dict[str, bool]] = {}
        self._planned = threading.Event()  # the plan is made: reading ahead is no use any more

    def __call__(self, nodeid: str) -> bool:
        file = nodeid.partition("::")[0]
        cases = self._files.get(file)
        if cases is None:
            cases = self._files[file] = self._read(file)
        key = CaseKey.of_item(nodeid)
        return key is None or cases.get(key.case, True)

    def prefetch(self, files: Iterable[Path]) -> threading.Thread:
        """Read ``files`` (under the root) on a background thread until the plan is made."""

        def read_ahead() -> None:
            for path in files:
                if self._planned.is_set():
                    return
                if path.is_relative_to(self.root):
                    file = path.relative_to(self.root).as_posix()
                    if file not in self._files:
                        self._files[file] = self._read(file)

        thread = threading.Thread(target=read_ahead, name="mhhs-read-ahead", daemon=True)
        thread.start()
        return thread

    def planned(self) -> None:
        self._planned.set()

    def _read(self, file: str) -> dict[str, bool]:
        scenario = self.load(self.root / file)
        if scenario is None:
            return {}
        return {
            case.id: any(s.kind not in self.kinds or self.kinds[s.kind].binds_cohort(s.spec) for s in case.steps)
            for case in scenario.cases
        }


def make_scheduler(
    config: Any, log: Any, groups: Mapping[str, str], binds: CaseBindings | Callable[[str], bool], ahead: int = 1
) -> Any:
    """The cohort scheduler; ``ahead``: the items a worker may have in flight at once."""
    from xdist.scheduler import LoadScopeScheduling

    class CohortScheduling(LoadScopeScheduling):  # type: ignore[misc]
        plan: dict[str, str] | None = None

        def _reschedule(self, node: Any) -> None:
            super()._reschedule(node)  # a unit more when two are left, or the node shut down
            while not node.shutting_down and self.workqueue and self._pending_of(self.assigned_work[node]) < ahead:
                self._assign_work_unit(node)

        def _split_scope(self, nodeid: str) -> str:
            if self.plan is None:  # the collection is complete when the first scope is asked for
                self.plan = plan_scopes(self.collection or [nodeid], groups, binds, len(self.nodes))
                if isinstance(binds, CaseBindings):
                    binds.planned()
            return self.plan.get(nodeid) or scope_of(nodeid, groups)

        def remove_node(self, node: Any) -> str | None:
            # LoadScope puts a crashed worker's whole work unit back in the queue, crashing item
            # included, so the next worker runs it and crashes too, until xdist gives up. Mark
            # the item that was running as done first: it is reported once, as crashed.
            workload = self.assigned_work.get(node) or {}
            crashed: str | None = next(
                (nid for unit in workload.values() for nid, done in unit.items() if not done), None
            )
            if crashed is None:
                return super().remove_node(node)  # type: ignore[no-any-return]
            for unit in workload.values():
                if crashed in unit:
                    unit[crashed] = True
            super().remove_node(node)
            return crashed

    return CohortScheduling(config, log)
