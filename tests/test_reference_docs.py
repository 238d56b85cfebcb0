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
