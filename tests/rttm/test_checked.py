"""The qualification RTTM counts only checks made at or from the role under test: a case merely run
in a cohort that holds the role is no evidence of that role's system."""

from __future__ import annotations

import textwrap

from mhhs_sit.core.yamlsrc import parse_yaml
from mhhs_sit.definitions.requirements import Requirement
from mhhs_sit.definitions.scenario_build import build_scenario
from mhhs_sit.execution.steps import STEP_KINDS
from mhhs_sit.rttm.build import build_rttm, case_infos
from mhhs_sit.rttm.checked import checked_roles
from mhhs_sit.store.rows import RunLabel, StoredResult

NOTIFY = """
      - send:
          as: REGS
          interface: IF-001
          event: ChangeOfSupplier
          mpan: "1000000000011"
          to: ["{{ cohort.LDSO.dip_id }}"]
          custom: {B002: {incomingSupplierDIPID: "{{ cohort.SUP.dip_id }}"}}
        save: {correlation: S1.senderCorrelationID}
"""
CASES = {
    # the supplier's own view: nothing here is checked at the LDSO
    "T-01-001-TC01": """
      - send: {as: SUP, interface: IF-031, event: MSApp, mpan: "1000000000011"}
      - expect: {at: SUP, interface: IF-001, event: ChangeOfSupplier}
""",
    # a notification sent to the LDSO, then its system's answer to the delivery checked
    "T-01-001-TC02": NOTIFY
    + """
      - http:
          method: GET
          url: /_sim/wait
          params: {correlation_id: "{{ correlation }}", interface: IF-001, recipient: "{{ cohort.LDSO.dip_id }}"}
          expect: {status: 200, json: {found: true}}
""",
    # what the LDSO sent, checked where it arrived
    "T-01-001-TC03": """
      - send: {as: SUP, interface: IF-019, event: RelatedCreate, to: ["{{ cohort.LDSO.dip_id }}"]}
      - expect:
          at: SUP
          interface: IF-020
          where: {S1.senderDIPID: "{{ cohort.LDSO.dip_id }}", R0.responseCode: A}
""",
    # sent to the LDSO, never checked at it
    "T-01-001-TC04": NOTIFY,
}


def _scenario():
    text = "scenario: T-01-001\ntitle: t\nstage: sit-functional\ntheme: 1\nroles: [SUP, REGS, LDSO]\n"
    text += "requirements: [IF-001]\ncases:\n"
    for case, steps in CASES.items():
        text += f"  - id: {case}\n    title: {case}\n    steps:{textwrap.indent(steps, '  ')}"
    scenario, problems = build_scenario(parse_yaml(text, "t.yaml"), STEP_KINDS)
    assert problems == [] and scenario is not None, [p.render() for p in problems]
    return scenario


def test_a_case_checks_at_a_role_it_observes_or_names_as_recipient_and_from_one_it_names_as_sender():
    checked = {case.id: checked_roles(case, STEP_KINDS) for case in _scenario().cases}
    assert checked == {
        "T-01-001-TC01": {"SUP"},
        "T-01-001-TC02": {"LDSO"},
        "T-01-001-TC03": {"SUP", "LDSO"},
        "T-01-001-TC04": set(),  # a send to the LDSO checks nothing by itself
    }


def _passed_everywhere(case_ids):
    """One finished run in which every case passed in C1."""
    label = RunLabel("r1", "2026-12-04T10:00:00", "2026-12-04T10:01:00", None, "Q1", None, None, "local")
    fields = dict.fromkeys(StoredResult._fields[5:-1])
    return [
        StoredResult(
            **{**fields, "nodeid": c, "case_id": c, "cohort": "C1", "status": "passed"}, run_id="r1", run=label
        )
        for c in case_ids
    ]


def test_the_qualification_variant_counts_only_the_cases_checking_at_or_from_the_role():
    infos = case_infos([_scenario()], {}, local=True, kinds=STEP_KINDS)
    for info in infos.values():
        info.cohorts.add("C1")
    rows = _passed_everywhere(infos)
    change = Requirement("IF-001", "Change of supplier", "interface", "sit-functional", 1, ("LDSO", "SUP"))
    catalogue = {"IF-001": change}

    plain = build_rttm(catalogue, infos, rows, cycle="Q1")
    assert [r.case for r in plain.rows] == list(CASES)  # every case traces to IF-001 and counts

    ldso = build_rttm(catalogue, infos, rows, cycle="Q1", roles=["LDSO"])
    assert [r.case for r in ldso.rows] == ["T-01-001-TC02", "T-01-001-TC03"]
    assert ldso.requirement_verdicts == {"IF-001": "covered"}

    only_sup = {c: i for c, i in infos.items() if c in ("T-01-001-TC01", "T-01-001-TC04")}
    ldso = build_rttm(catalogue, only_sup, rows, cycle="Q1", roles=["LDSO"])
    # passed in a cohort holding an LDSO, yet nothing was checked at it: no evidence for the LDSO
    assert ldso.requirement_verdicts == {"IF-001": "uncovered"}
    assert [r.case for r in ldso.rows] == [None]
