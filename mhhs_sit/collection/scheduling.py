"""xdist scheduling by cohort: every case of a cohort runs on one worker.

A cohort's participants have one webhook each per interface, pointing at the worker that runs
the cohort, so splitting a cohort across workers would send its messages to the wrong inbox.
Cohorts that share a participant's DIP ID are scheduled together for the same reason.
``--dist loadgroup`` is not used: with pytest 9.2 / xdist 3.8 it silently ignores groups
(pytest-xdist #1386) and on older pytest it changes node ids, and with them Allure identities.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mhhs_sit.definitions.model import Cohort

_COHORT = re.compile(r"\[([^\[\]]+)\]$")


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
    m = _COHORT.search(nodeid.split("::")[-1])
    if not m:
        return nodeid
    cohort = m.group(1)
    return f"cohort:{groups.get(cohort, cohort)}"


def make_scheduler(config: Any, log: Any, groups: Mapping[str, str]) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class CohortScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid, groups)

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
