"""``mhhs-sit qualify`` end to end, for an LDSO and a smart data service: each reference system
(examples/reference_ldso, examples/reference_sds) as a process of its own on loopback, signing
with its own certificate, is qualified: every qualification case of its role passes; its
``--wrong`` variant fails exactly the cases that check what it gets wrong (failed, not broken).
And the session's parts: who is under test, what the scenarios need, where a role's scenarios
are, and the countdown when the system never registers."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from mhhs_sit.cli.app import main
from mhhs_sit.cli.qualify_plan import find_system, scenario_folder, scenario_needs
from mhhs_sit.errors import ConfigError
from mhhs_sit.project import Project
from tests.helpers import REPO, write

ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
CASES = (
    "QT-LDSO-001-TC01", "QT-LDSO-001-TC02", "QT-LDSO-002-TC01", "QT-LDSO-002-TC02", "QT-LDSO-003-TC01",
    "QT-LDSO-003-TC02", "QT-LDSO-004-TC01",
)  # fmt: skip
SDS_CASES = (
    "QT-SDS-001-TC01", "QT-SDS-001-TC02", "QT-SDS-001-TC03", "QT-SDS-002-TC01", "QT-SDS-002-TC02", "QT-SDS-002-TC03",
)  # fmt: skip


def _reference_module() -> types.ModuleType:
    """examples/qualify_reference.py, the one-command session the README and CI use."""
    spec = importlib.util.spec_from_file_location("qualify_reference", REPO / "examples" / "qualify_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


reference = _reference_module()
REFERENCE_LDSO = reference.REFERENCES["LDSO"]
REFERENCE_SDS = reference.REFERENCES["SDS"]


def qualify_against_reference(
    tmp_path: Path, *ref_args: str, ref: object = REFERENCE_LDSO
) -> tuple[int, dict[str, str], list[str], str]:
    """qualify in one process, the reference system in another, started with what qualify prints;
    returns qualify's exit code, each case's status, qualify's output and the system's."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    options = ["--out", str(tmp_path / "out"), "--no-subdir", "--store", str(tmp_path / "store.sqlite")]
    session = reference.qualify(ref, tmp_path, [*options, "--no-report", "--wait", "30s"], ref_args, project=REPO)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    return (
        session.code,
        {c["case"]: c["status"] for c in results["cases"]},
        session.qualify_output,
        session.system_output,
    )


def test_the_reference_ldso_qualifies_and_its_wrong_variant_fails_the_right_cases(tmp_path):
    started = time.monotonic()
    code, statuses, said, ldso = qualify_against_reference(tmp_path / "right")
    assert code == 0, "\n".join(said)
    assert statuses == dict.fromkeys(CASES, "passed")
    assert "played by the framework: REGS, SUP" in said and "simulated: MSS, SDS" in said
    assert any("its own certificate is accepted" in line for line in said)
    assert "REFERENCE_LDSO_READY" in ldso and ldso.count("sent IF-020: 201") == 3
    assert not list((tmp_path / "right" / "out").rglob("*ctl-*"))  # the control key stays out of evidence
    _only_the_role_is_evidenced(
        tmp_path / "right" / "out" / "rttm.xlsx", "LDSO", "Eastern Distribution (EELC)", LDSO_EVIDENCE
    )

    code, statuses, said, _ = qualify_against_reference(tmp_path / "wrong", "--wrong")
    assert code == 1, "\n".join(said)
    # It refuses IF-001 and accepts any relationship request: those three cases fail; the others pass.
    wrong = {"QT-LDSO-001-TC01": "failed", "QT-LDSO-002-TC02": "failed", "QT-LDSO-004-TC01": "failed"}
    assert statuses == {**dict.fromkeys(CASES, "passed"), **wrong}
    assert time.monotonic() - started < 60


def _only_the_role_is_evidenced(workbook: Path, role: str, who: str, covered: dict[str, str]) -> None:
    """The session's RTTM: the role's requirements only, the participant named, and coverage only
    from checks at or from its system; for the LDSO, IF-001 and IF-036, which SIT cases check only
    at the supplier or at a simulated LDSO, are not covered by the qualification."""
    from openpyxl import load_workbook

    book = load_workbook(workbook, read_only=True)
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Qualification for"] == f"{who} as {role}" and summary["Roles"] == role
    rows = list(book["RTTM"].iter_rows(values_only=True))
    book.close()
    found = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert all(role in r["Roles"].split(", ") or r["Roles"] == "all" for r in found)
    assert {r["Requirement ID"]: r["Case"] for r in found if r["Verdict"] == "covered"} == covered
    assert {r["Verdict"] for r in found if r["Requirement ID"] in ("IF-001", "IF-036")} <= {"uncovered", "not executed"}


