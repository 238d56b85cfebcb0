"""The canonical order of a cohort's items, and each xdist worker's share of it.

Item ``k`` of a stream lives in distributor ``k % n`` (distributor ids sorted, so the order of
``--distributor`` options does not matter), at position ``k // n`` of that distributor's block
rows. Worker ``w`` of ``W`` takes items ``w, w + W, w + 2W, ...``: disjoint from every other
worker for any count, and a subset of what ``mhhs-sit data generate`` wrote for the whole cohort
(with ``--workers 1``), so the data loaded before a cycle is the data the workers draw.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from mhhs_sit.data.partition import (
    COHORT_SLOTS,
    REGISTERED_ROWS,
    ROW_ITEMS,
    UNREGISTERED_ROWS,
    Block,
    block,
    check_distributor,
    check_seed,
)
from mhhs_sit.errors import ConfigError


@dataclass(frozen=True)
class Stream:
    """One worker's share of a cohort's registered or unregistered items."""

    blocks: tuple[Block, ...]
    rows: range
    worker: int
    workers: int

    @property
    def total(self) -> int:
        """Items in the stream for all workers together."""
        return len(self.rows) * ROW_ITEMS * len(self.blocks)

    @property
    def capacity(self) -> int:
        """Items this worker may take."""
        return max(0, (self.total - self.worker + self.workers - 1) // self.workers)

    def position(self, t: int) -> tuple[Block, int, int]:
        """(block, row, column) of this worker's ``t``-th item (0-based)."""
        if not 0 <= t < self.capacity:
            raise IndexError(t)
        k = self.worker + self.workers * t
        n = len(self.blocks)
        j = k // n
        return self.blocks[k % n], self.rows.start + j // ROW_ITEMS, j % ROW_ITEMS

    def index_of(self, b: Block, row: int, col: int) -> int | None:
        """This worker's item number for a (block, row, column), or None if not its item."""
        if row not in self.rows or b not in self.blocks:
            return None
        k = ((row - self.rows.start) * ROW_ITEMS + col) * len(self.blocks) + self.blocks.index(b)
        t, rem = divmod(k - self.worker, self.workers)
        return t if rem == 0 and t >= 0 else None

    def row_groups(self) -> Iterator[tuple[int, slice]]:
        """Per block row: (row, slice of its canonical items that belong to this worker)."""
        per_row = ROW_ITEMS * len(self.blocks)
        for n, row in enumerate(self.rows):
            first = n * per_row  # stream index of the row's first item
            yield row, slice((self.worker - first) % self.workers, None, self.workers)


def make_stream(
    cohort_index: int,
    distributor_ids: Sequence[str],
    seed: int,
    *,
    registered: bool = True,
    worker: int = 0,
    workers: int = 1,
) -> Stream:
    """Validate the arguments and build the stream (blocks are cached per process)."""
    check_seed(seed)
    _check_slot(cohort_index)
    ids = _distributors(distributor_ids)
    _check_worker(worker, workers)
    rows = REGISTERED_ROWS if registered else UNREGISTERED_ROWS
    blocks = tuple(block(d, cohort_index, seed) for d in ids)
    return Stream(blocks, rows, worker, workers)


def _is_int(value: object) -> bool:
    """An int that is not a bool (True would pass for 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_slot(cohort_index: int) -> None:
    if not _is_int(cohort_index) or not 0 <= cohort_index < COHORT_SLOTS:
        raise ConfigError(f"a cohort slot must be an integer 0-99, not {cohort_index!r}")


def _distributors(distributor_ids: Sequence[str]) -> list[str]:
    """The distinct distributor ids, checked and sorted (one string is a mistake, not a list)."""
    if isinstance(distributor_ids, str):
        raise ConfigError("distributor ids must be a list of two-digit strings, not one string")
    ids = sorted({check_distributor(d) for d in distributor_ids})
    if not ids:
        raise ConfigError("a cohort's data needs at least one distributor id")
    return ids


def _check_worker(worker: int, workers: int) -> None:
    """Worker ``worker`` of ``workers`` (checked at run time: the values come from configuration)."""
    for name, value in (("worker", worker), ("workers", workers)):
        if not _is_int(value):
            raise ConfigError(f"{name} must be an integer, not {value!r}")
    if workers < 1 or not 0 <= worker < workers:
        raise ConfigError(f"worker must be in 0..workers-1 and workers >= 1 (got {worker}/{workers})")
