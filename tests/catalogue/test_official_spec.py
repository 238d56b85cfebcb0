"""The catalogue's 2.1.0 against the official DIP spec 2.1.0 beside the repository (../shared).

Every difference is listed by interface and event code; only those explained in
``official-differences.yaml`` may remain. The generated data files must be exactly what the
generator makes of the spec, and a message of every interface and event code, built as the
framework builds one, must pass the official spec's own schema.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mhhs_sit.catalogue import Catalogue
from mhhs_sit.catalogue.data import DATA_DIR
from mhhs_sit.catalogue.dipspec import DipSpec, load_dip_spec
from mhhs_sit.catalogue.loader import load_directory
from mhhs_sit.catalogue.specdiff import Allowance, compare, load_allowances, unexplained
from mhhs_sit.catalogue.specgen import generate
from mhhs_sit.core.yamlsrc import parse_yaml
from mhhs_sit.definitions.payloads import carries_custom_block, send_problems
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_sit.errors import DefinitionError
from tests.catalogue.instances import instance

ALLOWANCES = DATA_DIR / "official-differences.yaml"
# IF-020's payload lists [RelatedAdd] and [RelatedRemove] in two oneOf branches each (their own and
# RelatedCreate's), identical but for S0.eventCode: a valid message matches both, so the spec's
# oneOf refuses every one. The catalogue gives each event code one schema.
OVERLAPPING = {("IF-020", "RelatedAdd"), ("IF-020", "RelatedRemove")}
Edit = Callable[[str, Callable[[str], str]], Path]


@pytest.fixture(scope="module")
def official() -> DipSpec:
    from tests.catalogue.conftest import SPEC_DIR

    if not (SPEC_DIR / "SubmitEvents-unresolved.yaml").is_file():
        pytest.skip(f"the official DIP spec is not at {SPEC_DIR.resolve()} (../shared/dip-api-spec)")
    return load_dip_spec(SPEC_DIR)


def test_the_catalogue_is_the_official_spec_but_for_the_listed_differences(cat: Catalogue, official: DipSpec) -> None:
    differences = compare(cat, official, "2.1.0")
    left, unused = unexplained(differences, load_allowances(ALLOWANCES))
    assert [str(d) for d in left] == []
    assert unused == [], "official-differences.yaml lists differences that are gone: remove them"
    assert {i.id for i in cat.interfaces} == set(official.interface_ids)


def test_a_difference_nobody_listed_fails_the_comparison(data_copy: Edit, official: DipSpec) -> None:
    loosened = data_copy("blocks.yaml", lambda t: t.replace("  required: [B070]\n", "\n", 1) if False else t.replace(
        "    proposedMeteringServiceDIPID: {$ref: '#/types/DIPParticipantID'}\n",
        "    proposedMeteringServiceDIPID: {$ref: '#/types/DIPParticipantID'}\n"
        "    proposedMeteringServiceRoleCode: {type: string, maxLength: 2}\n",
        1,
    ))  # fmt: skip
    left, _ = unexplained(compare(load_directory(loosened), official, "2.1.0"), load_allowances(ALLOWANCES))
    found = {(d.interface_id, d.event_code, d.pointer, d.keyword) for d in left}
    assert ("IF-031", "MSApp", "/CustomBlock/B070/proposedMeteringServiceRoleCode", "property") in found
    assert ("IF-032", "MSAppInitialResp", "/CustomBlock/B070/proposedMeteringServiceRoleCode", "property") in found


def test_a_listed_difference_that_is_gone_is_reported(cat: Catalogue, official: DipSpec) -> None:
    stale = Allowance(("IF-031",), (), "/CustomBlock/B071", "type", "object", None, "no longer true")
    left, unused = unexplained(compare(cat, official, "2.1.0"), [*load_allowances(ALLOWANCES), stale])
    assert left == [] and unused == [stale]


def test_a_listed_difference_must_say_why(tmp_path: Path) -> None:
    listed = tmp_path / "official-differences.yaml"
    listed.write_text("differences:\n  - interfaces: [IF-031]\n    pointer: /CommonBlock\n    keyword: type\n")
    with pytest.raises(DefinitionError) as caught:
        load_allowances(listed)
    (problem,) = caught.value.problems
    assert problem.line == 2 and "why must say why" in problem.message


def test_the_committed_data_is_what_the_generator_makes_of_the_spec(official: DipSpec) -> None:
    from tests.catalogue.conftest import SPEC_DIR

    generated = generate(SPEC_DIR)
    for name, text in generated.items():
        assert (DATA_DIR / name).read_text(encoding="utf-8") == text, f"{name} differs: run mhhs-sit catalogue generate"
    modelled = {p.name for p in DATA_DIR.glob("*.yaml")}
    hand_written = {"interfaces.yaml", "roles.yaml", "versions.yaml", "official-differences.yaml"}
    assert modelled - hand_written == set(generated)
    assert "description" not in "".join(generated.values())  # facts only, no prose
    assert generate(SPEC_DIR) == generated  # deterministic


def pairs() -> list[tuple[str, str]]:
    from mhhs_sit.catalogue import load_catalogue

    cat = load_catalogue()
    return [(i.id, code) for i in cat.interfaces for code in i.event_codes("2.1.0")]


@pytest.mark.parametrize(("iid", "code"), pairs())
def test_a_message_of_every_interface_and_event_code_passes_the_official_spec(
    cat: Catalogue, official: DipSpec, iid: str, code: str
) -> None:
    message = framework_message(cat, iid, code)
    found = official.validate(message)
    if (iid, code) in OVERLAPPING:
        (overlap,) = found  # the official spec's defect, not the message's: no message can pass it
        assert overlap.keyword == "oneOf" and "the schemas overlap" in overlap.message
    else:
        assert found == []
    assert cat.validate(message, version="2.1.0") == []


def framework_message(cat: Catalogue, iid: str, code: str) -> dict[str, Any]:
    """The message the framework builds for a send that fills the required fields from their formats."""
    schema = cat.schema(iid, code, version="2.1.0")
    common = schema["properties"]["CommonBlock"]
    blocks = common["properties"]
    custom = schema["properties"].get("CustomBlock")
    message = build_message(
        interface_id=iid,
        event=code,
        sender=Sender("2300000001", "SUP"),
        environment_tag="SIT",
        refs=ReferenceSource("t"),
        custom=instance(custom) if custom is not None else None,
        recipients=["2200000001"],
        mpan="2200000000001" if "M0" in blocks else None,
        distributor_dip_id="2200000002",
        now=dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC),
        custom_block=carries_custom_block(iid, code),
    )
    for block in common["required"]:  # the blocks a scenario adds under `common:` (S2, R0, R1, M1)
        message["CommonBlock"].setdefault(block, instance(blocks[block]))
    return message


def test_the_event_codes_without_a_custom_block_are_sent_without_one(cat: Catalogue, official: DipSpec) -> None:
    replay = framework_message(cat, "IF-015", "ConsumptionReplay")
    assert "CustomBlock" not in replay and official.validate(replay) == []
    replay["CustomBlock"] = {}  # what the framework used to add: the spec refuses it
    (found,) = official.validate(replay)
    assert found.keyword == "additionalProperties" and "CustomBlock" in found.message


@pytest.mark.parametrize("against", ["catalogue", "official"])
def test_a_send_step_of_an_event_without_a_custom_block_is_valid_as_written(against: str) -> None:
    from tests.catalogue.conftest import SPEC_DIR

    doc = parse_yaml("send: {as: MSS, interface: IF-038, event: '[DirectContractMSRemove]'}\n", "case.yaml")
    dip_spec = str(SPEC_DIR) if against == "official" else None
    if dip_spec and not (SPEC_DIR / "SubmitEvents-unresolved.yaml").is_file():
        pytest.skip("the official DIP spec is not beside the repository")
    assert send_problems(doc, ["send"], doc.data["send"], "2.1.0", dip_spec) == []
    with_block = parse_yaml("send: {as: MSS, interface: IF-038, event: DirectContractMSRemove, custom: {}}\n", "c.yaml")
    (problem,) = send_problems(with_block, ["send"], with_block.data["send"], "2.1.0", dip_spec)
    assert "CustomBlock" in problem.message
