"""Placing reliance: the reliance file's refusals name file, line and field; relied-on
requirements show as covered by reliance, counted apart, and never over a case of the session."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mhhs_sit.errors import DefinitionError
from mhhs_sit.evidence.pack import pack
from mhhs_sit.rttm.build import build_rttm, placed
from mhhs_sit.rttm.model import Row
from mhhs_sit.rttm.reliance import load_reliance
from mhhs_sit.rttm.render_tabular import reliance_text, to_json
from tests.rttm.sample import req

CATALOGUE = {
    "QUAL-LDSO-01": req("QUAL-LDSO-01", "accepts IF-001", stage="qualification", roles=("LDSO",)),
    "QUAL-LDSO-05": req("QUAL-LDSO-05", "accepts IF-037", stage="qualification", roles=("LDSO",)),
    "QUAL-SDS-01": req("QUAL-SDS-01", "a data service thing", stage="qualification", roles=("SDS",)),
}


def _results(folder: Path, run_id: str = "pit-20261101") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps({"run_id": run_id, "started": "2026-11-01T09:00:00+00:00", "cases": []}))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(tmp_path: Path, text: str) -> tuple:
    file = tmp_path / "reliance.yaml"
    file.write_text(text, encoding="utf-8")
    return load_reliance(file, CATALOGUE, ["LDSO"], display="reliance.yaml")


def test_every_bad_entry_is_refused_with_its_line_and_field(tmp_path):
    good = _results(tmp_path / "pit")
    actual = _sha(good)
    text = f"""reliance:
  - {{requirement: QUAL-LDSO-99, evidence: pit/results.json, sha256: {actual}, stage: PIT}}
  - {{requirement: QUAL-SDS-01, evidence: pit/results.json, sha256: {actual}, stage: PIT}}
  - {{requirement: QUAL-LDSO-01, evidence: gone/results.json, sha256: {actual}, stage: PIT}}
  - {{requirement: QUAL-LDSO-05, evidence: pit/results.json, sha256: '{"0" * 64}', stage: PIT}}
  - {{requirement: QUAL-LDSO-01, evidence: pit/results.json, sha256: {actual}, stage: SIT}}
  - {{requirement: QUAL-LDSO-01, evidence: pit/results.json, sha256: {actual}, stag: PIT}}
