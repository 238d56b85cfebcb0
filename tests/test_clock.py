"""The UK clock (CR036) in templates, and the simulation clock of the local simulator.

``midnight`` is 00:00 UK clock time as a DIP timestamp with its offset; ``today``, ``tomorrow``
and ``yesterday`` are UK clock dates, so the four always agree. Fixed instants either side of both
clock changes of 2026 (BST from 01:00 UTC on 29 March to 01:00 UTC on 25 October).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from mhhs_sit.data.periods import period_count
from mhhs_sit.definitions import templating


def _at(text: str) -> dict[str, object]:
    return templating.builtins(dt.datetime.fromisoformat(text))


@pytest.mark.parametrize(
    ("now", "today", "midnight"),
    [
        ("2026-01-15T12:00:00+00:00", "2026-01-15", "2026-01-15T00:00:00+00:00"),  # winter
        ("2026-03-28T23:30:00+00:00", "2026-03-28", "2026-03-28T00:00:00+00:00"),  # the night before spring
        ("2026-03-29T00:30:00+00:00", "2026-03-29", "2026-03-29T00:00:00+00:00"),  # the change day, still GMT
        ("2026-03-29T12:00:00+00:00", "2026-03-29", "2026-03-29T00:00:00+00:00"),  # the change day, BST now
        ("2026-03-29T23:30:00+00:00", "2026-03-30", "2026-03-30T00:00:00+01:00"),  # 00:30 BST: the UK date is ahead
        ("2026-07-01T09:00:00+00:00", "2026-07-01", "2026-07-01T00:00:00+01:00"),  # summer
        ("2026-10-24T23:30:00+00:00", "2026-10-25", "2026-10-25T00:00:00+01:00"),  # 00:30 BST on the autumn day
        ("2026-10-25T12:00:00+00:00", "2026-10-25", "2026-10-25T00:00:00+01:00"),  # the change day, GMT now
        ("2026-10-26T00:30:00+00:00", "2026-10-26", "2026-10-26T00:00:00+00:00"),  # winter again
        ("2026-07-01T23:59:59+01:00", "2026-07-01", "2026-07-01T00:00:00+01:00"),  # a local instant, read as UK time
    ],
)
def test_midnight_is_uk_clock_midnight_and_today_the_uk_date(now, today, midnight):
    values = _at(now)
    assert values["today"] == today
    assert values["midnight"] == midnight
    assert values["midnight"][:10] == values["today"]
    day = dt.date.fromisoformat(today)
    assert values["tomorrow"] == (day + dt.timedelta(days=1)).isoformat()
    assert values["yesterday"] == (day - dt.timedelta(days=1)).isoformat()
    assert values["now"] == dt.datetime.fromisoformat(now).astimezone(dt.UTC).isoformat()  # the DIP's UTC stamp


@pytest.mark.parametrize(("day", "periods"), [("2026-03-29", 46), ("2026-10-25", 50), ("2026-07-01", 48)])
def test_from_midnight_to_the_next_midnight_is_the_settlement_day_of_46_48_or_50_periods(day, periods):
    """``midnight`` of a day and of the next bound the BSC settlement day ``periods`` computes."""
    start = dt.datetime.fromisoformat(str(_at(f"{day}T12:00:00+00:00")["midnight"]))
    end = dt.datetime.fromisoformat(str(_at(f"{_at(f'{day}T12:00:00+00:00')['tomorrow']}T12:00:00+00:00")["midnight"]))
    assert (end - start) / dt.timedelta(minutes=30) == periods == period_count(dt.date.fromisoformat(day), "local")


def test_midnight_agrees_with_the_tz_database_on_every_day_of_two_years():
    """Every UTC hour of 2026-2027 against ``zoneinfo`` Europe/London."""
    try:
        london = ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:
        pytest.skip("no tz database on this machine (periods.py checks its own rule)")
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    while moment.year < 2028:
        local = moment.astimezone(london)
        expected = dt.datetime.combine(local.date(), dt.time(), london)
        values = templating.builtins(moment)
        assert (values["today"], values["midnight"]) == (local.date().isoformat(), expected.isoformat()), moment
        moment += dt.timedelta(hours=1)
