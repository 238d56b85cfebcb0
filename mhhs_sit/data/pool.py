"""A cohort's pool of test data: scenarios' ``data:`` entries draw fresh items from it.

Every draw takes the next unused item of this worker's share of the cohort stream that matches
the criteria, so no two cases (and no two workers, cohorts or seeds) get the same MPAN, and the
same seed gives the same sequence of items. ``registered: true`` (the default) draws from the
data that ``mhhs-sit data generate`` writes for loading into participants' systems;
``registered: false`` from MPANs that were never loaded. Every draw is recorded in ``drawn``.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from types import MappingProxyType

from mhhs_sit.data.addresses import address_book
from mhhs_sit.data.checkdigit import mpan_core_problem
from mhhs_sit.data.consumption import consumption_series
from mhhs_sit.data.distributors import DISTRIBUTORS, GSP_GROUPS, Distributor
from mhhs_sit.data.partition import cohort_index_for
from mhhs_sit.data.periods import BASES, parse_day
from mhhs_sit.data.points import (
    CONNECTION_TYPES,
    DIRECTIONS,
    PROFILE_CLASSES,
    PROFILES,
    SEGMENTS,
    Parties,
    row_dict,
)
from mhhs_sit.data.render import RowMaker
from mhhs_sit.data.sequence import Stream, make_stream
from mhhs_sit.errors import ConfigError

_BOOL = (True, False)
_ITEM_CRITERIA: Mapping[str, tuple[object, ...]] = MappingProxyType(
    {
        "distributor": tuple(DISTRIBUTORS),
        "gsp_group": tuple(GSP_GROUPS),
        "segment": SEGMENTS,
        "direction": DIRECTIONS,
        "connection_type": CONNECTION_TYPES,
        "domestic": _BOOL,
        "profile_class": PROFILE_CLASSES,
        "registered": _BOOL,
    }
)

DRAW_KINDS: Mapping[str, Mapping[str, tuple[object, ...]]] = MappingProxyType(
    {
        "mpan": _ITEM_CRITERIA,
        "full_mpan": MappingProxyType({**_ITEM_CRITERIA, "meter_timeswitch_code": (), "line_loss_factor_class": ()}),
        "metering_point": _ITEM_CRITERIA,
        "consumption": MappingProxyType(
            {
                "mpan": (),
                "date": (),
                "basis": BASES,
                "segment": SEGMENTS,
                "direction": DIRECTIONS,
                "domestic": _BOOL,
            }
        ),
    }
)

# Row tuple positions (``points.CSV_COLUMNS``) of the attributes criteria compare.
_COLUMN = {
    "distributor": 1,
    "gsp_group": 3,
    "segment": 4,
    "direction": 5,
    "connection_type": 6,
    "domestic": 7,
    "profile_class": 8,
}
_PROFILE_FIELDS = ("segment", "direction", "connection_type", "domestic", "profile_class")
_MTC = re.compile(r"(?!000)\d{3}")
_LLFC = re.compile(r"[A-Z0-9]{3}")
MAX_SCAN = 1_000_000  # items examined for one draw before giving up


def _check_profile(wanted: Mapping[str, object]) -> None:
    """Refuse a mix of categorical attributes that no metering point profile has."""
    asked = [f for f in _PROFILE_FIELDS if f in wanted]
    if not any(all(getattr(p, f) == wanted[f] for f in asked) for p in PROFILES):
        shown = ", ".join(f"{f}={wanted[f]!r}" for f in asked)
        raise ConfigError(f"no metering point can have {shown}")


def _check_criteria(kind: str, criteria: Mapping[str, object]) -> None:
    allowed = DRAW_KINDS.get(kind)
    if allowed is None:
        raise ConfigError(f"unknown data kind {kind!r}; kinds are {', '.join(DRAW_KINDS)}")
    for name, value in criteria.items():
        if name not in allowed:
            raise ConfigError(f"{kind} has no criterion {name!r}; its criteria are {', '.join(allowed)}")
        _check_choice(kind, name, value, allowed[name])


def _check_choice(kind: str, name: str, value: object, values: Sequence[object]) -> None:
    """A criterion with a fixed set of values must take one of them, of the same type (True is not 1)."""
    if values and not any(value is v or (type(value) is type(v) and value == v) for v in values):
        shown = ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
        raise ConfigError(f"{kind} criterion {name}={value!r} is not one of: {shown}")


class CohortPool:
    """Fresh, unique, reproducible test data for one cohort on one worker."""

    def __init__(
        self,
        cohort_id: str,
        *,
        cohort_index: int,
        distributor_ids: Sequence[str],
        seed: int,
        worker: int = 0,
        workers: int = 1,
        supplier_mpid: str | None = None,
        agent_mpids: Mapping[str, str] | None = None,
    ) -> None:
        self.cohort_id = cohort_id
        self.cohort_index = cohort_index_for(cohort_id, cohort_index)
        self.seed = seed
        self._streams: dict[bool, Stream] = {
            registered: make_stream(
                self.cohort_index,
                distributor_ids,
                seed,
                registered=registered,
                worker=worker,
                workers=workers,
            )
            for registered in _BOOL
        }
        self.distributor_ids = tuple(b.distributor_id for b in self._streams[True].blocks)
        self._parties = Parties(supplier_mpid, MappingProxyType(dict(agent_mpids or {})))
        self._maker: RowMaker | None = None
        self._used: dict[bool, set[int]] = {True: set(), False: set()}
        self._cursors: dict[tuple[bool, tuple[tuple[int, object], ...]], int] = {}
        self._drawn: list[dict[str, object]] = []
        self._points: dict[str, dict[str, object]] = {}  # mpan -> metering point drawn
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"CohortPool({self.cohort_id!r}, slot={self.cohort_index}, seed={self.seed}, "
            f"distributors={','.join(self.distributor_ids)})"
        )

    @property
    def drawn(self) -> list[dict[str, object]]:
        """Every item drawn so far, in order, as JSON-serialisable dicts (for evidence)."""
        with self._lock:
            return copy.deepcopy(self._drawn)

    def capacity(self, *, registered: bool = True) -> int:
        """Items this worker can draw from the registered or unregistered stream in total."""
        return self._streams[registered].capacity

    def draw(self, kind: str, **criteria: object) -> object:
        """A fresh item of ``kind`` matching ``criteria`` (see ``DRAW_KINDS``)."""
        _check_criteria(kind, criteria)
        with self._lock:
            if kind == "consumption":
                value: object = self._consumption(criteria)
                self._drawn.append(self._entry(kind, criteria, value))
                return value
            point = self._next_point(criteria)
            if kind == "mpan":
                value = point["mpan"]
            elif kind == "full_mpan":
                value = self._full_mpan(point, criteria)
            else:
                value = point
            self._drawn.append(self._entry(kind, criteria, value, point))
            return value

    def _entry(self, kind: str, criteria: Mapping[str, object], value: object,
               point: Mapping[str, object] | None = None) -> dict[str, object]:  # fmt: skip
        """An evidence record: a copy, so a caller editing what it drew cannot change it."""
        entry: dict[str, object] = {
            "cohort": self.cohort_id,
            "kind": kind,
            "criteria": {k: v.isoformat() if isinstance(v, date) else v for k, v in criteria.items()},
            "value": copy.deepcopy(value),
        }
        if point is not None and point is not value:
            entry["metering_point"] = copy.deepcopy(point)
        return entry

    def _rows(self) -> RowMaker:
        if self._maker is None:
            self._maker = RowMaker(address_book(self.seed), self._parties)
        return self._maker

    def _feasible(self, wanted: Mapping[str, object]) -> None:
        """Refuse criteria no item can meet, instead of scanning the whole pool."""
        _check_profile(wanted)
        dists = self._distributors(wanted)
        if "gsp_group" in wanted:
            served = {g for d in dists for g in (d.gsp_groups[:1] if d.is_dno else d.gsp_groups)}
            if wanted["gsp_group"] not in served:
                raise ConfigError(
                    f"cohort {self.cohort_id} has no metering points in GSP group "
                    f"{wanted['gsp_group']} for distributor(s) {', '.join(d.id for d in dists)}"
                )

    def _distributors(self, wanted: Mapping[str, object]) -> list[Distributor]:
        """The cohort's distributors the criteria allow; ConfigError when they name one it lacks."""
        if "distributor" not in wanted:
            return [DISTRIBUTORS[d] for d in self.distributor_ids]
        if wanted["distributor"] not in self.distributor_ids:
            raise ConfigError(
                f"cohort {self.cohort_id} has no data for distributor "
                f"{wanted['distributor']}; it has {', '.join(self.distributor_ids)}"
            )
        return [DISTRIBUTORS[str(wanted["distributor"])]]

    def _next_point(self, criteria: Mapping[str, object]) -> dict[str, object]:
        registered = bool(criteria.get("registered", True))
        wanted = {k: v for k, v in criteria.items() if k in _COLUMN}
        self._feasible(wanted)
        tests = [(_COLUMN[k], ("true" if v else "false") if isinstance(v, bool) else v) for k, v in wanted.items()]
        stream = self._streams[registered]
        key = (registered, tuple(sorted(tests)))
        t, point = self._scan(stream, self._used[registered], tests, self._cursors.get(key, 0))
        if point is not None:
            self._cursors[key] = t + 1
            self._points[str(point["mpan"])] = point
            return point
        which = "registered" if registered else "unregistered"
        raise ConfigError(
            f"cohort {self.cohort_id}'s {which} data has no unused item matching "
            f"{dict(criteria) or 'any'} (searched up to item {t:,} of {stream.capacity:,})"
        )

    def _scan(
        self, stream: Stream, used: set[int], tests: list[tuple[int, object]], t: int
    ) -> tuple[int, dict[str, object] | None]:
        """From item ``t`` on, the first unused item passing ``tests`` (now used), or None and
        where the search stopped (at most ``MAX_SCAN`` items on)."""
        make = self._rows().row
        limit = min(stream.capacity, t + MAX_SCAN)
        while t < limit:
            if t not in used:
                b, row, col = stream.position(t)
                core, high, low = b.cell(row, col)
                rec = make(b, core, high, low)
                if all(rec[i] == v for i, v in tests):
                    used.add(t)
                    return t, row_dict(rec)
            t += 1
        return t, None

    @staticmethod
    def _full_mpan(point: Mapping[str, object], criteria: Mapping[str, object]) -> str:
        mtc = criteria.get("meter_timeswitch_code", point["meter_timeswitch_code"])
        llfc = criteria.get("line_loss_factor_class", point["line_loss_factor_class"])
        if not (isinstance(mtc, str) and _MTC.fullmatch(mtc)):
            raise ConfigError(f"meter_timeswitch_code {mtc!r} must be three digits, 001-999")
        if not (isinstance(llfc, str) and _LLFC.fullmatch(llfc)):
            raise ConfigError(f"line_loss_factor_class {llfc!r} must be three of A-Z and 0-9")
        return f"{point['profile_class']}{mtc}{llfc}{point['mpan']}"

    def locate(self, mpan: str) -> dict[str, object] | None:
        """The metering point this cohort issues under ``mpan`` (either stream), or None."""
        for b in self._streams[True].blocks:
            where = b.locate(mpan)
            if where is not None:
                core, high, low = b.cell(*where)
                return row_dict(self._rows().row(b, core, high, low))
        return None

    def _point_of(self, mpan: object, traits: Mapping[str, object]) -> dict[str, object]:
        """The metering point of a given MPAN (empty when this cohort did not issue it), which
        must have the traits asked for."""
        problem = mpan_core_problem(mpan)
        if problem:
            raise ConfigError(f"consumption for an invalid MPAN: {problem}")
        mpan = str(mpan)
        point = self._points.get(mpan) or self.locate(mpan) or {}
        for k, v in traits.items():
            if k in point and point[k] != v:
                raise ConfigError(f"MPAN {mpan} is {k}={point[k]!r}, not {v!r}")
        return point

    def _consumption(self, criteria: Mapping[str, object]) -> dict[str, object]:
        if "date" not in criteria:
            raise ConfigError("consumption needs a date: {draw: consumption, date: 2024-06-10}")
        day = parse_day(criteria["date"])
        basis = str(criteria.get("basis", "utc"))
        traits = {k: criteria[k] for k in ("segment", "direction", "domestic") if k in criteria}
        mpan = criteria.get("mpan")
        point = self._next_point(traits) if mpan is None else self._point_of(mpan, traits)
        return consumption_series(
            str(point.get("mpan", mpan)),
            day,
            basis,
            segment=str(point.get("segment", traits.get("segment", "smart"))),
            direction=str(point.get("direction", traits.get("direction", "import"))),
            domestic=bool(point.get("domestic", traits.get("domestic", True))),
            seed=self.seed,
        )
