"""How the MPAN space is split so that cohorts, workers and runs never share a core.

A generated core reads ``DD CC SS HHH LLL K``:

* ``DD`` distributor id; ``CC`` cohort slot (00-99); ``SS`` seed slot (00-99);
* ``HHH LLL`` a position inside the (distributor, cohort, seed) *block*;
* ``K`` the check digit, always 1-9 (see ``checkdigit``: then every single-digit typo is caught).

Two different (cohort, seed) pairs differ in ``CCSS``, so their cores differ: disjoint by
construction, whatever the count. Inside a block, row ``i`` (0-999) is mapped to ``HHH`` by a
keyed permutation, and column ``j`` (0-817) to ``LLL`` by a keyed rotation of a keyed shuffle of
the ``LLL`` values whose check digit is 1-9 (818 or 819 of the 1,000 for every row; all rows use
818). Both maps are bijections, so positions never repeat; the key depends on the seed, so a seed
fixes the order and the same seed always gives the same cores.

Rows 0-799 hold the *registered* stream (the data ``mhhs-sit data generate`` writes for loading
into participants' systems: 654,400 cores per distributor), rows 800-999 the *unregistered* stream
(MPANs never loaded, 163,600 per distributor). xdist workers share a stream by taking every
``workers``-th item (see ``sequence``), so they are disjoint too.

Cohort slots. ``MVC`` is slot 0 and ``C1``..``C49`` are slots 1-49, fixed by their names; any
other cohort id needs an explicit slot in 50-99, and ``check_cohort_indices`` refuses two ids on
one slot. So two different cohort ids can never draw from the same slot unless someone writes the
same explicit slot twice, which is checked. There is no industry-reserved range for test MPANs
(none was found in the public sources), so the space is recognisable rather than reserved: the
cohort and seed are readable from digits 3-6 of every core (``describe_core``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

from mhhs_sit.data.checkdigit import WEIGHTS
from mhhs_sit.data.distributors import DISTRIBUTORS
from mhhs_sit.data.keyed import derive_key, mix64, shuffled
from mhhs_sit.errors import ConfigError

COHORT_SLOTS = 100
SEED_SLOTS = 100
CANONICAL_COHORT_SLOTS = range(0, 50)
EXPLICIT_COHORT_SLOTS = range(50, COHORT_SLOTS)
ROWS = 1000
ROW_ITEMS = 818
REGISTERED_ROWS = range(0, 800)
UNREGISTERED_ROWS = range(800, ROWS)

_CANONICAL = re.compile(r"C([1-9][0-9]?)")
_T3: tuple[str, ...] = tuple(f"{n:03d}" for n in range(1000))


def _weighted(n: int, weights: tuple[int, ...]) -> int:
    return (weights[0] * (n // 100) + weights[1] * (n // 10 % 10) + weights[2] * (n % 10)) % 11


_WH: tuple[int, ...] = tuple(_weighted(n, WEIGHTS[6:9]) for n in range(1000))
_WL: tuple[int, ...] = tuple(_weighted(n, WEIGHTS[9:12]) for n in range(1000))


def canonical_cohort_index(cohort_id: str) -> int | None:
    """The slot a cohort id owns by name (``MVC`` 0, ``C1``-``C49`` 1-49), or None."""
    if cohort_id == "MVC":
        return 0
    match = _CANONICAL.fullmatch(cohort_id)
    if match and int(match.group(1)) in CANONICAL_COHORT_SLOTS:
        return int(match.group(1))
    return None


def cohort_index_for(cohort_id: str, explicit: int | None = None) -> int:
    """The cohort slot to use, refusing an explicit slot that could clash with another id."""
    if not isinstance(cohort_id, str) or not cohort_id:
        raise ConfigError(f"a cohort id must be a non-empty string, not {cohort_id!r}")
    canonical = canonical_cohort_index(cohort_id)
    if explicit is not None and (isinstance(explicit, bool) or not isinstance(explicit, int)):
        raise ConfigError(f"cohort {cohort_id}: the cohort index must be an integer")
    if canonical is None:
        return _explicit_slot(cohort_id, explicit)
    if explicit is not None and explicit != canonical:
        raise ConfigError(
            f"cohort {cohort_id} owns data slot {canonical} by its name; it cannot use "
            f"slot {explicit} (that could collide with another cohort's MPANs)"
        )
    return canonical


def _explicit_slot(cohort_id: str, explicit: int | None) -> int:
    """The slot of a cohort whose name owns none: it must give one, in the range kept for them."""
    if explicit is None:
        raise ConfigError(
            f"cohort {cohort_id} needs an explicit data slot in 50-99 (only MVC and C1-C49 "
            f"have slots fixed by their names)"
        )
    if explicit not in EXPLICIT_COHORT_SLOTS:
        raise ConfigError(
            f"cohort {cohort_id} has data slot {explicit}; slots for cohorts other than MVC and C1-C49 must be in 50-99"
        )
    return explicit


def check_cohort_indices(indices: Mapping[str, int | None]) -> dict[str, int]:
    """Resolve every cohort's slot and refuse two cohorts on one slot; returns id -> slot."""
    resolved: dict[str, int] = {}
    owner: dict[int, str] = {}
    for cohort_id, explicit in indices.items():
        slot = cohort_index_for(cohort_id, explicit)
        if slot in owner:
            raise ConfigError(
                f"cohorts {owner[slot]} and {cohort_id} both use data slot {slot}; give each "
                f"cohort its own slot in 50-99"
            )
        owner[slot] = cohort_id
        resolved[cohort_id] = slot
    return resolved


