"""The LDSO's billing data and the site-specific DUoS invoices of REP-900 (LDSO E-bill Distribution
Invoice I), as the simulated ECS reports them after a settlement run.

A site-specific invoice needs what only the distributor holds: its registered name, company number
and address, billing contact, bank details and VAT number, its supplier's bill-to details, the
tariff's charges and the VAT rate. The simulator holds none of it from a real LDSO, so everything
here is simulator data, marked modelled: the distributor's and supplier's names are the cohort's
(their MPIDs where a participant has no name), the rest fixed test values; one invoice per site of
the run with consumption (the site is the MPAN, its address and DUoS tariff the register's:
mhhs_stubs.registry.site_of) for the settlement day, with a fixed daily charge and the day's units
at one unit rate (time bands are not modelled), VAT at the standard rate. Confirmed (DIP API spec):
the blocks R900-01..R900-05, their fields, the charge types, invoice and VAT rate codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from mhhs_stubs.registry import site_of

FIXED_PER_DAY = Decimal("0.25000")  # GBP per day (modelled)
UNIT_RATE = Decimal("0.01500")  # GBP per kWh, every unit (modelled)
VAT_RATE = Decimal("20.00")  # per cent, code S (standard)
PAYMENT_DAYS = 14  # the invoice is due this many days after its date (modelled)
NO_LINES = (None,) * 9


def _lines(*given: object) -> list[object]:
    return [*[g for g in given if g], *NO_LINES][:9]


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def distributor(ldso: Mapping[str, str]) -> dict[str, object]:
    """R900-01: the LDSO's registered and billing details (modelled)."""
    mpid = ldso.get("mpid", "LDSO")
    out: dict[str, object] = {
        "distributorID": mpid,
        "distributorRegisteredName": (ldso.get("name") or f"{mpid} Distribution")[:70],
        "distributorCompanyRegistrationNumber": "00000000",
        "distributorRegisteredAddressPostcode": "EC1A 1BB",
        "distributorBillingContactName": "DUoS Billing",
        "distributorBillingEmail": f"duos-billing@{mpid.lower()}.example.com",
        "distributorBillingTelephoneNumber": "0000 000 0000",
        "distributorBillingPostcode": "EC1A 1BB",
        "distributorBankSortCode": "000000",
        "distributorBankAccountNumber": "00000000",
        "distributorVATRegistrationNumber": "GB000000000",
    }
    for n, line in enumerate(_lines("Distribution House", "1 Network Road", "London"), start=1):
        out[f"distributorRegisteredAddressLine{n}"] = line
        out[f"distributorBillingAddressLine{n}"] = line
    return out


def bill_to(supplier: Mapping[str, str]) -> dict[str, object]:
    """R900-02: the supplier as the LDSO bills it (modelled)."""
    mpid = supplier.get("mpid", "SUP")
    out: dict[str, object] = {
        "supplierMPID": mpid,
        "supplierDIPID": supplier.get("dip_id"),
        "LDSOBillingSupplierTradingName": (supplier.get("name") or f"{mpid} Supply")[:70],
        "LDSOBillingSupplierVATRegistrationNumber": None,
        "LDSOBillingSupplierVATadditionaltext": None,
        "LDSOBillingSupplierBill-ToContactName": "Accounts Payable",
        "LDSOBillingSupplierBill-ToPostcode": "EC1A 1BB",
    }
    for n, line in enumerate(_lines("Supply House", "2 Market Street", "London"), start=1):
        out[f"LDSOBillingSupplierBill-ToAddressLine{n}"] = line
    return out


def site_invoices(
    day: dt.date, invoiced: dt.date, consumption: Mapping[str, Sequence[float]], gsp: str, mpid: str
) -> list[dict[str, object]]:
    """R900-03: per site with consumption, its invoice for ``day`` dated ``invoiced``."""
    sites = []
    for n, mpan in enumerate(sorted(consumption), start=1):
        site = site_of(mpan)
        item: dict[str, object] = {"GSPGroupID": gsp, "LDSOBillingSiteID": mpan}
        for i, line in enumerate(_lines(site["line1"], site["line2"], site["town"]), start=1):
            item[f"LDSOBillingSiteAddressLine{i}"] = line
        item["LDSOBillingSitePostCode"] = site["postcode"]
        number = f"{mpid}{day:%Y%m%d}{n:03d}"[:17]
        item["R900-04"] = [_invoice(day, invoiced, mpan, str(site["duos_tariff"]), sum(consumption[mpan]), number)]
        sites.append(item)
    return sites


def _invoice(day: dt.date, invoiced: dt.date, mpan: str, tariff: str, kwh: float, number: str) -> dict[str, object]:
    units = Decimal(f"{kwh:.3f}")
    charges = [("FIXED", Decimal("1.000"), FIXED_PER_DAY), ("GREEN", units, UNIT_RATE)]
    lines = [_charge(kind, quantity, price) for kind, quantity, price in charges]
    net = sum((Decimal(str(c["totalChargeForChargeTypeExVAT"])) for c in lines), Decimal(0))
    vat = (net * VAT_RATE / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "DUoSTariffID": tariff, "listOfMPANSonSite": mpan, "misalignedMultiMPANSite": False,
        "LDSOBillingSiteCapacity": 0, "LDSOBillingInvoiceType": "Site Specifc DUoS",  # the spec's spelling
        "taxPointDate": invoiced.isoformat(), "invoiceDate": invoiced.isoformat(),
        "invoiceDueDate": (invoiced + dt.timedelta(days=PAYMENT_DAYS)).isoformat(),
        "LDSOBilingInvoiceNumber": number, "siteSpecificDUoSInvoiceType": "New",
        "LDSOBillingCancelledInvoiceNumber": None, "cancelledInvoiceDate": None,
        "chargePeriodStartDate": day.isoformat(), "chargePeriodEndDate": day.isoformat(),
        "maximumDemandInTheInvoicePeriod": None, "maximumDemandInTheInvoicePeriodDateTime": None,
        "totalInvoiceAmountExVAT": _money(net), "totalInvoiceVAT": _money(vat),
        "totalInvoiceAmountIncVAT": _money(net + vat),
        "R900-05": lines,
    }  # fmt: skip


def _charge(kind: str, quantity: Decimal, price: Decimal) -> dict[str, object]:
    return {
        "chargeType": kind,
        "numberOfDaysBilled": 1,
        "quantity": str(quantity.quantize(Decimal("0.001"))),
        "price": str(price),
        "totalChargeForChargeTypeExVAT": _money(quantity * price),
        "VATRateCode": "S",
        "VATRate": str(VAT_RATE),
    }
