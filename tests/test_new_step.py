"""``mhhs-sit new step`` writes, for every interface and event with a full schema, a send step whose
message (its templates filled in as a run fills them) breaks no rule of that schema, and which
``mhhs-sit validate`` accepts in a scenario."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from mhhs_sit.catalogue import load_catalogue
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.payloads import check_message
from mhhs_sit.definitions.scaffold import send_step
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from tests.helpers import FIXTURES, copy_project

CATALOGUE = load_catalogue()
VERSION = CATALOGUE.default_version
PAIRS = [
    (iface.id, event, role)
    for iface in CATALOGUE.interfaces
    if iface.detail == "full"
    for event in iface.event_codes(VERSION)
    for role in sorted(iface.senders)[:1]
]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def context() -> dict[str, object]:
    cohort = load_cohorts(FIXTURES / "cohorts")[0]["C1"].as_template_value()
    for role in ("MDR", "ADS", "MSA", "UMSO", "UMSDS", "DCC", "EES", "MDS", "VAS", "ECS", "LSS", "ISD", "UMSO"):
        cohort.setdefault(role, {"dip_id": "9900000001", "mpid": "ZZZZ", "role": role, "name": "", "distributor": None})
    return {**templating.builtins(dt.datetime(2026, 12, 4, tzinfo=dt.UTC)), "cohort": cohort, "mpan": "2000056535971"}


def test_every_full_interface_and_event_is_covered() -> None:
    assert len(PAIRS) >= 30


@pytest.mark.parametrize(("interface", "event", "role"), PAIRS, ids=[f"{i}-{e}" for i, e, _ in PAIRS])
def test_the_scaffolded_message_meets_its_schema(interface: str, event: str, role: str) -> None:
    step = yaml.safe_load(send_step(interface, event, role, None))[0]["send"]
    custom = templating.render(step["custom"], context())
    assert isinstance(custom, dict)
    message = build_message(
        interface_id=interface,
        event=event,
        sender=Sender("2300000101", role),
        environment_tag="DEV",
        refs=ReferenceSource("new"),
        custom=custom,
        mpan="2000056535971",
        distributor_dip_id="2500000101",
        gsp_group="_A",
    )
    assert check_message(message, interface, VERSION) == []


def test_validate_accepts_every_scaffolded_step(tmp_path: Path) -> None:
    root = copy_project(tmp_path, themes=False)
    roles = sorted({role for *_, role in PAIRS} | {"SUP"})
    cases = "".join(
        f"  - id: SITNEW-{n:03d}\n    title: {interface} {event}\n    data:\n      mpan: {{draw: mpan}}\n    steps:\n"
        + textwrap.indent(send_step(interface, event, role, None), " " * 6)
        for n, (interface, event, role) in enumerate(PAIRS)
    )
    text = (
        f"scenario: SITNEW\ntitle: scaffolded\nstage: sit-functional\ntheme: 9\nroles: [{', '.join(roles)}]\ncases:\n"
    )
    (root / "test_themes").mkdir()
    (root / "test_themes" / "new.yaml").write_text(text + cases, encoding="utf-8")
    run = cli("validate", "--ir", VERSION, cwd=root)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr


def test_the_command_prints_the_step_and_refuses_unknown_values_in_one_line() -> None:
    run = cli("new", "step", "--interface", "IF-031", "--event", "DSApp", "--as", "SUP")
    assert run.returncode == 0, run.stderr
    assert (
        '        proposedDataServiceDIPID: "{{ cohort.SDS.dip_id }}"  # a DIP participant id of exactly 10'
        in run.stdout
    )
    for args, line in (
        (
            ["--interface", "IF-031", "--event", "DSAp"],
            "--event: IF-031 has no event [DSAp] in 2.1.0 (did you mean 'DSApp'?)",
        ),
        (["--interface", "IF-035", "--event", "DSAppAccepted", "--as", "SUP"], "--as: SUP may not send IF-035"),
        (["--interface", "IF-0355", "--event", "X"], "--interface: unknown interface 'IF-0355'; did you mean IF-035"),
    ):
        bad = cli("new", "step", *args)
        assert bad.returncode == 2 and line in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
