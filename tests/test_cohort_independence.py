"""A scenario stands on its own cohort: validate refuses one that names a participant another cohort
plays or tests, says where a case relies on a party another cohort simulates, and refuses a
template naming another cohort. The fixture project's cohorts: C1 (SUP 2300000101 played, SDS
1400000101 simulated) and C2 (SUP 2300000202 and SDS 1400000202 played)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mhhs_sit.cli.app import main
from tests.helpers import appointment_scenario, copy_project, write

# An expect at the supplier (the framework plays C1's and C2's): the case runs in both cohorts.
OUTGOING = """
- expect:
    at: SUP
    interface: IF-001
    event: ChangeOfSupplier
    where:
      B003.outgoingSupplierDIPID: "{dip_id}"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return copy_project(tmp_path, themes=False)


def test_a_participant_another_cohort_plays_is_refused_at_its_line_with_the_fix(project, capsys):
    path = write(project, "test_themes/t.yaml", appointment_scenario("T-04-901", OUTGOING.format(dip_id="2300000202")))
    assert main(["validate"]) == 1
    out = capsys.readouterr().out
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "2300000202" in text)
    assert f"test_themes/t.yaml:{line}:" in out and "[cases[0].steps[1].expect.where.B003.outgoingSupplierDIPID]" in out
    assert "'2300000202' is the DIP ID of SUP Bravo Power of cohort C2, but T-04-901-TC01 also runs in C1" in out
    assert '"{{ cohort.SUP.dip_id }}"' in out and "Traceback" not in out


def test_an_mpid_is_refused_only_where_a_field_holds_an_mpid(project, capsys):
    mpid = OUTGOING.replace("B003.outgoingSupplierDIPID", "B003.outgoingSupplierMPID").format(dip_id="SUPB")
    write(project, "test_themes/t.yaml", appointment_scenario("T-04-902", mpid))
    assert main(["validate"]) == 1
    assert "'SUPB' is the MPID of SUP Bravo Power of cohort C2" in capsys.readouterr().out
    text = OUTGOING.replace("B003.outgoingSupplierDIPID", "B013.CSSRegistrationID").format(dip_id="SUPB")
    write(project, "test_themes/t.yaml", appointment_scenario("T-04-902", text))
    assert main(["validate"]) == 0, capsys.readouterr().out


def test_the_cohort_s_own_participant_and_a_party_no_cohort_holds_are_fine(project, capsys):
    write(project, "test_themes/t.yaml", appointment_scenario("T-04-903", OUTGOING.format(dip_id="2300000999")))
    assert main(["validate"]) == 0, capsys.readouterr().out
    own = OUTGOING.format(dip_id="2300000101")  # C1's own supplier, in a scenario that runs in C1 only
    write(project, "test_themes/t.yaml", appointment_scenario("T-04-903", own, roles="[SUP, REGS, SDS, MSS]"))
    assert main(["validate"]) == 0, capsys.readouterr().out


def test_a_party_another_cohort_simulates_is_said_not_refused(project, capsys):
    # C1's SDS is simulated: a market party the simulator answers as, present while C1 is configured
    simulated = OUTGOING.replace("B003.outgoingSupplierDIPID", "B015.incomingDataServiceDIPID")
    simulated = simulated.replace("IF-001", "IF-036").replace("ChangeOfSupplier", "DSAppActive")
    write(project, "test_themes/t.yaml", appointment_scenario("T-04-904", simulated.format(dip_id="1400000101")))
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "note: 1 scenario file(s) rely on a party of another cohort" in out
    assert "'1400000101' is the DIP ID of SDS Alpha Smart Data, which cohort C1 simulates: T-04-904-TC01 (in C2)" in out


def test_a_template_cannot_name_another_cohort(project, capsys):
    template = OUTGOING.format(dip_id="{{ cohorts.C2.SUP.dip_id }}")
    write(project, "test_themes/t.yaml", appointment_scenario("T-04-905", template))
    assert main(["validate"]) == 1
    out = capsys.readouterr().out
    assert "test_themes/t.yaml:" in out and "cohorts" in out and "Traceback" not in out


# The helpers' appointment, made a change of supplier: COS with the switch's CSS registration (B013).
SWITCH = (
    appointment_scenario(
        "T-04-906",
        """
        - expect:
            at: SUP
            interface: IF-001
            event: ChangeOfSupplier
            where:
              M0.MPANCore: "{{ mpan }}"
              B002.incomingSupplierDIPID: "{{ cohort.SUP.dip_id }}"
              B003.outgoingSupplierDIPID: {ne: "{{ cohort.SUP.dip_id }}"}
        """,
    )
    .replace("appointmentScenario: CSP", "appointmentScenario: COS")
    .replace("          custom:\n", '          custom:\n            B013: {CSSRegistrationID: "CSS-{{ mpan }}"}\n', 1)
)


def test_a_change_of_supplier_needs_no_other_cohort_s_supplier(project, capsys):
    """The simulated register holds a drawn MPAN's incumbent as a supplier outside every cohort, so
    a change of supplier runs the same in a project whose only cohort is the case's own."""
    (project / "cohorts" / "C2.yaml").unlink()
    write(project, "test_themes/t.yaml", SWITCH)
    assert main(["validate"]) == 0
    assert "relies on" not in capsys.readouterr().out
    store = f"sqlite:///{project / 'store.sqlite'}"
    assert main(["run", "--cohort", "C1", "--store", store, "--out", str(project / "out"), "--no-report"]) == 0
    results = next((project / "out").glob("*/results.json")).read_text()
    assert '"status": "passed"' in results and "T-04-906-TC01" in results
