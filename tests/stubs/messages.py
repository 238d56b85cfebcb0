"""A valid message for the simulator tests: C1's supplier appoints C1's smart data service."""

from __future__ import annotations

from mhhs_sit.envelope import ReferenceSource, Sender, build_message

B071 = {
    "proposedDataServiceDIPID": "1400000101",
    "proposedDataServiceMPID": "SDSA",
    "proposedDataServiceDIPEffectiveFromDate": "2026-01-01T00:00:00+00:00",
    "contractReferenceDataService": "C-1",
    "appointmentScenario": "CSP",
    "supplierNominatedMDRDIPID": None,
    "supplierNominatedMDRMPID": None,
    "supplierNominatedMDREffectiveFromDate": None,
    "supplierProposedConsentGranularity": "H",
    "supplierProposedDomesticIndicator": True,
    "traditionalFallBackReadFrequency": None,
}


def appointment(mpan: str = "1000000000011") -> dict:
    """C1's supplier proposes C1's smart data service to the registration service (IF-031)."""
    return build_message(
        interface_id="IF-031", event="DSApp", sender=Sender("2300000101", "SUP"), environment_tag="DEV",
        refs=ReferenceSource(), custom={"B071": B071}, recipients=["2200000101"], mpan=mpan,
        distributor_dip_id="2500000101",
    )  # fmt: skip