"""
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, text)
    shown = str(caught.value).splitlines()
    assert any(
        s.startswith("reliance.yaml:2:") and "QUAL-LDSO-99 is not in the requirements catalogue" in s for s in shown
    )
    assert any(
        s.startswith("reliance.yaml:3:") and "QUAL-SDS-01 is a requirement of SDS, not of LDSO" in s for s in shown
    )
    assert any(s.startswith("reliance.yaml:4:") and "[reliance[2].evidence]" in s and "no file" in s for s in shown)
    assert any(s.startswith("reliance.yaml:5:") and f"has sha256 {actual}, not {'0' * 64}" in s for s in shown)
    assert any(s.startswith("reliance.yaml:6:") and "stage 'SIT': use PIT or QT" in s for s in shown)
    assert any(s.startswith("reliance.yaml:7:") and "unknown field 'stag'" in s for s in shown)
    assert any(s.startswith("reliance.yaml:6:") and "relied on twice (first on line 4)" in s for s in shown)
    assert any(s.startswith("reliance.yaml:7:") and "stage: required" in s for s in shown)
    assert shown[-1] == "8 problems in 1 file"


def test_a_pack_that_does_not_verify_is_refused(tmp_path):
    zipped = pack(_results(tmp_path / "pit").parent, tmp_path / "pit.evidence.zip").path
    digest = _sha(zipped)
    accepted = _load(
        tmp_path,
        f"reliance:\n  - {{requirement: QUAL-LDSO-05, evidence: pit.evidence.zip, sha256: {digest}, stage: pit}}\n",
    )
    assert [(r.kind, r.run_id, r.stage, r.location) for r in accepted] == [
        ("evidence pack", "pit-20261101", "PIT", "reliance.yaml:2")
    ]
    not_a_pack = tmp_path / "junk.zip"
    not_a_pack.write_bytes(b"not a zip")
    with pytest.raises(DefinitionError) as caught:
        _load(
            tmp_path,
            f"reliance:\n  - {{requirement: QUAL-LDSO-05, evidence: junk.zip, sha256: {_sha(not_a_pack)}, "
            "stage: QT}\n",
        )
    assert "reliance.yaml:2" in str(caught.value) and "junk.zip is not an evidence pack" in str(caught.value)


def test_reliance_covers_what_no_case_does_and_is_only_noted_beside_a_case(tmp_path):
    from mhhs_sit.rttm.build import CaseInfo

    evidence = _results(tmp_path / "pit")
    relied = _load(
        tmp_path,
        "reliance:\n"
        f"  - {{requirement: QUAL-LDSO-05, evidence: pit/results.json, sha256: {_sha(evidence)}, stage: PIT}}\n"
        f"  - {{requirement: QUAL-LDSO-01, evidence: pit/results.json, sha256: {_sha(evidence)}, stage: PIT}}\n",
    )
    cases = {"QT-1": CaseInfo(case="QT-1", requirements=("QUAL-LDSO-01",), checks=frozenset({"LDSO"}))}
    rttm = build_rttm(
        CATALOGUE, cases, [], roles=["LDSO"], participant="EELC", reliance=relied, qualification_stage="QT"
    )
    # a case that did not execute leaves the requirement to the reliance; its row stays, its stage QT
    assert rttm.requirement_verdicts == {"QUAL-LDSO-01": "covered by reliance", "QUAL-LDSO-05": "covered by reliance"}
    rows = [(r.requirement.id, r.case, r.verdict, r.qualification_stage) for r in rttm.rows]
    assert rows == [
        ("QUAL-LDSO-01", "QT-1", "not executed", "QT"),
        ("QUAL-LDSO-01", None, "covered by reliance", "PIT"),
        ("QUAL-LDSO-05", None, "covered by reliance", "PIT"),
    ]
    assert (rttm.covered, rttm.relied_on) == (2, 2)
    # a case of the session that covers (or fails) the requirement decides: the reliance is only noted
    covered = Row(requirement=CATALOGUE["QUAL-LDSO-01"], case="QT-1", verdict="covered", qualification_stage="QT")
    verdict, noted = placed(CATALOGUE["QUAL-LDSO-01"], "covered", [covered], relied[1])
    assert verdict == "covered" and [(r.case, r.reliance) for r in noted] == [("QT-1", relied[1])]
    assert reliance_text(noted[0]).startswith("noted, not counted")
    assert placed(CATALOGUE["QUAL-LDSO-01"], "failing", [covered], relied[1])[0] == "failing"
    doc = to_json(rttm)
    by_id = {r["id"]: r for r in doc["requirements"]}
    assert by_id["QUAL-LDSO-05"]["reliance"]["counted"] is True
    assert by_id["QUAL-LDSO-05"]["reliance"]["sha256"] == _sha(evidence)
    assert doc["summary"]["covered_by_reliance"] == 2 and doc["summary"]["covered_by_case"] == 0
    assert doc["qualification_stage"] == "QT"


def test_every_rendering_of_the_qualification_rttm_shows_the_reliance(tmp_path):
    from mhhs_sit.rttm.render import write

    evidence = _results(tmp_path / "pit")
    relied = _load(
        tmp_path,
        "reliance:\n"
        f"  - {{requirement: QUAL-LDSO-05, evidence: pit/results.json, sha256: {_sha(evidence)}, stage: QT}}\n",
    )
    rttm = build_rttm(CATALOGUE, {}, [], roles=["LDSO"], participant="EELC", reliance=relied, qualification_stage="QT")
    csv_text = write(rttm, "csv", tmp_path / "rttm.csv").read_text(encoding="utf-8").splitlines()
    assert csv_text[0].endswith("Verdict,Qualification stage,Reliance")
    row = next(line for line in csv_text if line.startswith("QUAL-LDSO-05"))
    shown = f"by reliance: run results pit/results.json, run pit-20261101 (QT), sha256 {_sha(evidence)}"
    assert f'covered by reliance,QT,"{shown}"' in row
    html = write(rttm, "html", tmp_path / "rttm.html").read_text(encoding="utf-8")
    assert "covered by reliance" in html and _sha(evidence) in html and "qualification of EELC (QT)" in html
    plain = build_rttm(CATALOGUE, {}, [])
    assert "Reliance" not in write(plain, "csv", tmp_path / "plain.csv").read_text(encoding="utf-8").splitlines()[0]
