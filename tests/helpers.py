"""Building small mhhs-sit projects for pytester-driven tests."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAST_ADDOPTS = "-p no:faker -p no:anyio -p no:hypothesispytest"


def copy_project(dest: Path, *, themes: bool = True) -> Path:
    """The repository's cohorts, environments (and scenarios) in ``dest``, plus a pytest.ini."""
    # The qualification scenarios are left out: they run under ``mhhs-sit qualify`` only (a
    # system under test outside), and elsewhere are skipped for want of a played REGS.
    skip = shutil.ignore_patterns("qualification")
    for name in ("cohorts", "environments") + (("test_themes",) if themes else ()):
        shutil.copytree(REPO / name, dest / name, dirs_exist_ok=True, ignore=skip if name == "test_themes" else None)
    (dest / "pytest.ini").write_text(f"[pytest]\nmhhs_env = local\naddopts = {FAST_ADDOPTS}\n")
    return dest


def write(dest: Path, relative: str, text: str) -> Path:
    path = dest / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def appointment_scenario(sid: str, extra_steps: str = "", *, roles: str = "[SUP, REGS, SDS]") -> str:
    """A one-case scenario: the supplier proposes the cohort's SDS, then ``extra_steps``."""
    return f"""
scenario: {sid}
title: Test scenario {sid}
stage: sit-functional
theme: 3
roles: {roles}
cases:
  - id: {sid}-TC01
    title: case of {sid}
    data:
      mpan: {{draw: mpan}}
    steps:
      - send:
          as: SUP
          interface: IF-031
          event: DSApp
          mpan: "{{{{ mpan }}}}"
          custom:
            B071:
              proposedDataServiceDIPID: "{{{{ cohort.SDS.dip_id }}}}"
              proposedDataServiceMPID: "{{{{ cohort.SDS.mpid }}}}"
              proposedDataServiceDIPEffectiveFromDate: "{{{{ midnight }}}}"
              contractReferenceDataService: SDS-1
              appointmentScenario: CSP
              supplierNominatedMDRDIPID: null
              supplierNominatedMDRMPID: null
              supplierNominatedMDREffectiveFromDate: null
              supplierProposedConsentGranularity: H
              supplierProposedDomesticIndicator: true
              traditionalFallBackReadFrequency: null
{textwrap.indent(textwrap.dedent(extra_steps).strip(), " " * 6) if extra_steps.strip() else ""}
"""
