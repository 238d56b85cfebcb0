"""Settlement periods on the UTC and local bases, and the consumption series built on them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mhhs_sit.data.consumption import consumption_series
from mhhs_sit.data.periods import (
    day_start,
    parse_day,
    period_count,
    period_ends,
    period_starts,
)
from mhhs_sit.errors import ConfigError

try:  # the code computes the UK rule itself; the tz database (tzdata on Windows) checks it
    LONDON = ZoneInfo("Europe/London")
    HAVE_TZ = True
except ZoneInfoNotFoundError:  # pragma: no cover - only where no tz database is installed
    LONDON = None  # type: ignore[assignment]
    HAVE_TZ = False
needs_tz = pytest.mark.skipif(not HAVE_TZ, reason="no tz database: pip install tzdata")
DIP_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00\+0[01]:00$")  # DT-003, 25 characters
QUALITY = {"A", "E", "EA1"}

days = st.dates(min_value=date(1996, 1, 1), max_value=date(2099, 12, 31))


@pytest.mark.parametrize(
    ("day", "local", "utc"),
    [
        ("2023-03-26", 46, 48),  # clocks go forward
        ("2023-10-29", 50, 48),  # clocks go back
        ("2024-03-31", 46, 48),
        ("2024-10-27", 50, 48),
        ("2024-06-10", 48, 48),
        ("2024-12-25", 48, 48),
    ],
)
def test_period_counts(day: str, local: int, utc: int) -> None:
    assert period_count(parse_day(day), "local") == local
    assert period_count(parse_day(day), "utc") == utc


@needs_tz
def test_elexon_long_day_example() -> None:
    # Elexon: on 29 Oct 2023 periods 1-4 start 00:00-01:30 BST, period 5 starts 01:00 GMT and
    # period 50 starts 23:30 GMT.
    starts = period_starts(date(2023, 10, 29), "local")
    local = [s.astimezone(LONDON) for s in starts]
    assert [t.strftime("%H:%M %Z") for t in local[:5]] == [
        "00:00 BST",
        "00:30 BST",
        "01:00 BST",
        "01:30 BST",
        "01:00 GMT",
    ]
    assert local[49].strftime("%H:%M %Z") == "23:30 GMT"
    ends = period_ends(date(2023, 10, 29), "local")
    assert ends[0] == "2023-10-29T00:30:00+01:00" and ends[3] == "2023-10-29T01:00:00+00:00"
    assert ends[-1] == "2023-10-30T00:00:00+00:00"


def test_short_day_ends() -> None:
    ends = period_ends(date(2023, 3, 26), "local")
    assert ends[:3] == [
        "2023-03-26T00:30:00+00:00",
        "2023-03-26T02:00:00+01:00",
        "2023-03-26T02:30:00+01:00",
    ]
    assert ends[-1] == "2023-03-27T00:00:00+01:00"


@needs_tz
@given(days)
def test_local_days_agree_with_the_tz_database(day: date) -> None:
    midnight = datetime(day.year, day.month, day.day, tzinfo=LONDON)
    following = midnight + timedelta(days=1)  # wall-clock arithmetic: next local midnight
    assert day_start(day, "local") == midnight.astimezone(UTC)
    assert period_count(day, "local") == (following.astimezone(UTC) - midnight.astimezone(UTC)) // (
        timedelta(minutes=30)
    )
    for start, end in zip(period_starts(day, "local"), period_ends(day, "local"), strict=True):
        instant = start + timedelta(minutes=30)
        assert end == instant.astimezone(LONDON).isoformat()


@given(days, st.sampled_from(["utc", "local"]))
def test_every_end_is_a_25_character_dip_datetime(day: date, basis: str) -> None:
    ends = period_ends(day, basis)
    assert all(len(e) == 25 and DIP_DATETIME.match(e) for e in ends)
    if basis == "utc":
        assert len(ends) == 48 and all(e.endswith("+00:00") for e in ends)
        assert ends[0] == f"{day.isoformat()}T00:30:00+00:00"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-6-1", "is not a date"),
        ("20240601", "must be written YYYY-MM-DD"),
        ("1995-06-01", "outside the supported years"),
        (datetime(2024, 6, 1), "not a date-time"),
        (20240601, "must be YYYY-MM-DD"),
    ],
)
def test_bad_days(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_day(value)


def test_parse_day_accepts_a_yaml_date() -> None:
    assert parse_day(date(2024, 6, 1)) == parse_day("2024-06-01")


def series(day: str, basis: str, **kw: object) -> dict:
    args: dict = {"segment": "smart", "direction": "import", "domestic": True, "seed": 0, **kw}
    return consumption_series("1203000686839", parse_day(day), basis, **args)


@given(days, st.sampled_from(["utc", "local"]),
       st.sampled_from([("smart", "import"), ("smart", "export"), ("advanced", "import"),
                        ("advanced", "export"), ("unmetered", "import")]))  # fmt: skip
def test_series_shape(day: date, basis: str, kind: tuple[str, str]) -> None:
    s = series(day.isoformat(), basis, segment=kind[0], direction=kind[1])
    periods = s["periods"]
    assert s["period_count"] == len(periods) == period_count(day, basis)
    assert [p["sp"] for p in periods] == period_ends(day, basis)
    milli = [int(p["v"].replace(".", "")) for p in periods]
    assert all(re.fullmatch(r"\d{1,9}\.\d{3}", p["v"]) for p in periods)
    assert sum(milli) == int(s["total_kwh"].replace(".", ""))
    for p in periods:
        assert p["q"] in QUALITY and p["arc"] is None
        assert (p["e"] is None) == (p["q"] == "A")


def test_a_series_is_reproducible_and_depends_on_the_seed() -> None:
    assert series("2024-06-10", "utc") == series("2024-06-10", "utc")
    assert series("2024-06-10", "utc") != series("2024-06-10", "utc", seed=1)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
def test_a_half_hour_has_one_value_on_both_bases(day: date) -> None:
    by_instant = {}
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        for p in series(d.isoformat(), "utc")["periods"]:
            by_instant[datetime.fromisoformat(p["sp"])] = p["v"]
    for p in series(day.isoformat(), "local")["periods"]:
        assert by_instant[datetime.fromisoformat(p["sp"])] == p["v"]


def test_shapes_are_plausible() -> None:
    def kwh(s: dict, hhmm: str) -> float:
        return float(next(p["v"] for p in s["periods"] if p["sp"][11:16] == hhmm))

    summer = "2024-06-21"
    solar = series(summer, "local", direction="export")
    assert kwh(solar, "01:00") == 0 and kwh(solar, "13:30") > 0.1
    home = series("2024-01-15", "local")
    assert kwh(home, "19:00") > 2 * kwh(home, "04:00")  # evening peak over the night
    office = series("2024-01-15", "local", domestic=False)
    assert kwh(office, "12:00") > 2 * kwh(office, "03:00")
    lights = series(summer, "local", segment="unmetered")
    assert kwh(lights, "13:00") == 0 and kwh(lights, "01:00") > 0
    assert {p["q"] for p in lights["periods"]} == {"A"}
