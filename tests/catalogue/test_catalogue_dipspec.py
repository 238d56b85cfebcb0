"""An official DIP spec given by the user: offline loading, nullable, names ignoring case, lint."""

from __future__ import annotations

import copy
import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from mhhs_sit.catalogue.dipspec import DipSpec, load_dip_spec
from mhhs_sit.errors import ConfigError, DefinitionError


@pytest.fixture
def spec(spec_dir: Path) -> DipSpec:
    return load_dip_spec(spec_dir)


@pytest.fixture
def spec_copy(spec_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the spec, to edit or to load afresh (test data only, never shipped)."""
    target = tmp_path / "dip-api-spec"
    shutil.copytree(spec_dir, target)
    return target


def test_the_spec_loads_offline_with_every_raw_github_ref_mapped(
    spec_copy: Path, monkeypatch: pytest.MonkeyPatch, ds_app: dict[str, Any]
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the DIP spec loader tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)

    loaded = load_dip_spec(spec_copy)

    assert loaded.version == "2.1.0"
    assert len(loaded.interface_ids) == 58
    assert {"IF-031", "IF-051", "REP-002A", "REP-901"} <= set(loaded.interface_ids)
    assert loaded.validate(ds_app) == []
    assert loaded.lint_examples()  # examples resolve offline too
    for iid in loaded.interface_ids:  # every reference was followed into the local files
        assert "$ref" not in json.dumps(loaded.schema(iid)), iid


def test_the_submit_events_file_can_be_given_instead_of_the_directory(spec_dir: Path) -> None:
    assert load_dip_spec(spec_dir / "SubmitEvents-unresolved.yaml").version == "2.1.0"


def test_event_codes_come_from_the_spec(spec: DipSpec) -> None:
    assert spec.event_codes("IF-031") == ("[MSApp]", "[DSApp]")
    assert spec.event_codes("IF-003") == ("[MSDeAppRM]", "[DSDeAppRM]", "[ReverseMigNotification]")


def test_nullable_is_honoured(spec: DipSpec, ds_app: dict[str, Any]) -> None:
    branches = spec.schema("IF-031")["oneOf"]
    b071 = branches[1]["properties"]["CustomBlock"]["properties"]["B071"]["properties"]
    assert b071["contractReferenceDataService"]["type"] == [
        "string",
        "null",
    ]  # DI-020 nullable: true
    assert b071["proposedDataServiceDIPID"]["type"] == "string"
    assert ds_app["CustomBlock"]["B071"]["contractReferenceDataService"] is None
    assert spec.validate(ds_app, "IF-031") == []
    ds_app["CustomBlock"]["B071"]["proposedDataServiceDIPID"] = None
    (found,) = spec.validate(ds_app, "IF-031")
    assert (found.pointer, found.keyword) == ("/CustomBlock/B071/proposedDataServiceDIPID", "type")


def test_field_names_are_matched_case_insensitively(spec: DipSpec, ds_app: dict[str, Any]) -> None:
    lowered = json.loads(
        json.dumps(ds_app)
        .replace('"interfaceID"', '"interfaceid"')
        .replace('"senderTimestamp"', '"SENDERTIMESTAMP"')
        .replace('"B071"', '"b071"')
    )
    assert spec.validate(lowered) == []
    strict = spec.validate(lowered, "IF-031", exact_names=True)
    assert "/CommonBlock/S1/SENDERTIMESTAMP" in [v.pointer for v in strict]


def test_faults_are_reported_against_the_event_codes_own_schema(spec: DipSpec, ds_app: dict[str, Any]) -> None:
    ds_app["CommonBlock"]["M0"]["MPANCore"] = "123"
    ds_app["CustomBlock"]["B071"]["appointmentScenario"] = "XYZ"
    found = spec.validate(ds_app)
    assert [(v.pointer, v.keyword) for v in found] == [
        ("/CommonBlock/M0/MPANCore", "minLength"),
        ("/CommonBlock/M0/MPANCore", "pattern"),
        ("/CustomBlock/B071/appointmentScenario", "enum"),
    ]
    assert found[0].message == (
        "CommonBlock.M0.MPANCore is '123' (3 characters); expected exactly 13 characters (e.g. '2000056535971')."
    )


def test_overlapping_event_schemas_are_blamed_on_the_spec(spec: DipSpec) -> None:
    example = next(e for e in spec.examples() if e.name == "IF-020-RelatedCreate")
    payload = copy.deepcopy(example.payload)
    payload["CommonBlock"]["R0"]["responseMessages"] = ["MSG0000 - Success"]
    payload["CustomBlock"]["B091"] = {"additionalInformation": "Good News"}
    assert spec.validate(payload) == []
    payload["CommonBlock"]["S0"]["eventCode"] = "[RelatedAdd]"  # allowed by two IF-020 branches
    (found,) = spec.validate(payload)
    assert found.keyword == "oneOf"
    assert "IF-020-RelatedCreate, IF-020-RelatedAdd" in found.message and "defect" in found.message


def test_lint_finds_every_example_that_contradicts_its_schema(spec: DipSpec) -> None:
    examples = spec.examples()
    findings = spec.lint_examples()
    assert len(examples) == 11  # 9 IF-nnn examples and 2 REP-002 examples
    assert sorted(f.example_name for f in findings) == [
        "IF-001-ChangeOfSupplier",
        "IF-001-InitialRegistration",
        "IF-002",
        "IF-003-MSDeAppRM",
        "IF-020-RelatedCreate",
        "IF-021",
        "IF-037-MSDeApp",
        "REP-002",
        "REP-002-proposed",
    ]
    interface_examples = [e for e in examples if e.interface_id.startswith("IF-")]
    interface_findings = [f for f in findings if f.interface_id.startswith("IF-")]
    assert (len(interface_findings), len(interface_examples)) == (7, 9)
    assert sum(len(f.violations) for f in findings) == 37

    by_name = {f.example_name: f for f in findings}
    ssc = [v for v in by_name["IF-002"].violations if v.pointer == "/CustomBlock/B032/SSC"]
    assert {v.keyword for v in ssc} == {"pattern", "minLength"}
    assert any("'83'" in v.message and "^\\d{4,4}$" in v.message for v in ssc)
    role = [v for v in by_name["IF-021"].violations if v.pointer == "/CommonBlock/S1/senderRoleID"]
    assert [v.keyword for v in role] == ["required"]
    code = by_name["IF-003-MSDeAppRM"].violations
    assert [(v.pointer, v.keyword) for v in code] == [("/CommonBlock/S0/eventCode", "enum")]
    assert by_name["IF-002"].file.endswith("Examples-unresolved.yaml") and by_name["IF-002"].line == 215


def test_a_reference_to_nothing_is_reported_at_its_file_and_line(spec_copy: Path) -> None:
    module = spec_copy / "Interfaces-EventCodes-unresolved.yaml"
    text = module.read_text(encoding="utf-8")
    broken = "RealCommonBlocks-unresolved.yaml#/components/schemas/B071'"
    line = text[: text.index(broken)].count("\n") + 1
    module.write_text(text.replace(broken, "RealCommonBlocks-unresolved.yaml#/components/schemas/B07l'", 1))
    with pytest.raises(DefinitionError) as caught:
        load_dip_spec(spec_copy)
    problem = caught.value.problems[0]
    assert (Path(problem.file).name, problem.line) == (
        "Interfaces-EventCodes-unresolved.yaml",
        line,
    )
    assert "has nothing at #/components/schemas/B07l" in problem.message


def test_a_reference_to_a_missing_file_names_the_file(spec_copy: Path) -> None:
    (spec_copy / "DataTypes-unresolved.yaml").unlink()
    with pytest.raises(DefinitionError) as caught:
        load_dip_spec(spec_copy)
    (problem,) = caught.value.problems  # reported once, not at each of its 248 references
    assert "maps to DataTypes-unresolved.yaml, which is not in" in problem.message
    assert problem.message.endswith("(247 more references to DataTypes-unresolved.yaml are not listed)")
    assert Path(problem.file).name == "DataCatalogue-unresolved.yaml" and problem.line > 0


def test_a_path_without_a_spec_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file or directory"):
        load_dip_spec(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="no SubmitEvents"):
        load_dip_spec(tmp_path)
