"""Consumption component classes and defaulted consumption, as the central simulators report them.

REP-003 details a BM unit's allocated volume by consumption component class (REP003-R017: the
class, its R019 daily totals and one R018 row per settlement period); IF-013 carries the MDS's
defaulted consumption of an MPAN (B920: the class's measurement quantity and attributes, one B048
row per settlement period). Both group MPANs by what the register holds of them (segment,
connection type, energy direction, domestic flag: mhhs_stubs.registry.site_of).

Confirmed (DIP API spec): the blocks and fields, CCC IDs 100-999 (DI-300), the component indicator C
or L (DI-080), the load shape flags (DI-154: A actual, D standard default data, E back stop, B no
data). Modelled: the CCC IDs themselves (the BSC's class table is not in the spec): 100 + 20 per
segment (S, A, U) + 10 for export + 1 for non-domestic, the consumption component only (line loss
factor 1 makes every loss zero); scaling weight 1.00; a defaulted period is 0.100 kWh from the
standard default data (D), the simulator holding no annual consumption for a better estimate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from mhhs_stubs.registry import site_of

SEGMENTS = ("S", "A", "U")
DEFAULT_KWH = "0.100"  # DIP Decimal-9-3
ZERO = "0.000000"
PERIOD = dt.timedelta(minutes=30)


def ccc_id(segment: str, direction: str, domestic: bool) -> int:
    """The (modelled) consumption component class of an MPAN's consumption."""
    base = 100 + 20 * (SEGMENTS.index(segment) if segment in SEGMENTS else 0)
    return base + (10 if direction == "E" else 0) + (0 if domestic else 1)


def _kwh(value: float) -> str:
    return f"{abs(value):.6f}"


def _site_class(mpan: str) -> tuple[int, str, str]:
    site = site_of(mpan)
    segment, direction = str(site["segment"]), str(site["direction"])
    return ccc_id(segment, direction, bool(site["domestic"])), str(site["connection_type"]), segment


def by_class(day: dt.date, consumption: Mapping[str, Sequence[float]]) -> list[dict[str, object]]:
    """REP003-R017 items: per class of the MPANs that consumed, its totals and per-period rows."""
    classes: dict[tuple[int, str, str], list[float]] = {}
    for mpan in sorted(consumption):
        key = _site_class(mpan)
        periods = classes.setdefault(key, [0.0] * len(consumption[mpan]))
        for n, value in enumerate(consumption[mpan]):
            periods[n] += value
    return [_class_item(day, key, periods) for key, periods in sorted(classes.items())]


def _class_item(day: dt.date, key: tuple[int, str, str], periods: list[float]) -> dict[str, object]:
    ccc, connection, segment = key
    total = _kwh(sum(periods))
    return {
        "R017": {
            "consumptionComponentClassID": ccc,
            "GSPGroupCorrectionScalingWeight": "1.00",
            "connectionTypeIndicator": connection,
            "marketSegmentIndicator": segment,
            "consumptionComponentIndicator": "C",
        },
        "R019": {
            "dailyBMUnitPeriodLevelConsumption": total,
            "dailyBMUnitPeriodLevelConsumptionLosses": ZERO,
            "dailyCorrectedComponent": total,
            "dailyCorrectedComponentLosses": ZERO,
        },
        "REP003-R018": [
            {
                "settlementDate": day.isoformat(),
                "settlementPeriod": n,
                "uncorrectedBMUnitPeriodLevelConsumption": _kwh(v),
                "uncorrectedBMUnitPeriodLevelConsumptionLosses": ZERO,
                "correctedComponentConsumption": _kwh(v),  # group correction factor 1
                "correctedComponentLosses": ZERO,
            }
            for n, v in enumerate(periods, start=1)
        ],
    }


def defaulted(day: dt.date, start: dt.datetime, periods: int, mpan: object) -> list[dict[str, object]]:
    """IF-013's B920List for ``mpan`` on the settlement ``day`` whose first period starts at
    ``start`` (UK clock midnight): every period defaulted, each row naming the period's end (UTC)."""
    if not isinstance(mpan, str) or not mpan:
        return []
    ccc, _, segment = _site_class(mpan)
    site = site_of(mpan)
    rows = [
        {
            "settlementPeriodEffectiveToDateTime": (start + n * PERIOD).astimezone(dt.UTC).isoformat(),
            "defaultedSPConsumption": DEFAULT_KWH,
            "defaultLoadShapeFlag": "D",
        }
        for n in range(1, periods + 1)
    ]
    mqid = {
        "measurementQuantityID": "AE" if site["direction"] == "E" else "AI",
        "marketSegmentIndicator": segment,
        "domesticPremiseIndicator": bool(site["domestic"]),
        "consumptionComponentClassID": ccc,
        "consumptionComponentIndicator": "C",
    }
    settlement_day = {"settlementDayDate": f"{day.isoformat()}T00:00:00+00:00", "periodDuration": 30}
    return [
        {
            "MQID": mqid,
            "settlementDayConsumptionPeriods": [{"settlementDay": settlement_day, "defaultedConsumptionPeriods": rows}],
        }
    ]
