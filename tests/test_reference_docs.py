"""docs/reference/ is generated from the step registry and the catalogue, and never stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mhhs_sit.cli.reference import PAGES, pages
from mhhs_sit.execution.steps import STEP_KINDS
from tests.helpers import REPO


@pytest.mark.parametrize("name", PAGES)
def test_the_committed_page_is_what_the_command_writes(name: str) -> None:
    committed = (REPO / "docs" / "reference" / name).read_text(encoding="utf-8")
    assert committed == pages()[name], f"docs/reference/{name} is stale: run mhhs-sit reference --out docs/reference"


def test_the_command_writes_every_kind_and_interface(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "reference", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    kinds = (tmp_path / "step-kinds.md").read_text(encoding="utf-8")
    assert all(f"## `{kind.key}`" in kinds for kind in STEP_KINDS)
    assert "| `within` |  | a duration such as 30s" in kinds
    interfaces = (tmp_path / "interfaces.md").read_text(encoding="utf-8")
    assert "| IF-035 |" in interfaces and "`DSAppAccepted`" in interfaces


def test_each_interface_says_which_simulated_role_answers_and_how_to_make_it_reject() -> None:
    page = pages()["interfaces.md"]
    if_033 = page.split("### IF-033 ", 1)[1].split("\n### ", 1)[0]
    assert "- answered by ADS, SDS, UMSDS (data_service.yaml) with IF-034 `DSAppSPResponse`" in if_033
    assert '[DSAppSPRequest] `B071.contractReferenceDataService` startswith `"REJECT"`' in if_033
    if_021 = page.split("### IF-021 ", 1)[1].split("\n### ", 1)[0]
    assert "recorded, not answered, by LDSO, SUP" in if_021


def test_the_answers_are_read_off_the_rules_not_kept_by_hand(tmp_path: Path) -> None:
    """A rules directory of one's own: its role answers, and its refusal's condition is what it says."""
    from mhhs_sit.cli.answering import answering_roles, answers

    (tmp_path / "mdr.yaml").write_text(
        "role: MDR\nrules:\n"
        "  - name: refuse a start for a test MPAN\n"
        "    when: {interface: IF-061, where: {M0.MPANCore: {startswith: '99'}}}\n"
        "    send:\n"
        "      - interface: IF-062\n        event: MDRStartResponse\n"
        "        common: {R0: {responseCode: R, responseMessages: [RCP1064]}}\n"
        "  - name: start\n    when: {interface: IF-061}\n"
        "    send: [{interface: IF-062, event: MDRStartResponse}]\n",
        encoding="utf-8",
    )
    refusal, start = answers(tmp_path)["IF-061"]
    assert refusal.roles == ("MDR",) and refusal.rejects and refusal.condition == '`M0.MPANCore` startswith `"99"`'
    assert not start.rejects and start.sends == (("IF-062", "MDRStartResponse"),)
    assert "MDR" in answering_roles("IF-061") and answering_roles("IF-999") == ()
