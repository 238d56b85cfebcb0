"""``mhhs-sit new scenario`` writes, for every process it offers, a skeleton that ``mhhs-sit validate``
accepts and that runs green against the local simulator as written, in a copy of the tests' own
fixture project (plus a cohort that leaves the metering and data services to the tests, for the
processes they start). Mistakes on its command line are one usage line each, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mhhs_sit.cli.answering import answers
from mhhs_sit.cli.app import main
from mhhs_sit.cli.new_scenario import fitting
from mhhs_sit.cli.processes import PROCESSES, Process
from mhhs_sit.definitions.cohorts import load_cohorts
from tests.helpers import copy_project

# Every role a process can start from is played by the tests here; REGS, LDSO and MDR answer.
SERVICES_UNDER_TEST = """\
cohort: CX
title: Supplier, smart metering and data services under test
data_slot: 90
participants:
  SUP:  {mpid: SUPX, dip_id: "2300000909", name: Xray Supply}
  REGS: {mpid: EELC, dip_id: "2200000909", name: Xray Registration, distributor: "10"}
  LDSO: {mpid: EELC, dip_id: "2500000909", name: Xray Distribution, distributor: "10"}
  SDS:  {mpid: SDSX, dip_id: "1400000909", name: Xray Smart Data}
  MSS:  {mpid: MSSX, dip_id: "1200000909", name: Xray Smart Metering}
  MDR:  {mpid: MDRX, dip_id: "1600000909", name: Xray Meter Data Retriever}
simulated: [REGS, LDSO, MDR]
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def project(root: Path) -> Path:
    copy_project(root, themes=False)
    (root / "cohorts" / "CX.yaml").write_text(SERVICES_UNDER_TEST, encoding="utf-8")
    return root


def first_fitting(process: Process, root: Path) -> str:
    cohorts, problems = load_cohorts(root / "cohorts")
    assert problems == []
    return next(c for c in ("C1", "C2", "CX") if fitting(process, cohorts[c]) is None)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Every process's skeleton written, validated and run in one project: case id -> status."""
    root = project(tmp_path_factory.mktemp("new-scenario"))
    here = Path.cwd()
    os.chdir(root)  # the command's own entry point, in-process: ten interpreter starts would take half a minute
    try:
        for process in PROCESSES:
            out = f"test_themes/NEW-{process.name}.yaml"
            assert main(["new", "scenario", "--process", process.name, "--cohort", first_fitting(process, root),
                         "--out", out]) == 0  # fmt: skip
    finally:
        os.chdir(here)
    validated = cli("validate", cwd=root)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    run = cli("run", "--store", "none", cwd=root)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    (results,) = (root / "results").glob("*/results.json")
    cases = json.loads(results.read_text(encoding="utf-8"))["cases"]
    return root, {f"{c['case']}[{c['cohort']}]": c["status"] for c in cases}


@pytest.mark.parametrize("process", PROCESSES, ids=[p.name for p in PROCESSES])
def test_the_skeleton_validates_and_runs_green(ran: tuple[Path, dict[str, str]], process: Process) -> None:
    root, statuses = ran
    mine = {case: status for case, status in statuses.items() if case.startswith(f"NEW-{process.name}-TC01[")}
    assert mine and set(mine.values()) == {"passed"}, mine
    text = (root / "test_themes" / f"NEW-{process.name}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=") and text.count("- expect:") == len(process.answers)


@pytest.mark.parametrize("process", PROCESSES, ids=[p.name for p in PROCESSES])
def test_each_answer_is_sent_by_a_rule_of_a_role_the_process_needs_simulated(process: Process) -> None:
    """The process table agrees with the shipped rules: every answer it expects is one a rule of the
    roles it needs simulated sends (literally, or as the event code it received)."""
    sent = {
        (interface, event)
        for rules in answers().values()
        for a in rules
        if set(a.roles) & set(process.simulated)
        for interface, event in a.sends
    }
    for interface, event in process.answers:
        assert (interface, event) in sent or any(i == interface and "{{" in e for i, e in sent), (interface, event)


def test_the_skeleton_names_the_rule_that_answers(ran: tuple[Path, dict[str, str]]) -> None:
    root, _ = ran
    text = (root / "test_themes" / "NEW-data-service-appointment.yaml").read_text(encoding="utf-8")
    rule = "'data service accepted -> appointment accepted and active' (stubs/rules/registration.yaml)"
    assert f"- expect:  # sent by the simulated REGS: {rule}" in text
    assert "roles: [SUP, REGS, SDS]" in text and 'where: {M0.MPANCore: "{{ mpan }}", B007.responseCode: A}' in text


def test_help_lists_every_process(tmp_path: Path) -> None:
    shown = cli("new", "scenario", "--help", cwd=tmp_path)
    assert shown.returncode == 0
    assert all(f"  {p.name} " in shown.stdout for p in PROCESSES)


def test_a_misspelt_process_is_one_usage_line_with_a_suggestion(tmp_path: Path) -> None:
    root = project(tmp_path)
    run = cli("new", "scenario", "--process", "data-servce-appointment", "--cohort", "C1", "--out", "x.yaml", cwd=root)
    assert run.returncode == 2 and not (root / "x.yaml").exists()
    assert run.stderr.startswith("mhhs-sit new scenario: --process: unknown process 'data-servce-appointment' "
                                 "(did you mean 'data-service-appointment'?); the processes are ")  # fmt: skip
    assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) == 1


def test_a_cohort_that_cannot_run_the_process_names_one_that_can(tmp_path: Path) -> None:
    root = project(tmp_path)
    run = cli("new", "scenario", "--process", "data-service-appointment", "--cohort", "C2", "--out", "x.yaml", cwd=root)
    assert run.returncode == 2 and not (root / "x.yaml").exists()
    assert "--cohort: cohort C2 does not simulate SDS, which answers it; cohorts that fit: C1" in run.stderr
    typo = cli("new", "scenario", "--process", "supplier-update", "--cohort", "C9", "--out", "x.yaml", cwd=root)
    assert typo.returncode == 2 and "C9" in typo.stderr and "Traceback" not in typo.stderr


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    root = project(tmp_path)
    target = root / "mine.yaml"
    target.write_text("# my own work\n", encoding="utf-8")
    args = ("new", "scenario", "--process", "supplier-update", "--cohort", "C1", "--out", "mine.yaml")
    refused = cli(*args, cwd=root)
    assert refused.returncode == 2 and "mine.yaml exists; pass --force to overwrite it" in refused.stderr
    assert target.read_text(encoding="utf-8") == "# my own work\n"
    forced = cli(*args, "--force", cwd=root)
    assert forced.returncode == 0, forced.stderr
    assert "scenario: mine" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("process", "area"),
    [
        ("data-service-appointment", "Change of service"),
        ("metering-service-appointment", "Change of service"),
        ("change-of-supplier", "change of supplier"),
        ("mpan-relationship", "MPAN relationships"),
        ("supplier-update", "Registration data maintenance"),
        ("consumption-amendment", "consumption"),
        ("meter-installation", "Metering changes"),
        ("energisation", "Metering changes"),
        ("direct-contract", "Registration data maintenance"),
        ("mdr-start", "consumption"),
    ],
)
def test_a_process_is_written_under_the_theme_of_its_process_area(process: str, area: str) -> None:
    from mhhs_sit.definitions.themes import load_themes

    themes, problems = load_themes(Path(__file__).resolve().parent.parent / "test_data" / "themes.yaml")
    assert not problems
    theme = next(p for p in PROCESSES if p.name == process).theme
    assert area in themes.theme("sit-functional", str(theme)).title
