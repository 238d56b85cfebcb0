"""Settlement periods of a day, on the two bases MHHS uses.

* ``utc``: a UTC day, always 48 half hours; what DIP IF-021 carries (``B046.settlementDayDate``).
* ``local``: a BSC Settlement Day, from local midnight to local midnight in Great Britain: 48
  periods, 46 on the day the clocks go forward, 50 on the day they go back. Period 1 ends at
  00:30 local time.

Each period is named by its end instant as a 25-character DIP DateTime
(``2022-03-21T19:05:00+00:00``): with ``+00:00`` on the ``utc`` basis, and with the UK offset in
force at that instant (``+00:00`` or ``+01:00``) on the ``local`` basis.

The UK rule (since 1996: BST from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
Sunday of October) is computed here rather than read from the tz database, which not every
machine has; it is checked against ``zoneinfo`` in the tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from mhhs_sit.errors import ConfigError

BASES = ("utc", "local")
SUPPORTED_YEARS = range(1996, 2100)
HALF_HOUR = timedelta(minutes=30)
_OFFSETS = (UTC, timezone(timedelta(hours=1)))


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def bst_bounds(year: int) -> tuple[datetime, datetime]:
    """The UTC instants at which British Summer Time starts and ends in ``year``."""
    start = _last_sunday(year, 3)
    end = _last_sunday(year, 10)
    return (
        datetime(start.year, start.month, start.day, 1, tzinfo=UTC),
        datetime(end.year, end.month, end.day, 1, tzinfo=UTC),
    )


def uk_offset_hours(instant: datetime) -> int:
    """0 (GMT) or 1 (BST) at a UTC instant."""
    start, end = bst_bounds(instant.year)
    return 1 if start <= instant < end else 0


def parse_day(value: object) -> date:
    """A settlement date from ``YYYY-MM-DD`` or a ``date`` (YAML turns bare dates into dates)."""
    if isinstance(value, datetime):
        raise ConfigError(f"a settlement date must be a date, not a date-time ({value})")
    if isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"settlement date {value!r} is not a date like 2024-06-10") from None
        if len(value) != 10:
            raise ConfigError(f"settlement date {value!r} must be written YYYY-MM-DD")
    else:
        raise ConfigError(f"a settlement date must be YYYY-MM-DD, not {value!r}")
    if day.year not in SUPPORTED_YEARS:
        raise ConfigError(f"settlement date {day} is outside the supported years 1996-2099")
    return day


def day_start(day: date, basis: str) -> datetime:
    """The UTC instant at which the settlement day begins."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if basis == "utc":
        return midnight
    if basis != "local":
        raise ConfigError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")
    before = midnight - timedelta(hours=1)
    return before if uk_offset_hours(before) == 1 else midnight


def period_count(day: date, basis: str) -> int:
    """48, or 46 / 50 for a local day on which the clocks change."""
    length = day_start(day + timedelta(days=1), basis) - day_start(day, basis)
    return length // HALF_HOUR


def period_starts(day: date, basis: str) -> list[datetime]:
    """UTC start instant of each period, in order."""
    start = day_start(day, basis)
    return [start + n * HALF_HOUR for n in range(period_count(day, basis))]


def as_dip_datetime(instant: datetime, basis: str) -> str:
    """A 25-character DIP DateTime for a UTC instant, in UTC or in UK local time."""
    offset = _OFFSETS[uk_offset_hours(instant)] if basis == "local" else _OFFSETS[0]
    return instant.astimezone(offset).isoformat()


def period_ends(day: date, basis: str) -> list[str]:
    """The end of each period as a 25-character DIP DateTime."""
    return [as_dip_datetime(s + HALF_HOUR, basis) for s in period_starts(day, basis)]
