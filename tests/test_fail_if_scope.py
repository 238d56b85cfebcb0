"""A ``fail_if`` that names no MPAN judges only messages about the case's own MPANs: a late answer
to an earlier case of the same cohort arriving during the wait is not this case's product defect
(it was, before: a false failure under delivery delays). One that names the MPAN judges as written."""

import json

from tests.helpers import DSAPP_B071, copy_project, write

LATE = """
environment: late
environment_tag: DEV
ir: IR8.2
stubs: embedded
timeouts: {connect: 2s, read: 10s, expect: 10s}
retries: 2
faults:
  - {kind: delay, seconds: 300ms, scope: {interface: IF-035}}
  - {kind: delay, seconds: 1500ms, scope: {interface: IF-036}}
"""


def case(cid: str, contract: str, steps: str) -> str:
    b071 = DSAPP_B071.replace("contractReferenceDataService: SDS-1", f"contractReferenceDataService: {contract}")
    return f"""
  - id: {cid}
    title: {cid}
    data:
      mpan: {{draw: mpan}}
    steps:
      - send:
          as: SUP
          interface: IF-031
          event: DSApp
          mpan: "{{{{ mpan }}}}"
          custom:
{b071}{steps}"""


def run(pytester, fail_if: str):
    copy_project(pytester.path, themes=False)
    write(pytester.path, "environments/late.yaml", LATE)
    first = case(
        "F-03-001-TC01",
        "REJECT-X",
        """      - expect: {at: SUP, interface: IF-032, where: {M0.MPANCore: "{{ mpan }}"}}
""",
    )  # ends before its (delayed) rejection arrives
    second = case(
        "F-03-001-TC02",
        "SDS-1",
        f"""      - expect:
          at: SUP
          interface: IF-036
          where: {{M0.MPANCore: "{{{{ mpan }}}}"}}
          fail_if: {fail_if}
""",
    )
    write(pytester.path, "test_themes/f.yaml", "scenario: F-03-001\ntitle: t\nstage: sit-functional\ntheme: 3\n"
          "roles: [SUP, REGS, SDS]\ncases:" + first + second)  # fmt: skip
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mhhs-env", "late", "--cohort", "C1",
                                  "--mhhs-results", "r.json", timeout=120)  # fmt: skip
    return {c["case"]: c for c in json.loads((pytester.path / "r.json").read_text())["cases"]}


def test_an_earlier_case_s_late_answer_does_not_fail_the_next_case(pytester):
    copy_project(pytester.path, themes=False)
    slow = LATE.replace("seconds: 300ms, scope: {interface: IF-035}", "seconds: 900ms, scope: {interface: IF-035}")
    slow = slow.replace("seconds: 1500ms, scope: {interface: IF-036}", "seconds: 600ms, scope: {interface: IF-032}")
    write(pytester.path, "environments/late.yaml", slow)
    answered = """      - expect: {at: SUP, interface: IF-035, within: 5s, where: {M0.MPANCore: "{{ mpan }}"}}
"""  # the cohort's supplier now takes IF-035 at the framework's webhook
    initial_only = """      - expect: {at: SUP, interface: IF-032, where: {M0.MPANCore: "{{ mpan }}"}}
"""  # ends before its IF-035 arrives, 300 ms later
    refused = """      - expect:
          at: SUP
          interface: IF-032
          where: {M0.MPANCore: "{{ mpan }}", R0.responseCode: R}
          fail_if: {interface: IF-035}
"""
    unknown = case("F-03-002-TC03", "SDS-1", refused).replace(
        "mpan: {draw: mpan}", "mpan: {draw: mpan, registered: false}"
    )
    write(pytester.path, "test_themes/f.yaml", "scenario: F-03-002\ntitle: t\nstage: sit-functional\ntheme: 3\n"
          "roles: [SUP, REGS, SDS]\ncases:" + case("F-03-002-TC01", "SDS-1", answered)
          + case("F-03-002-TC02", "SDS-1", initial_only) + unknown)  # fmt: skip
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mhhs-env", "late", "--cohort", "C1",
                                  "--mhhs-results", "r.json", timeout=120)  # fmt: skip
    cases = {c["case"]: c for c in json.loads((pytester.path / "r.json").read_text())["cases"]}
    assert cases["F-03-002-TC02"]["status"] == "passed"
    assert cases["F-03-002-TC03"]["status"] == "passed", cases["F-03-002-TC03"]["message"]


def test_a_fail_if_naming_the_mpan_still_fires_on_the_case_s_own_rejection(pytester):
    cases = run(pytester, '{interface: IF-035, event: DSAppAccepted, where: {M0.MPANCore: "{{ mpan }}"}}')
    assert cases["F-03-001-TC02"]["status"] == "failed"
    assert "which this step forbids (fail_if)" in cases["F-03-001-TC02"]["message"]


def test_a_relationship_message_is_about_its_principal_mpan():
    """IF-019 and IF-020 carry no M0: their MPAN is M1.principalMPAN, so a fail_if naming no MPAN
    judges a relationship answer only when it is about one of the case's MPANs."""
    from mhhs_sit.execution.case import mpan_of

    assert mpan_of({"CommonBlock": {"M0": {"MPANCore": "1012345678904"}}}) == "1012345678904"
    assert mpan_of({"CommonBlock": {"M1": {"principalMPAN": "1012345678915"}}}) == "1012345678915"
    assert mpan_of({"CommonBlock": {"S0": {}}}) is None and mpan_of("not a message") is None
