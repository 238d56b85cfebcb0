"""Building small mhhs-sit projects for pytester-driven tests."""

from __future__ import annotations

import contextlib
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "project"
"""The framework's own project (cohorts, environments, scenarios): the tests' counts are of these,
never of the working tree's ``test_themes/``, which a test team adds to."""
FAST_ADDOPTS = "-p no:faker -p no:anyio -p no:hypothesispytest"


def copy_project(dest: Path, *, themes: bool = True) -> Path:
    """The fixture project's cohorts, environments (and scenarios) in ``dest``, plus a pytest.ini."""
    for name in ("cohorts", "environments") + (("test_themes",) if themes else ()):
        shutil.copytree(FIXTURES / name, dest / name, dirs_exist_ok=True)
    (dest / "pytest.ini").write_text(f"[pytest]\nmhhs_env = local\naddopts = {FAST_ADDOPTS}\n")
    return dest


def write(dest: Path, relative: str, text: str) -> Path:
    path = dest / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


# The CustomBlock of a supplier's IF-031 [DSApp] proposing the cohort's SDS, at the depth a
# send's (or a load's) `custom:` takes it in these scenarios.
DSAPP_B071 = """            B071:
              proposedDataServiceDIPID: "{{ cohort.SDS.dip_id }}"
              proposedDataServiceMPID: "{{ cohort.SDS.mpid }}"
              proposedDataServiceDIPEffectiveFromDate: "{{ midnight }}"
              contractReferenceDataService: SDS-1
              appointmentScenario: CSP
              supplierNominatedMDRDIPID: null
              supplierNominatedMDRMPID: null
              supplierNominatedMDREffectiveFromDate: null
              supplierProposedConsentGranularity: H
              supplierProposedDomesticIndicator: true
              traditionalFallBackReadFrequency: null
"""


def unreachable_environment(dest: Path, name: str = "down", *, retries: int = 0) -> Path:
    """An environment whose DIP nothing answers (a closed loopback port): every call is refused."""
    return write(
        dest,
        f"environments/{name}.yaml",
        f"""
        environment: {name}
        environment_tag: DEV
        stubs: none
        dip_url: http://127.0.0.1:9
        timeouts: {{connect: 1s, read: 1s, expect: 1s}}
        retries: {retries}
    """,
    )


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
{DSAPP_B071}{textwrap.indent(textwrap.dedent(extra_steps).strip(), " " * 6) if extra_steps.strip() else ""}
"""


PG_ENV = "MHHS_SIT_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The test PostgreSQL server (CI starts one: ``.ci/postgres``); the test is skipped without it,
    unless ``MHHS_SIT_REQUIRE_TOOLS=1`` makes that a failure."""
    import os

    import pytest

    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("MHHS_SIT_REQUIRE_TOOLS") == "1":
            pytest.fail(f"PostgreSQL is required here (MHHS_SIT_REQUIRE_TOOLS=1) but {PG_ENV} is not set")
        pytest.skip(f"no PostgreSQL: set {PG_ENV} (.ci/postgres start DIR prints one)")
    return url


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards: the URL to it."""
    import uuid

    import psycopg

    base = postgres_url()
    name = f"mhhs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def simulating(cohorts: Path, *, signing: str = "optional") -> Iterator[Any]:
    """The embedded simulator for a cohorts directory, every answer checked against its own
    /openapi.json: a test module's simulator fails on any defect it journalled."""
    from mhhs_sit.definitions.cohorts import load_cohorts
    from mhhs_stubs import EmbeddedSimulator, config_from_cohorts

    loaded, problems = load_cohorts(cohorts)
    assert not problems
    config = config_from_cohorts(loaded.values(), version="1.8.2", check_responses=True, signing=signing)
    with EmbeddedSimulator(config) as sim:
        yield sim
    assert sim.sim.defects == []  # every answer here is one /openapi.json documents


OFFICIAL_SPEC = REPO.parent / "shared" / "dip-api-spec"  # Elexon's DIP spec, beside the checkout where present


def official_spec_args() -> dict[str, str]:
    """``dip_spec=`` for the simulator when the official spec is beside the checkout, else nothing."""
    return {"dip_spec": str(OFFICIAL_SPEC)} if (OFFICIAL_SPEC / "SubmitEvents-unresolved.yaml").is_file() else {}


def written_cohorts(directory: Path, texts: dict[str, str]) -> list[Any]:
    """Cohort files written into ``directory`` (``{name: YAML}``, each dedented) and loaded; a problem
    in them fails the test."""
    from mhhs_sit.definitions.cohorts import load_cohorts

    for name, text in texts.items():
        (directory / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip())
    cohorts, problems = load_cohorts(directory)
    assert not problems, problems
    return list(cohorts.values())
