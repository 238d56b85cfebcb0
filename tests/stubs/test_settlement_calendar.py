"""The settlement calendar the simulated VAS runs by: each run's date in working days after the
settlement date (UK clock midnight, with the offset of that date), the local day's periods (46 and
50 on the clock-change days), the compressed report a run's REP carries, and the volumes, DUoS
totals and BM unit defaults a run reports from the consumption received."""

from __future__ import annotations

import base64
import datetime as dt
import gzip

import pytest

from mhhs_stubs.settlement import CALENDAR, plus_working_days, settlement_view


def test_working_days_skip_the_weekend():
    friday = dt.date(2026, 3, 27)
    assert plus_working_days(friday, 1) == dt.date(2026, 3, 30)
    assert plus_working_days(friday, 5) == dt.date(2026, 4, 3)
    assert plus_working_days(dt.date(2026, 3, 29), 4) == dt.date(2026, 4, 2)  # a Sunday's II: Thursday


@pytest.mark.parametrize(
    ("day", "periods", "ii", "sf"),
    [
        ("2026-03-29", 46, "2026-04-02T00:00:00+01:00", "2026-04-07T00:00:00+01:00"),
        ("2026-06-10", 48, "2026-06-16T00:00:00+01:00", "2026-06-19T00:00:00+01:00"),
        ("2026-10-25", 50, "2026-10-29T00:00:00+00:00", "2026-11-03T00:00:00+00:00"),
    ],
)
def test_a_settlement_day_has_its_periods_and_its_runs_in_calendar_order(day, periods, ii, sf):
    view = settlement_view({"settlement_date": f"{day}T00:00:00+00:00", "settlement_code": "SF", "run_number": 1})
    assert view is not None
    assert view["date"] == day and view["periods"] == periods
    calendar = view["calendar"]
    assert isinstance(calendar, dict) and list(calendar) == list(CALENDAR)
    assert calendar["II"] == ii and calendar["SF"] == sf
    instants = [dt.datetime.fromisoformat(calendar[c]) for c in ("II", "SF", "R1", "R2", "R3", "RF", "DR", "DF")]
    assert instants == sorted(instants) and len(set(instants)) == 8
    rows = view["R024"]
    assert isinstance(rows, list) and [r["settlementPeriodID"] for r in rows] == list(range(1, periods + 1))
    text = gzip.decompress(base64.b64decode(str(view["report"]))).decode().splitlines()
    assert text[0].startswith("settlementDate,settlementCode,runNumber,settlementPeriodID")
    assert len(text) == periods + 1 and text[-1].startswith(f"{day},SF,1,{periods},")


def test_only_data_naming_a_settlement_date_has_a_settlement_view():
    assert settlement_view({}) is None
    assert settlement_view({"settlement_date": "not a date"}) is None
    assert settlement_view({"CommonBlock": {}, "B900": {}}) is None


def _b900(values: dict[str, str]) -> dict:
    return {
        "settlementDayConsumptionPeriods": [{"consumptionPeriods": [{"sp": sp, "v": v} for sp, v in values.items()]}]
    }


def test_a_runs_volumes_are_summed_per_local_settlement_period_over_the_mpans_received():
    """On the long day (50 periods) period 1 ends 00:30 BST (23:30 UTC the day before) and period
    50 at midnight GMT; two MPANs' values add up in the period they share."""
    volumes = {
        "1000000000030": _b900({"2026-10-24T23:30:00+00:00": "0.250", "2026-10-26T00:00:00+00:00": "1.000"}),
        "1000000000049": _b900({"2026-10-25T00:30:00+01:00": "0.125", "2026-10-25T12:00:00+00:00": "0.500"}),
    }
    view = settlement_view(
        {"settlement_date": "2026-10-25", "gsp_group": "_A", "volumes": volumes}, {"SUP": {"mpid": "SUPA"}}
    )
    assert view is not None and view["periods"] == 50 and view["mpans"] == 2
    by_period = view["volumes"]
    assert isinstance(by_period, list) and len(by_period) == 50
    assert by_period[0] == "0.375000" and by_period[49] == "1.000000"
    assert by_period[25] == "0.500000"  # 12:00 GMT, 13 hours after 23:00 UTC, ends period 26 of the long day
    assert view["total"] == "1.875000"
    [totals] = view["duos"]
    assert totals["dailyTotalMSIDCount"] == 2 and sum(t["dailyTariffNumberOfMSIDs"] for t in totals["R901-07"]) == 2
    [default] = view["bm_unit_defaults"]
    assert default["BMUnitID"] == "2__ASUPA000" and len(default["BMUnitID"]) == 11
    [bm_unit] = view["bm_units"]
    assert (
        bm_unit["R021"]["dailyBMUnitMSIDCount"] == 2
        and bm_unit["R021"]["dailyPeriodBMUnitTotalAllocatedVolume"] == "1.875000"
    )
    lines = gzip.decompress(base64.b64decode(str(view["report"]))).decode().splitlines()
    assert lines[0].endswith(",allocatedVolume") and lines[1].endswith(",0.375000")


def test_without_consumption_a_run_counts_nothing_and_names_no_bm_unit_default():
    view = settlement_view({"settlement_date": "2026-06-10", "gsp_group": "_A", "volumes": None})
    assert view is not None and view["mpans"] == 0 and view["duos"] == [] and view["bm_unit_defaults"] == []
    assert view["bm_units"] == []
    assert view["total"] == "0.000000" and set(view["volumes"]) == {"0.000000"}
