"""Shared fixtures: the catalogue, valid example messages, the official DIP spec copy."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mhhs_sit.catalogue import Catalogue, load_catalogue
from mhhs_sit.catalogue.data import DATA_DIR

SPEC_DIR = Path(__file__).parents[2] / ".." / "shared" / "dip-api-spec"

COMMON: dict[str, Any] = {
    "S1": {
        "environmentTag": "SIT",
        "subText": "catalogue test",
        "senderUniqueReference": "S-IF-031-2300000001-SUP-20240101-0001",
        "senderTimestamp": "2024-01-01T10:00:00+00:00",
        "senderDIPID": "2300000001",
        "senderRoleID": "SUP",
        "senderCorrelationID": None,
        "DIPConnectionProviderID": None,
    },
    "A0": {"primaryRecipients": ["2200000001"], "secondaryRecipients": [], "always": []},
    "M0": {"MPANCore": "2000056535971", "distributorDIPID": "2500000001", "GSPGroupID": "_L"},
}

B071 = {
    "proposedDataServiceDIPID": "1400000001",
    "proposedDataServiceMPID": "SDSA",
    "proposedDataServiceDIPEffectiveFromDate": "2024-01-02T00:00:00+00:00",
    "contractReferenceDataService": None,
    "appointmentScenario": "COS",
    "supplierNominatedMDRDIPID": None,
    "supplierNominatedMDRMPID": None,
    "supplierNominatedMDREffectiveFromDate": None,
    "supplierProposedConsentGranularity": "H",
    "supplierProposedDomesticIndicator": True,
    "traditionalFallBackReadFrequency": None,
}


def message(interface_id: str, event: str, custom: dict[str, Any], *, schema_version: str = "011") -> dict[str, Any]:
    """A message with valid common blocks (S0, S1, A0, M0) and the given custom block."""
    common = copy.deepcopy(COMMON)
    common["S1"]["senderUniqueReference"] = f"S-{interface_id}-2300000001-SUP-20240101-0001"
    s0 = {"interfaceID": interface_id, "schemaVersion": schema_version, "eventCode": f"[{event}]"}
    return {"CommonBlock": {"S0": s0, **common}, "CustomBlock": copy.deepcopy(custom)}


MessageFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def make_message() -> MessageFactory:
    """``make_message("IF-002", "GainMPANInfo", custom_block)``: valid common blocks around it."""
    return message


@pytest.fixture(scope="session")
def cat() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def ds_app() -> dict[str, Any]:
    """A valid IF-031 [DSApp] (supplier asks the registration service to appoint a data service)."""
    return message("IF-031", "DSApp", {"B013": {"CSSRegistrationID": "a1b2c3"}, "B071": B071})


@pytest.fixture
def consumption() -> dict[str, Any]:
    """A valid IF-021 [ActivePower] with one UTC day of two half-hour periods."""
    periods = [
        {"sp": "2024-01-01T00:30:00+00:00", "v": "1.250", "q": "A", "e": None, "arc": None},
        {"sp": "2024-01-01T01:00:00+00:00", "v": "0.875", "q": "E1", "e": "4", "arc": None},
    ]
    custom = {
        "B044": {"issuingDataServiceDIPID": "1400000001"},
        "B067": {
            "connectionTypeIndicator": "W",
            "connectionTypeEffectiveFromDate": "2023-04-01T00:00:00+01:00",
        },
        "B900": {
            "MQID": {"measurementQuantityID": "AI"},
            "settlementDayConsumptionPeriods": [
                {
                    "settlementDay": {
                        "settlementDayDate": "2024-01-01T00:00:00+00:00",
                        "periodDuration": 30,
                    },
                    "consumptionPeriods": periods,
                }
            ],
        },
    }
    return message("IF-021", "ActivePower", custom)


@pytest.fixture
def spec_dir() -> Path:
    """The copy of the official DIP spec v2.1.0 next to the repository (skipped when absent)."""
    if not (SPEC_DIR / "SubmitEvents-unresolved.yaml").is_file():
        pytest.skip(f"the official DIP spec is not at {SPEC_DIR.resolve()} (../shared/dip-api-spec)")
    return SPEC_DIR


@pytest.fixture
def data_copy(tmp_path: Path) -> Callable[[str, Callable[[str], str]], Path]:
    """A copy of the catalogue's data files with one file edited; returns the directory."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))

    def edit(name: str, change: Callable[[str], str]) -> Path:
        path = target / name
        text = path.read_text(encoding="utf-8")
        changed = change(text)
        assert changed != text, f"the edit did not change {name}"
        path.write_text(changed, encoding="utf-8")
        return target

    return edit
