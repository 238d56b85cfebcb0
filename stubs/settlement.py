"""The settlement calendar and what a run reports, as the central simulators' rules see it.

A settlement trigger's data names a settlement date (``settlement_date``) and, for a run, its code
and number; rules read ``settlement.*``: the UK clock midnight on which each run is due
(``settlement.calendar.SF``), the local settlement day's periods (48, or 46 / 50 on the days the
clocks change), the per-period rows of a report (``settlement.R024``) and its compressed report
(``settlement.report``: gzip, base64, as block P03 carries it). Everything else is ``None``.

Confirmed: the run codes (DI-160: SF, R1, R2, R3, RF, DR, DF, II), the blocks, periods by UK local
time (Period 1 ends 00:30 local). Modelled: the calendar's offsets in working days (weekends only,
no bank holidays): II 4 and SF 7 (the TOM's II at 4 WD, SF at 5-7 WD), R1-R3 about one, two and three
months, RF four months (the TOM's target), DR eight and DF twelve months; report values (group
correction factor 1 in every period; the volumes are not aggregated).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
from collections.abc import Mapping

from mhhs_sit.data.periods import period_count
from mhhs_sit.definitions.templating import uk_midnight

CALENDAR: Mapping[str, int] = {  # run code -> working days after the settlement date (modelled)
    "II": 4,
    "SF": 7,
    "R1": 22,
    "R2": 43,
    "R3": 64,
    "RF": 86,
    "DR": 172,
    "DF": 258,
}
UNIT_FACTOR = "1.000000000"  # DIP Group-Correction-Factor: ^\d{1,9}\.\d{9}$


def plus_working_days(day: dt.date, count: int) -> dt.date:
    """``count`` working days after ``day`` (Saturdays and Sundays skipped)."""
    while count > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def _day(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def settlement_view(data: Mapping[str, object]) -> dict[str, object] | None:
    """``settlement.*`` for a message or trigger whose data names a ``settlement_date``; else None."""
    day = _day(data.get("settlement_date")) if data.get("settlement_date") else None
    if day is None:
        return None
    periods = period_count(day, "local")
    rows = [
        {
            "settlementPeriodID": n,
            "groupCorrectionFactorImport": UNIT_FACTOR,
            "groupCorrectionFactorExport": UNIT_FACTOR,
        }
        for n in range(1, periods + 1)
    ]
    return {
        "date": day.isoformat(),
        "periods": periods,
        "calendar": {code: uk_midnight(plus_working_days(day, wd)) for code, wd in CALENDAR.items()},
        "R024": rows,
        "report": _report(day, data.get("settlement_code"), data.get("run_number"), rows),
    }


def _report(day: dt.date, code: object, run: object, rows: list[dict[str, object]]) -> str:
    """The run's rows as CSV, gzipped and base64-encoded (block P03's ``compressedReport``)."""
    lines = ["settlementDate,settlementCode,runNumber,settlementPeriodID,groupCorrectionFactorImport"]
    lines += [f"{day},{code},{run},{r['settlementPeriodID']},{r['groupCorrectionFactorImport']}" for r in rows]
    return base64.b64encode(gzip.compress("\n".join(lines).encode(), mtime=0)).decode()
