"""A deliberately broken simulated party, from a rules directory of its own (an environment's
``rules:``), makes exactly the cases that depend on its behaviour fail as product defects; the
others pass, and none is reported broken: the verdict names the party, not the environment."""

import json
import shutil
import sys

from tests.helpers import REPO, copy_project, write


def test_a_data_service_that_declines_everything_fails_the_acceptance_case_only(pytester):
    copy_project(pytester.path)
    rules = pytester.path / "broken-rules"
    shutil.copytree(REPO / "stubs" / "rules", rules)
    data_service = rules / "data_service.yaml"
    text = data_service.read_text()
    accept = 'B007: {responseCode: A, proposedAppointmentResponseCode: "SP000 - Proposed Appointment ACCEPTED"}'
    assert text.count(accept) == 1
    data_service.write_text(
        text.replace(accept, 'B007: {responseCode: R, proposedAppointmentResponseCode: "REJ999 - broken"}')
    )
    local = (pytester.path / "environments" / "local.yaml").read_text()
    write(
        pytester.path,
        "environments/broken.yaml",
        local.replace("environment: local", "environment: broken") + "rules: broken-rules\n",
    )

    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--mhhs-env",
        "broken",
        "--cohort",
        "C1",
        "--theme",
        "3",
        "--mhhs-results",
        "r.json",
        timeout=180,
    )
    cases = {c["case"]: c for c in json.loads((pytester.path / "r.json").read_text())["cases"]}
    assert cases["SITFT-03-001-TC01"]["status"] == "failed"
    assert cases["SITFT-03-001-TC01"]["category"] == "product defect"
    assert "DSAppRejected" in json.dumps(cases["SITFT-03-001-TC01"])  # the unwanted answer is named
    assert {cases[c]["status"] for c in ("SITFT-03-001-TC02", "SITFT-03-001-TC03")} == {"passed"}
    result.assert_outcomes(passed=2, failed=1)


def test_an_environment_rules_directory_is_checked_before_anything_runs(pytester):
    copy_project(pytester.path)
    (pytester.path / "bad-rules").mkdir()
    write(pytester.path, "bad-rules/x.yaml", "role: SDS\nrules:\n  - name: x\n    when: {interfce: IF-033}\n")
    local = (pytester.path / "environments" / "local.yaml").read_text()
    for name, rules in (("missing", "no-such-dir"), ("bad", "bad-rules")):
        env = local.replace("environment: local", f"environment: {name}") + f"rules: {rules}\n"
        write(pytester.path, f"environments/{name}.yaml", env)
    result = pytester.run(sys.executable, "-m", "mhhs_sit.cli.app", "validate", "--env", "missing")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*environments/missing.yaml:*rules directory 'no-such-dir' not found*"])
    result = pytester.run(sys.executable, "-m", "mhhs_sit.cli.app", "validate", "--env", "bad")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*bad-rules/x.yaml:3:5 [[]rules[[]0]]: each rule needs 'when: {interface: IF-nnn}'*"])
