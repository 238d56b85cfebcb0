"""The settlement calendar and what a run reports, as the central simulators' rules see it.

A settlement trigger's data names a settlement date (``settlement_date``) and, for a run, its code
and number, its GSP group and the consumption the MDS accepted for the day (``volumes``: per MPAN
the IF-021 B900 block as received); rules read ``settlement.*``: the UK clock midnight on which each
run is due (``settlement.calendar.SF``), the local settlement day's periods (48, or 46 / 50 on the
days the clocks change), the per-period rows of a report (``settlement.R024``), the day's volumes
per settlement period and in total (``settlement.volumes``, ``settlement.total``: kWh, 6 decimals;
``settlement.annual``: the total times 365, 3 decimals, IF-040's modelled annual consumption),
the MPANs counted (``settlement.mpans``), the DUoS invoice totals by tariff (``settlement.duos``:
REP-901's R901-06 items), the LDSO's site-specific invoices (``settlement.duos_invoice``:
REP-900's schema, from the billing data mhhs_stubs.duos_billing models), the supplier's BM unit
with its volume (``settlement.bm_units``: REP-003's REP003-R016 items, with the volume by
consumption component class: mhhs_stubs.consumption_classes),
the MDS's defaulted consumption of the data's ``mpan`` (``settlement.defaults``: IF-013's
B920List), the exceptions of the run (``settlement.bm_unit_defaults``: REP-007's R036 items;
``settlement.llf_default``: REP-008's R039 text) and the compressed report
(``settlement.report``: gzip, base64, as block P03 carries it). Everything else is ``None``.

Confirmed: the run codes (DI-160: SF, R1, R2, R3, RF, DR, DF, II), the blocks, periods by UK local
time (Period 1 ends 00:30 local), DUoS Tariff ID at most 3 characters, BM unit id at most 11.
Modelled: the calendar's offsets in working days (weekends only, no bank holidays): II 4 and SF 7
(the TOM's II at 4 WD, SF at 5-7 WD), R1-R3 about one, two and three months, RF four months (the
TOM's target), DR eight and DF twelve months; group correction factor 1 and line loss factor 1 in
every period (the simulator holds no LLF data from the LDSO, so every run uses the default, which
REP-008 reports); the supplier's volumes allocated to its base BM unit of the GSP group
(``2__`` + group letter + MPID + ``000``: no other BM unit is registered, which REP-007 reports);
the DUoS tariff of an MPAN is the register's (mhhs_stubs.registry.site_of); no DUoS charges in REP-901's
aggregated data; REP-900's charges and billing details are mhhs_stubs.duos_billing's.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
from collections.abc import Mapping

from mhhs_sit.data.periods import period_count
from mhhs_sit.definitions.templating import uk_midnight
from mhhs_stubs import duos_billing
from mhhs_stubs.consumption_classes import by_class, defaulted
from mhhs_stubs.registry import site_of

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
PERIOD = dt.timedelta(minutes=30)


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


def settlement_view(
    data: Mapping[str, object], parties: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, object] | None:
    """``settlement.*`` for a message or trigger whose data names a ``settlement_date``; else None.
    ``parties`` are the cohort's, by role (the supplier's MPID names its BM unit)."""
    day = _day(data.get("settlement_date")) if data.get("settlement_date") else None
    if day is None:
        return None
    periods = period_count(day, "local")
    consumption = _consumption(data.get("volumes"), day, periods)
    volumes = [sum(by_period) for by_period in zip(*consumption.values(), strict=True)] or [0.0] * periods
    rows = [
        {
            "settlementPeriodID": n,
            "groupCorrectionFactorImport": UNIT_FACTOR,
            "groupCorrectionFactorExport": UNIT_FACTOR,
        }
        for n in range(1, periods + 1)
    ]
    gsp = str(data.get("gsp_group") or "")
    bm_unit = _base_bm_unit(gsp, (parties or {}).get("SUP", {}).get("mpid"))
    return {
        "date": day.isoformat(),
        "periods": periods,
        "calendar": {code: uk_midnight(plus_working_days(day, wd)) for code, wd in CALENDAR.items()},
        "R024": rows,
        "volumes": [kwh(v) for v in volumes],
        "total": kwh(sum(volumes)),
        "annual": f"{abs(sum(volumes)) * 365:.3f}",  # IF-040's annual consumption: the day's, scaled to a year
        "mpans": len(consumption),
        "duos": duos_totals({m: sum(v) for m, v in consumption.items()}),
        "bm_unit_defaults": _bm_unit_defaults(bm_unit, gsp, len(consumption)),
        "bm_units": _bm_units(bm_unit, day, consumption),
        "duos_invoice": _duos_invoice(day, consumption, gsp, parties or {}),
        "defaults": defaulted(day, dt.datetime.fromisoformat(uk_midnight(day)), periods, data.get("mpan")),
        "llf_default": f"no line loss factors received from the LDSO for {day}: default LLF 1 used in all "
        f"{periods} settlement periods",
        "report": _report(day, data.get("settlement_code"), data.get("run_number"), rows, volumes),
    }


def _duos_invoice(
    day: dt.date, consumption: Mapping[str, list[float]], gsp: str, parties: Mapping[str, Mapping[str, str]]
) -> dict[str, object] | None:
    """REP-900's schema: the LDSO's site-specific invoices of the day, dated the SF run (None
    without consumption or without the cohort's LDSO and supplier)."""
    ldso, supplier = parties.get("LDSO"), parties.get("SUP")
    if not consumption or ldso is None or supplier is None:
        return None
    invoiced = plus_working_days(day, CALENDAR["SF"])
    return {
        "R900-01": duos_billing.distributor(ldso),
        "R900-02": duos_billing.bill_to(supplier),
        "R900-03": duos_billing.site_invoices(day, invoiced, consumption, gsp, ldso.get("mpid", "")),
    }


def kwh(value: float) -> str:
    """A volume as the DIP's positive decimal with 6 places (``^\\d{1,10}\\.\\d{6}$``)."""
    return f"{abs(value):.6f}"


def _consumption(volumes: object, day: dt.date, periods: int) -> dict[str, list[float]]:
    """Per MPAN the day's consumption by local settlement period, from the B900 blocks received;
    a value that is no number, or a period outside the day, is left out (the MDS rejected those)."""
    if not isinstance(volumes, Mapping):
        return {}
    start = dt.datetime.fromisoformat(uk_midnight(day))
    out: dict[str, list[float]] = {}
    for mpan, b900 in volumes.items():
        by_period = [0.0] * periods
        for sp, value in _periods(b900):
            n = round((sp - start) / PERIOD)  # "sp" is the period's end: period 1 ends 00:30 local
            if 1 <= n <= periods:
                by_period[n - 1] += value
        out[str(mpan)] = by_period
    return out


def _periods(b900: object) -> list[tuple[dt.datetime, float]]:
    days = b900.get("settlementDayConsumptionPeriods") if isinstance(b900, Mapping) else None
    found: list[tuple[dt.datetime, float]] = []
    for item in days if isinstance(days, list) else []:
        for period in item.get("consumptionPeriods") or [] if isinstance(item, Mapping) else []:
            try:
                found.append((dt.datetime.fromisoformat(str(period["sp"])), float(period["v"])))
            except (KeyError, TypeError, ValueError):
                continue
    return found


def duos_totals(by_mpan: Mapping[str, float]) -> list[dict[str, object]]:
    """REP-901's R901-06: the MPANs and volume of the day, and per DUoS tariff (with the energy
    direction and domestic flag the register holds) the MPANs counted; empty with no consumption."""
    if not by_mpan:
        return []
    tariffs: dict[tuple[str, str, bool], int] = {}
    for mpan in sorted(by_mpan):
        site = site_of(mpan)
        key = (str(site["duos_tariff"]), str(site["direction"]), bool(site["domestic"]))
        tariffs[key] = tariffs.get(key, 0) + 1
    return [
        {
            "dailyTotalMSIDCount": len(by_mpan),
            "dailyTotalUnitVolume": kwh(sum(by_mpan.values())),
            "R901-07": [
                {
                    "DUoSTariffID": t,
                    "energyDirection": d,
                    "domesticPremiseIndicator": dom,
                    "dailyTariffNumberOfMSIDs": n,
                }
                for (t, d, dom), n in sorted(tariffs.items())
            ],
        }
    ]


def _base_bm_unit(gsp: str, supplier_mpid: object) -> str | None:
    """The supplier's base BM unit of the GSP group: ``2__`` + group letter + MPID + ``000`` (11 characters)."""
    if len(gsp) != 2 or not isinstance(supplier_mpid, str) or len(supplier_mpid) != 4:
        return None
    return f"2__{gsp[1]}{supplier_mpid}000"


def _bm_unit_defaults(bm_unit: str | None, gsp: str, mpans: int) -> list[dict[str, str]]:
    """REP-007's R036: the supplier's volumes in the GSP group went to its base BM unit by default."""
    if bm_unit is None or not mpans:
        return []
    text = (
        f"no BM unit allocation registered: {mpans} MPAN(s) of GSP group {gsp} allocated to the supplier's base BM unit"
    )
    return [{"BMUnitID": bm_unit, "detailsOfDefaultDataUsed": text}]


def _bm_units(bm_unit: str | None, day: dt.date, consumption: Mapping[str, list[float]]) -> list[dict[str, object]]:
    """REP-003's REP003-R016: the base BM unit (a default) with its volume by consumption component
    class (REP003-R017) and the day's allocated volume (R021: corrected equals uncorrected, the group
    correction factor being 1) and the MPANs counted."""
    if bm_unit is None or not consumption:
        return []
    total = sum(sum(v) for v in consumption.values())
    totals = {
        "dailyUncorrectedPeriodBMUnitTotalAllocatedVolume": kwh(total),
        "dailyPeriodBMUnitTotalAllocatedVolume": kwh(total),
        "dailyBMUnitMSIDCount": len(consumption),
    }
    unit = {"BMUnitID": bm_unit, "defaultBMUnitFlag": True}
    return [{"R016": unit, "REP003-R017": by_class(day, consumption), "R021": totals}]


def _report(day: dt.date, code: object, run: object, rows: list[dict[str, object]], volumes: list[float]) -> str:
    """The run's rows as CSV, gzipped and base64-encoded (block P03's ``compressedReport``)."""
    lines = ["settlementDate,settlementCode,runNumber,settlementPeriodID,groupCorrectionFactorImport,allocatedVolume"]
    lines += [
        f"{day},{code},{run},{r['settlementPeriodID']},{r['groupCorrectionFactorImport']},{kwh(v)}"
        for r, v in zip(rows, volumes, strict=True)
    ]
    return base64.b64encode(gzip.compress("\n".join(lines).encode(), mtime=0)).decode()