def check_seed(seed: object) -> int:
    """A run seed is a slot of its own (0-99), so two different seeds never share a core."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_SLOTS:
        raise ConfigError(
            f"the data seed must be an integer from 0 to {SEED_SLOTS - 1} (each seed owns a "
            f"disjoint slice of the MPAN space), not {seed!r}"
        )
    return seed


def check_distributor(distributor_id: object) -> str:
    """A distributor id under which new synthetic MPANs may be issued."""
    dist = DISTRIBUTORS.get(distributor_id) if isinstance(distributor_id, str) else None
    if dist is None:
        raise ConfigError(f"unknown distributor id {distributor_id!r}; known ids are 10-38 (10-23 are the DNO areas)")
    if dist.ended:
        raise ConfigError(f"distributor {dist.id} ({dist.mpid}) stopped issuing MPANs on {dist.ended}; choose another")
    return dist.id


@dataclass(frozen=True)
class Suffixes:
    """Per (cohort, seed): for each check residue, the usable ``LLL`` values in keyed order."""

    values: tuple[tuple[int, ...], ...]  # residue -> LLL values whose check digit is 1-9
    texts: tuple[tuple[str, ...], ...]  # residue -> "LLLK" strings, same order

    @cached_property
    def positions(self) -> tuple[dict[int, int], ...]:
        return tuple({v: p for p, v in enumerate(vals)} for vals in self.values)


@lru_cache(maxsize=256)
def suffixes(cohort_index: int, seed: int) -> Suffixes:
    values: list[tuple[int, ...]] = []
    texts: list[tuple[str, ...]] = []
    for r in range(11):
        usable = [n for n in range(1000) if (r + _WL[n]) % 11 not in (0, 10)]
        order = shuffled(len(usable), derive_key("suffix", cohort_index, seed, r))
        vals = tuple(usable[p] for p in order)
        values.append(vals)
        texts.append(tuple(_T3[n] + str((r + _WL[n]) % 11) for n in vals))
    return Suffixes(tuple(values), tuple(texts))


@dataclass(frozen=True)
class Row:
    """One row of a block: ``ROW_ITEMS`` cores sharing their first nine digits."""

    prefix: str  # first nine digits
    high: int  # HHH
    lows: tuple[int, ...]  # LLL per column
    tails: tuple[str, ...]  # "LLLK" per column


@dataclass(frozen=True)
class Block:
    """The cores of one (distributor, cohort slot, seed slot), addressed by (row, column)."""

    distributor_id: str
    cohort_index: int
    seed: int
    prefix: str  # DD CC SS
    prefix_residue: int
    highs: tuple[int, ...]  # row -> HHH
    rotation: tuple[int, ...]  # HHH -> rotation of its row
    # Per-item attribute bits: ``noise_high[HHH] ^ noise_low[LLL]``, 64 keyed random bits per
    # item for the price of two lookups (a 64-bit hash per item costs a microsecond in Python).
    noise_high: tuple[int, ...]
    noise_low: tuple[int, ...]
    tails: Suffixes

    def row(self, i: int) -> Row:
        high = self.highs[i]
        r = (self.prefix_residue + _WH[high]) % 11
        vals, texts = self.tails.values[r], self.tails.texts[r]
        n = len(vals)
        start = self.rotation[high] % n
        end = start + ROW_ITEMS
        if end <= n:
            lows, tails = vals[start:end], texts[start:end]
        else:
            lows, tails = vals[start:] + vals[: end - n], texts[start:] + texts[: end - n]
        return Row(self.prefix + _T3[high], high, lows, tails)

    def cell(self, i: int, j: int) -> tuple[str, int, int]:
        """(core, HHH, LLL) at row ``i``, column ``j``."""
        high = self.highs[i]
        r = (self.prefix_residue + _WH[high]) % 11
        vals = self.tails.values[r]
        p = (self.rotation[high] + j) % len(vals)
        return self.prefix + _T3[high] + self.tails.texts[r][p], high, vals[p]

    @cached_property
    def _row_of_high(self) -> dict[int, int]:
        return {h: i for i, h in enumerate(self.highs)}

    def locate(self, core: str) -> tuple[int, int] | None:
        """(row, column) of a core in this block, or None if the block never issues it."""
        if len(core) != 13 or not core.startswith(self.prefix) or not core.isdigit():
            return None
        high, low = int(core[6:9]), int(core[9:12])
        r = (self.prefix_residue + _WH[high]) % 11
        pos = self.tails.positions[r].get(low)
        if pos is None or core[12] != str((r + _WL[low]) % 11):
            return None
        col = (pos - self.rotation[high]) % len(self.tails.values[r])
        if col >= ROW_ITEMS:
            return None
        return self._row_of_high[high], col


@lru_cache(maxsize=1024)
def block(distributor_id: str, cohort_index: int, seed: int) -> Block:
    """The block for one distributor, cohort slot and seed (arguments already validated)."""
    prefix = f"{distributor_id}{cohort_index:02d}{seed:02d}"
    residue = sum(w * int(c) for w, c in zip(WEIGHTS[:6], prefix, strict=True)) % 11
    key = derive_key("block", distributor_id, cohort_index, seed)
    highs = tuple(shuffled(ROWS, mix64(key ^ 1)))
    rotation = tuple(mix64(key ^ (2 << 20) ^ h) >> 32 for h in range(1000))
    return Block(
        distributor_id,
        cohort_index,
        seed,
        prefix,
        residue,
        highs,
        rotation,
        tuple(mix64(key ^ (3 << 20) ^ h) for h in range(1000)),
        tuple(mix64(key ^ (4 << 20) ^ n) for n in range(1000)),
        suffixes(cohort_index, seed),
    )


@dataclass(frozen=True)
class CoreOrigin:
    """Where a synthetic core's digits say it came from (for triage)."""

    distributor_id: str
    cohort_index: int
    seed: int


def describe_core(core: str) -> CoreOrigin | None:
    """The (distributor, cohort slot, seed) whose block holds ``core``, or None.

    The synthetic space covers almost every valid core whose check digit is 1-9, so this says
    where a core *would* come from; None means no block can ever have issued it (for example,
    any core whose check digit is 0).
    """
    if not (isinstance(core, str) and len(core) == 13 and core.isascii() and core.isdigit()):
        return None
    dist, cohort, seed = core[:2], int(core[2:4]), int(core[4:6])
    if dist not in DISTRIBUTORS:
        return None
    if block(dist, cohort, seed).locate(core) is None:
        return None
    return CoreOrigin(dist, cohort, seed)
