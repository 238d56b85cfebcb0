"""A valid message for the simulator tests: C1's supplier appoints C1's smart data service.

The one B071 (proposed data service) block the tests and ``bench/bench_simulator.py`` build on.
"""

from __future__ import annotations

from typing import Any

from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message

MIDNIGHT = "2026-01-01T00:00:00+00:00"


def b071(ds: str = "1400000101", mpid: str = "SDSA", scenario: str = "CSP", contract: str = "C-1") -> dict[str, Any]:
    """A B071 block proposing data service ``ds``: a fresh dict each time, safe to alter."""
    return {
        "proposedDataServiceDIPID": ds,
        "proposedDataServiceMPID": mpid,
        "proposedDataServiceDIPEffectiveFromDate": MIDNIGHT,
        "contractReferenceDataService": contract,
        "appointmentScenario": scenario,
        "supplierNominatedMDRDIPID": None,
        "supplierNominatedMDRMPID": None,
        "supplierNominatedMDREffectiveFromDate": None,
        "supplierProposedConsentGranularity": "H",
        "supplierProposedDomesticIndicator": True,
        "traditionalFallBackReadFrequency": None,
    }


B071 = b071()


def appointment(mpan: str = "1000000000011", refs: ReferenceSource | None = None) -> dict[str, Any]:
    """C1's supplier proposes C1's smart data service to the registration service (IF-031)."""
    return build_message(
        interface_id="IF-031", event="DSApp", sender=Sender("2300000101", "SUP"), environment_tag="DEV",
        refs=refs or ReferenceSource(), custom={"B071": b071()}, recipients=["2200000101"], mpan=mpan,
        distributor_dip_id="2500000101",
    )  # fmt: skip
