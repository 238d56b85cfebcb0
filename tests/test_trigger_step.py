"""The ``trigger`` step end to end: a case starts an off-DIP event at a simulated party and
expects what that party then sends; a trigger the simulated market cannot take, one aimed at a
role the cohort does not simulate, and one whose data breaks the message are definition errors
naming why, never product defects."""

import json

from tests.helpers import copy_project, write

RULES = """
role: REGS
rules:
  - name: disconnection notified to the supplier
    when: {trigger: Disconnection}
    send:
      - interface: IF-009
        event: MPANDisconnection
        to: ["{{ party.SUP.dip_id }}"]
        custom: {B041: "{{ msg.B041 }}"}
"""


def scenario(trigger_at: str, event: str, b041: str) -> str:
    return f"""
scenario: T-05-001
title: disconnection
stage: sit-functional
theme: 5
roles: [SUP, REGS]
cases:
  - id: T-05-001-TC01
    title: the supplier is told
    data:
      mpan: {{draw: mpan}}
    steps:
      - trigger:
          at: {trigger_at}
          event: {event}
          mpan: "{{{{ mpan }}}}"
          data:
            B041: {b041}
      - expect:
          at: SUP
          interface: IF-009
          event: MPANDisconnection
          within: 3s
          where: {{M0.MPANCore: "{{{{ mpan }}}}", B041.additionalInformation: cut}}
"""


GOOD = '{disconnectionEffectiveFromDate: "{{ midnight }}", additionalInformation: cut}'


def run(pytester, text: str):
    copy_project(pytester.path, themes=False)
    write(pytester.path, "rules/regs.yaml", RULES)
    local = (pytester.path / "environments" / "local.yaml").read_text()
    write(
        pytester.path,
        "environments/own.yaml",
        local.replace("environment: local", "environment: own") + "rules: rules\n",
    )
    write(pytester.path, "test_themes/t.yaml", text)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--mhhs-env", "own", "--cohort", "C1", "--mhhs-results", "r.json", timeout=120
    )
    [case] = json.loads((pytester.path / "r.json").read_text())["cases"]
    return result, case


def test_a_triggered_disconnection_reaches_the_supplier(pytester):
    result, case = run(pytester, scenario("REGS", "Disconnection", GOOD))
    assert case["status"] == "passed", case
    result.assert_outcomes(passed=1)


def test_a_trigger_no_rule_takes_is_a_definition_error(pytester):
    _, case = run(pytester, scenario("REGS", "Reconnection", GOOD))
    assert case["category"] == "test definition error"
    assert "no REGS rule takes the trigger Reconnection" in case["message"]


def test_a_trigger_at_a_role_the_cohort_does_not_simulate_is_a_definition_error(pytester):
    _, case = run(pytester, scenario("SUP", "Disconnection", GOOD))
    assert case["category"] == "test definition error"
    assert "cohort C1 does not simulate SUP" in case["message"]


def test_trigger_data_that_breaks_the_message_is_a_definition_error_naming_the_field(pytester):
    _, case = run(pytester, scenario("REGS", "Disconnection", "{additionalInformation: cut}"))
    assert case["category"] == "test definition error"
    assert "could not send what the trigger asks for" in case["message"]
    assert "disconnectionEffectiveFromDate" in case["message"]


def test_validate_checks_a_trigger_against_the_rules_the_environment_s_simulator_runs(tmp_path, monkeypatch, capsys):
    """With the environment's own rules, REGS takes Disconnection only: a Reconnection trigger is
    refused at the step before anything runs, naming what REGS does take; the shipped rules take it."""
    from mhhs_sit.cli.app import main

    monkeypatch.chdir(tmp_path)
    copy_project(tmp_path, themes=False)
    write(tmp_path, "rules/regs.yaml", RULES)
    local = (tmp_path / "environments" / "local.yaml").read_text()
    write(tmp_path, "environments/own.yaml", local.replace("environment: local", "environment: own") + "rules: rules\n")
    write(tmp_path, "test_themes/t.yaml", scenario("REGS", "Reconnection", GOOD))
    assert main(["validate", "--env", "own"]) == 1
    out = capsys.readouterr().out
    assert "test_themes/t.yaml:" in out and "[cases[0].steps[0].trigger.event]" in out
    assert "no rule of the simulated REGS takes trigger 'Reconnection'" in out and "REGS takes: DISCONNECTION\n" in out
    assert main(["validate"]) == 0  # the shipped registration rules take a reconnection
