"""The catalogue's 2.1.0 against the official DIP spec 2.1.0 beside the repository (../shared).

Every difference is listed by interface and event code; only those explained in
``official-differences.yaml`` may remain. The generated data files must be exactly what the
generator makes of the spec.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mhhs_sit.catalogue import Catalogue
from mhhs_sit.catalogue.dipspec import DipSpec, load_dip_spec
from mhhs_sit.catalogue.loader import DATA_DIR, load_directory
from mhhs_sit.catalogue.specdiff import Allowance, compare, load_allowances, unexplained
from mhhs_sit.catalogue.specgen import generate
from mhhs_sit.errors import DefinitionError

ALLOWANCES = DATA_DIR / "official-differences.yaml"
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