LDSO_EVIDENCE = {f"QUAL-LDSO-0{n}": f"QT-LDSO-00{c}-TC0{t}" for n, c, t in (
    (1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 2, 2), (5, 3, 1), (6, 3, 2), (7, 4, 1))}  # fmt: skip
SDS_EVIDENCE = {f"QUAL-SDS-0{n}": f"QT-SDS-00{c}-TC0{t}" for n, c, t in (
    (1, 1, 1), (2, 1, 2), (3, 1, 3), (4, 2, 1), (5, 2, 2), (6, 2, 3))}  # fmt: skip


def test_the_reference_data_service_qualifies_and_its_wrong_variant_fails_the_right_cases(tmp_path):
    started = time.monotonic()
    code, statuses, said, sds = qualify_against_reference(tmp_path / "right", ref=REFERENCE_SDS)
    assert code == 0, "\n".join(said)
    assert statuses == dict.fromkeys(SDS_CASES, "passed")
    assert "played by the framework: REGS" in said and "simulated: LDSO, MSS, SUP" in said
    assert "               for IF-003, IF-033, IF-036, IF-037" in said
    assert "REFERENCE_SDS_READY" in sds and sds.count("sent IF-034: 201") == 3
    assert "received IF-003 [DSDeAppRM]" in sds
    _only_the_role_is_evidenced(
        tmp_path / "right" / "out" / "rttm.xlsx", "SDS", "Alpha Smart Data (SDSA)", SDS_EVIDENCE
    )

    code, statuses, said, _ = qualify_against_reference(tmp_path / "wrong", "--wrong", ref=REFERENCE_SDS)
    assert code == 1, "\n".join(said)
    # It accepts an appointment without a contract and refuses IF-037: those two cases fail.
    assert statuses == {**dict.fromkeys(SDS_CASES, "passed"), "QT-SDS-001-TC02": "failed", "QT-SDS-002-TC02": "failed"}
    assert time.monotonic() - started < 60


def test_a_role_s_scenarios_are_in_its_qualification_folder(tmp_path):
    assert scenario_folder("LDSO") == "ldso" and scenario_folder("SDS") == "supplier_agent"
    steps = "".join(
        f"      - send: {{as: {who}, interface: {interface}, event: X}}\n"
        for who, interface in (("REGS", "IF-036"), ("REGS", "if-033"), ("SDS", "IF-034"), ("REGS", "IF-036"))
    )
    write(tmp_path, "q/a.yaml", f"scenario: Q\ncases:\n  - id: Q-TC01\n    steps:\n{steps}")
    needs = scenario_needs([tmp_path / "q"], "SDS")  # what others send it: each interface once, sorted
    assert needs.drives == {"REGS"} and needs.webhooks == ("IF-033", "IF-036")


