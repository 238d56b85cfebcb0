"""Scenarios checked against the catalogue version of an interim release (issue: IR CI gate)."""

import pytest

from mhhs_sit.catalogue import load_catalogue
from mhhs_sit.cli.app import main
from mhhs_sit.definitions.impact import affected
from mhhs_sit.definitions.scenario_files import load_scenarios
from mhhs_sit.execution.steps import STEP_KINDS
from tests.helpers import appointment_scenario, copy_project, write


@pytest.fixture
def project(tmp_path, monkeypatch):
    copy_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_passes_for_the_environment_ir_and_fails_for_an_older_one(project, capsys):
    assert main(["validate"]) == 0
    assert "checked against spec version 1.8.2" in capsys.readouterr().out
    assert main(["validate", "--ir", "IR8"]) == 1
    out = capsys.readouterr().out
    assert "[cases[0].steps[0].send.custom.B071.traditionalFallBackReadFrequency]: under spec version 1.8.0" in out
    assert "Traceback" not in out


def test_a_scenario_that_breaks_under_the_newer_ir_fails_until_fixed(project, capsys):
    old = appointment_scenario("T-IR-001").replace("              traditionalFallBackReadFrequency: null\n", "")
    path = write(project, "test_themes/ir.yaml", old)
    assert main(["validate", "test_themes/ir.yaml", "--ir", "IR8"]) == 0
    capsys.readouterr()
    assert main(["validate", "test_themes/ir.yaml", "--ir", "IR8.2"]) == 1
    out = capsys.readouterr().out
    assert "test_themes/ir.yaml:19:15 [cases[0].steps[0].send.custom.B071.traditionalFallBackReadFrequency]" in out
    assert "traditionalFallBackReadFrequency" in out
    path.write_text(appointment_scenario("T-IR-001"))
    assert main(["validate", "test_themes/ir.yaml", "--ir", "IR8.2"]) == 0


@pytest.mark.parametrize(
    ("edit", "where", "phrase"),
    [
        (("interface: IF-031", "interface: IF-099"), "send.interface]", "unknown interface 'IF-099'"),
        (("event: DSApp", "event: DSAppz"), "send.event]", "is not an event code of IF-031"),
        (("as: SUP", "as: SDS"), "send.as]", "SDS may not send IF-031; its senders are SUP"),
        (("appointmentScenario: CSP", "appointmentScenario: XYZ"), "appointmentScenario]", "XYZ"),
        (
            ("supplierProposedDomesticIndicator: true", "supplierProposedDomesticIndicator: yes please"),
            "supplierProposedDomesticIndicator]",
            "true or false",
        ),
    ],
)
def test_collection_time_payload_problems_are_located(project, capsys, edit, where, phrase):
    write(project, "test_themes/bad.yaml", appointment_scenario("T-IR-002").replace(*edit))
    assert main(["validate", "test_themes/bad.yaml"]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if where in line)
    assert line.startswith("test_themes/bad.yaml:") and phrase in line, out


def test_templated_values_are_checked_when_the_step_runs(pytester):
    copy_project(pytester.path, themes=False)
    text = appointment_scenario("T-IR-003").replace(
        'proposedDataServiceMPID: "{{ cohort.SDS.mpid }}"', 'proposedDataServiceMPID: "{{ cohort.SDS.mpid | lower }}"'
    )
    write(pytester.path, "test_themes/t.yaml", text)
    result = pytester.runpytest_subprocess("-q", "--cohort", "C1", timeout=120)
    out = result.stdout.str()
    assert "1 definition error" in out  # the test file is wrong, not the environment
    assert "breaks spec version 1.8.2" in out and "proposedDataServiceMPID" in out


def test_pytest_ir_option_checks_scenarios_at_collection(pytester):
    copy_project(pytester.path)
    result = pytester.runpytest("--collect-only", "-q", "--ir", "IR8")
    result.stdout.fnmatch_lines(["*traditionalFallBackReadFrequency*under spec version 1.8.0*"])
    assert result.ret != 0
    bad = pytester.runpytest("--collect-only", "-q", "--ir", "IR42")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["ERROR: --ir: unknown catalogue version 'IR42'*; known versions: 1.8.0 (IR8), *"])


