"""Sharding a cycle over machines: ``--mhhs-shard K/N`` keeps the K-th of N disjoint parts.

Every shard computes the same plan from the same inputs, so N machines that collect the same
scenarios run disjoint parts that together are the whole. A cohort stays whole where its cases
share state (a case that binds its cohort: its role's webhooks point at one receiver, or it
injects faults), as on xdist workers; other cases are placed one by one. Parts are balanced by the
durations the results store recorded for each case in *other* cycles' finished runs (the shards of
this cycle write theirs while others may still be collecting, which would make their plans differ);
a case never recorded counts as the median of those that were (one second when none was).
Each shard also draws test data from its own slice of the cohort's pool (see ``slot``).
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pytest

_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
UNKNOWN_S = 1.0


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as written
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 1 <= K <= N; ValueError says what is wrong."""
        match = _FORM.match(text)
        if match is None:
            raise ValueError(f"--mhhs-shard takes K/N such as 1/4, not {text!r}")
        index, count = int(match[1]), int(match[2])
        if count < 1 or not 1 <= index <= count:
            raise ValueError(f"--mhhs-shard {text}: K must be between 1 and N (N at least 1)")
        return cls(index, count)

    def slot(self, worker: int, workers: int) -> tuple[int, int]:
        """This process's test-data slot among every process of every shard (disjoint draws)."""
        return (self.index - 1) * workers + worker, self.count * workers


def unit_of(nodeid: str, cohort: str | None, binds: bool) -> str:
    """The unit a case is placed with: its cohort when it binds it, else itself."""
    return f"cohort:{cohort}" if binds and cohort else f"case:{nodeid}"


def plan(units: Mapping[str, float], count: int) -> dict[str, int]:
    """unit -> shard (0-based): longest first onto the least loaded shard; ties by name and index,
    so the plan depends on nothing but its inputs."""
    loads = [0.0] * count
    placed: dict[str, int] = {}
    for unit in sorted(units, key=lambda u: (-units[u], u)):
        target = min(range(count), key=lambda i: (loads[i], i))
        placed[unit] = target
        loads[target] += units[unit]
    return placed


def weigh(members: Mapping[str, Iterable[str]], durations: Mapping[str, float]) -> dict[str, float]:
    """Each unit's expected seconds: its cases' recorded durations, the median for the others."""
    typical = statistics.median(durations.values()) if durations else UNKNOWN_S
    return {unit: sum(durations.get(n, typical) for n in ids) for unit, ids in members.items()}


def fingerprint(placed: Mapping[str, int]) -> str:
    """A short digest of the plan: shards of one cycle that print different ones did not agree."""
    text = "\n".join(f"{unit}\t{shard}" for unit, shard in sorted(placed.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def keep(
    items: list[pytest.Item],
    shard: Shard,
    describe: Callable[[pytest.Item], tuple[str | None, bool] | None],
    durations: Mapping[str, float],
) -> tuple[list[pytest.Item], list[pytest.Item], str]:
    """The items of this shard, the others, and the plan's fingerprint.

    ``describe(item)`` is (cohort, binds its cohort) for a scenario case, None for any other test
    (which every shard runs: they are the project's own)."""
    members: dict[str, list[str]] = {}
    unit_by_item: dict[str, str] = {}
    for item in items:
        about = describe(item)
        if about is None:
            continue
        unit = unit_of(item.nodeid, *about)
        members.setdefault(unit, []).append(item.nodeid)
        unit_by_item[item.nodeid] = unit
    placed = plan(weigh(members, durations), shard.count)
    mine = shard.index - 1
    kept = [i for i in items if i.nodeid not in unit_by_item or placed[unit_by_item[i.nodeid]] == mine]
    kept_ids = {i.nodeid for i in kept}
    return kept, [i for i in items if i.nodeid not in kept_ids], fingerprint(placed)


def requested(config: pytest.Config) -> Shard | None:
    """The shard this run is, from ``--mhhs-shard``; a usage error for a bad value or no ``--cycle``
    (the shards' results meet in the store under their cycle)."""
    text = config.getoption("mhhs_shard", None)
    if not text:
        return None
    try:
        shard = Shard.parse(str(text))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not config.getoption("mhhs_cycle", None):
        raise pytest.UsageError(f"--mhhs-shard {text} needs --cycle NAME: the shards' results meet under that cycle")
    return shard