def test_without_webhooks_the_countdown_ends_and_nothing_runs(tmp_path):
    cmd = [sys.executable, "-m", "mhhs_sit.cli.app", "qualify", "--role", "LDSO", "--participant", "2500000101"]
    cmd += ["--out", str(tmp_path / "out"), "--no-subdir", "--store", str(tmp_path / "s.sqlite"), "--wait", "1s"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "waiting for 2500000101's webhooks: 0 of 5 registered, 0m01s left" in done.stdout  # plain lines: no tty
    assert "no webhook from 2500000101 for IF-001, IF-003, IF-019, IF-036, IF-037 within 0m01s" in done.stdout
    keys = next(line for line in done.stdout.splitlines() if line.strip().startswith("signing"))
    assert "2500000101.key" in keys  # no certificate brought: a key is made for the system
    assert not (tmp_path / "out" / "results.json").exists()


def test_the_scenarios_say_which_roles_the_framework_plays_and_which_webhooks_are_needed(tmp_path):
    write(
        tmp_path,
        "q/a.yaml",
        """
        cases:
          - steps:
              - send: &x {as: SUP, interface: if-019}
              - send: {<<: *x, as: LDSO, interface: IF-020}
              - expect: {at: SUP, interface: IF-020}
          - steps: [{send: {as: REGS, interface: IF-001}}]
        """,
    )
    needs = scenario_needs([tmp_path / "q"], "LDSO")
    assert needs.drives == {"SUP", "REGS"} and needs.webhooks == ("IF-001", "IF-019")


@pytest.mark.parametrize(
    ("role", "participant", "cohorts", "expected"),
    [
        ("LDSO", "EELC", None, ("2500000101", "C1")),
        ("LDSO", "2500000202", None, ("2500000202", "C2")),
        ("LDSO", "EELC", ["C2"], "no LDSO with MPID or DIP ID 'EELC' in cohort(s) C2; LDSOs there: YELG/2500000202"),
        ("LDSX", "EELC", None, "--role: unknown role 'LDSX'"),
        ("LDSO", "EELC", ["C99"], "--cohort: unknown cohort 'C99'"),
    ],
)
def test_the_participant_under_test_is_found_by_mpid_or_dip_id(role, participant, cohorts, expected):
    known, _ = Project.discover(start=REPO).cohorts
    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            find_system(known, role, participant, cohorts)
    else:
        system, cohort = find_system(known, role, participant, cohorts)
        assert (system.dip_id, cohort.id) == expected


def test_a_wrong_option_is_one_clear_line(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["qualify", "--role", "LDSO", "--participant", "NOPE", "--out", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("mhhs-sit qualify: --participant: no LDSO with MPID or DIP ID 'NOPE'") and "Traceback" not in err
    )


def test_a_session_places_reliance_and_its_evidence_pack_verifies(tmp_path):
    """QT-LDSO-003-TC01 is left out of the session; QUAL-LDSO-05, which only it covers, rests on an
    earlier PIT evidence pack named by its sha256: covered by reliance in rttm.xlsx and rttm.json."""
    import hashlib

    from openpyxl import load_workbook

    from mhhs_sit.evidence.pack import pack

    earlier = tmp_path / "pit-run"
    write(
        earlier, "results.json", json.dumps({"run_id": "pit-20261101", "started": "2026-11-01T09:00:00Z", "cases": []})
    )
    pit = pack(earlier, tmp_path / "pit.evidence.zip").path
    digest = hashlib.sha256(pit.read_bytes()).hexdigest()
    reliance = write(
        tmp_path,
        "reliance.yaml",
        f"reliance:\n  - {{requirement: QUAL-LDSO-05, evidence: pit.evidence.zip, sha256: {digest}, stage: PIT}}\n",
    )
    out, store = tmp_path / "out", tmp_path / "store.sqlite"
    options = ["--out", str(out), "--no-subdir", "--store", str(store), "--no-report", "--wait", "30s"]
    options += ["--reliance", str(reliance), "-k", "not QT-LDSO-003-TC01"]
    session = reference.qualify(REFERENCE_LDSO, tmp_path, options, project=REPO)
    assert session.code == 0, "\n".join(session.qualify_output)

    book = load_workbook(out / "rttm.xlsx", read_only=True)
    rows = list(book["RTTM"].iter_rows(values_only=True))
    book.close()
    found = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    relied = [r for r in found if r["Verdict"] == "covered by reliance"]
    assert [(r["Requirement ID"], r["Qualification stage"]) for r in relied] == [("QUAL-LDSO-05", "PIT")]
    assert (
        f"by reliance: evidence pack pit.evidence.zip, run pit-20261101 (PIT), sha256 {digest}" == relied[0]["Reliance"]
    )
    assert {r["Qualification stage"] for r in found if r["Verdict"] == "covered"} == {"QT"}

    assert main(["rttm", "--participant", "EELC", "--reliance", str(reliance), "--store", str(store),
                 "--format", "json", "--out", str(tmp_path / "rttm.json")]) == 0  # fmt: skip
    doc = json.loads((tmp_path / "rttm.json").read_text())
    by_id = {r["id"]: r for r in doc["requirements"]}
    assert by_id["QUAL-LDSO-05"]["verdict"] == "covered by reliance"
    assert by_id["QUAL-LDSO-05"]["reliance"]["sha256"] == digest
    assert doc["summary"]["covered_by_reliance"] == 1 and doc["summary"]["covered_by_case"] == 6

    completion = (out / "completion-report.html").read_text()
    assert "running-head" in completion and "Qualification of" in completion and "(QT)" in completion
    rttm_page = (out / "rttm.html").read_text()  # the participant on every printed page of both reports
    assert '<div class="running-head">Qualification of ' in rttm_page and "as LDSO (QT)</div>" in rttm_page
    assert main(["evidence", "pack", str(out), "--out", str(tmp_path / "qt.evidence.zip")]) == 0
    assert main(["evidence", "verify", str(tmp_path / "qt.evidence.zip"), "--allow-unsigned"]) == 0