def test_diff_names_the_cases_each_change_affects(project, capsys):
    cat = load_catalogue()
    scenarios, problems = load_scenarios([project / "test_themes"], STEP_KINDS, project)
    assert not problems
    changes = cat.diff("1.8.0", "1.8.2")
    added = next(c for c in changes if c.kind == "field-added" and c.interface_id == "IF-031")
    assert affected(added, scenarios, STEP_KINDS) == [f"SITFT-01-001-TC0{n}" for n in range(1, 5)] + [
        f"SITFT-03-001-TC0{n}" for n in range(1, 5)
    ] + ["SITFT-04-001-TC01", "SITFT-04-001-TC02", "SITFT-04-001-TC04"]  # TC03 sends no B071
    common = next(c for c in changes if c.path.startswith("/CommonBlock"))
    assert affected(common, scenarios, STEP_KINDS) == []
    renamed = next(c for c in changes if c.kind == "field-renamed" and c.interface_id == "IF-031")
    # only the change-of-supplier cases carry the CSS registration id in B013 (TC03 leaves it out)
    assert affected(renamed, scenarios, STEP_KINDS) == ["SITFT-04-001-TC01", "SITFT-04-001-TC02", "SITFT-04-001-TC04"]
    assert main(["catalogue", "diff", "IR8", "IR8.2", "--interface", "IF-031"]) == 0
    out = capsys.readouterr().out
    assert "11 of 12 test cases affected" in out and "CASES AFFECTED" in out


def test_the_ci_recipe_commands_work(project):
    import subprocess
    import sys

    cli = [sys.executable, "-m", "mhhs_sit.cli.app"]
    assert subprocess.run([*cli, "validate", "--ir", "IR8.2"], capture_output=True).returncode == 0
    run = subprocess.run(
        [*cli, "run", "-m", "smoke", "--ir", "IR8.2", "--out", "results", "--no-subdir"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert (project / "results" / "junit.xml").is_file()
    assert list((project / "results" / "allure-results").glob("*-result.json"))
    assert "passed" in run.stdout


SPEC = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "dip-api-spec"


@pytest.mark.parametrize("official", [False, True], ids=["catalogue", "official-spec"])
def test_the_simulator_refuses_a_schema_failure_listing_every_violation(pytester, official):
    if official and not SPEC.is_dir():
        pytest.skip(f"the official DIP spec is not at {SPEC}")
    copy_project(pytester.path, themes=False)
    text = appointment_scenario("T-IR-004").replace("appointmentScenario: CSP", "appointmentScenario: XYZ")
    text = text.replace("supplierProposedConsentGranularity: H", "supplierProposedConsentGranularity: Q")
    text = text.replace(
        '          mpan: "{{ mpan }}"\n',
        '          mpan: "{{ mpan }}"\n          response: {status: 400, code: MSG1001}\n',
    )
    text += "      - name: nothing was routed\n        assert:\n          - {value: 1, eq: 1}\n"
    write(pytester.path, "test_themes/t.yaml", text)
    args = ["-q", "--cohort", "C1", "--mhhs-results", "r.json"] + ([f"--dip-spec={SPEC}"] if official else [])
    result = pytester.runpytest_subprocess(*args, timeout=120)
    result.assert_outcomes(passed=1)
    import json

    case = json.loads((pytester.path / "r.json").read_text())["cases"][0]
    assert case["status"] == "passed"


def test_a_separate_dip_spec_argument_is_refused_with_the_fix(pytester):
    if not SPEC.is_dir():
        pytest.skip(f"the official DIP spec is not at {SPEC}")
    copy_project(pytester.path)
    result = pytester.runpytest_subprocess("--collect-only", "--dip-spec", str(SPEC))
    result.stderr.fnmatch_lines([f"*write --dip-spec={SPEC} (with '=')*"])
