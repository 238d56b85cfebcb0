"""Half-hourly consumption series with plausible shapes, reproducible from the seed.

Each value depends only on (seed, MPAN, the UTC half hour), so a half hour has the same kWh in a
``utc`` series (IF-021) and in the ``local`` settlement-day series that contains it: the two can
be reconciled in a settlement test. Shapes follow local clock time (people live by the clock):
domestic morning and evening peaks, a business-hours plateau for non-domestic and advanced sites,
dusk-to-dawn for unmetered (street lighting), a midday bell for export (solar), all scaled for
the season. About 3% of metered periods are estimates. Periods are DIP B047 objects
``{sp, v, q, e, arc}``; kWh are strings ``n.nnn`` (DT-016).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from mhhs_sit.data.keyed import derive_key, mix64
from mhhs_sit.data.periods import (
    HALF_HOUR,
    as_dip_datetime,
    period_starts,
    uk_offset_hours,
)

_ESTIMATE = {"smart": ("E", "4"), "advanced": ("EA1", "2")}  # (DI-083 quality, DI-076 reason)
_ESTIMATED_PER_THOUSAND = 30


def _bump(h: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((h - centre) / width) ** 2)


def _plateau(h: float, start: float, end: float) -> float:
    return 1.0 / (1.0 + math.exp(-3 * (h - start))) / (1.0 + math.exp(3 * (h - end)))


def _daylight(h: float, noon: float, winter: float) -> float:
    """0 at night, 1 at solar noon; a day lasts about 7.8 h in December, 16.6 h in June."""
    half = 3.9 + 4.4 * (1.0 - winter)
    x = (h - noon) / half
    return math.cos(x * math.pi / 2) ** 2 if abs(x) < 1 else 0.0


def shape(segment: str, direction: str, domestic: bool, hour: float, winter: float,
          bst: int) -> float:  # fmt: skip
    """kWh in the half hour centred on local ``hour`` for a site of scale 1."""
    noon = 12.2 + bst
    if direction == "export":
        return (0.15 + 0.85 * (1.0 - winter)) * _daylight(hour, noon, winter)
    if segment == "unmetered":
        return 0.0 if _daylight(hour, noon, winter) > 0 else 1.0
    if segment == "advanced":
        return (0.35 + 0.65 * _plateau(hour, 7, 19)) * (0.9 + 0.2 * winter)
    if not domestic:
        return (0.15 + 0.6 * _plateau(hour, 8, 18)) * (0.85 + 0.3 * winter)
    return (0.08 + 0.12 * _bump(hour, 7.5, 1.0) + 0.35 * _bump(hour, 18.5, 1.8) + 0.06 * _bump(hour, 13.0, 2.5)) * (
        0.8 + 0.4 * winter
    )


def _scale(segment: str, direction: str, domestic: bool, z: int) -> float:
    u = (z % 10_000) / 10_000
    if direction == "export":
        low, high = (0.5, 1.5) if segment == "smart" else (10.0, 40.0)
    elif segment == "advanced":
        low, high = 5.0, 40.0
    elif segment == "unmetered":
        low, high = 0.5, 3.0
    else:
        low, high = (0.6, 1.6) if domestic else (1.0, 4.0)
    return low + (high - low) * u


def _kwh(milli: int) -> str:
    return f"{milli // 1000}.{milli % 1000:03d}"


def consumption_series(
    mpan: str,
    day: date,
    basis: str,
    *,
    segment: str,
    direction: str,
    domestic: bool,
    seed: int,
) -> dict[str, object]:
    """One MPAN's periods for one settlement day (``utc``: 48; ``local``: 46, 48 or 50)."""
    key = derive_key("consumption", seed, mpan)
    scale = _scale(segment, direction, domestic, mix64(key))
    estimate = _ESTIMATE.get(segment)  # unmetered consumption is calculated, never estimated
    periods = []
    total = 0
    for start in period_starts(day, basis):
        bst = uk_offset_hours(start)
        local = start + timedelta(hours=bst)
        hour = local.hour + local.minute / 60 + 0.25
        doy = local.timetuple().tm_yday
        winter = 0.5 * (1 + math.cos(2 * math.pi * (doy - 15) / 365.25))
        z = mix64(key ^ (int(start.timestamp()) // 1800))
        noise = 0.9 + 0.2 * (z % 10_000) / 10_000
        milli = round(1000 * scale * noise * shape(segment, direction, domestic, hour, winter, bst))
        total += milli
        quality: str = "A"
        reason: str | None = None
        if estimate is not None and (z >> 20) % 1000 < _ESTIMATED_PER_THOUSAND:
            quality, reason = estimate
        periods.append(
            {
                "sp": as_dip_datetime(start + HALF_HOUR, basis),
                "v": _kwh(milli),
                "q": quality,
                "e": reason,
                "arc": None,
            }
        )
    return {
        "mpan": mpan,
        "settlement_date": day.isoformat(),
        "basis": basis,
        "period_count": len(periods),
        "segment": segment,
        "direction": direction,
        "measurement_quantity": "AI" if direction == "import" else "AE",  # B045 MQID
        "total_kwh": _kwh(total),
        "periods": periods,
    }
