"""``mhhs-sit schema KIND`` prints a JSON Schema that accepts every file of that kind the project
ships and rejects the structural mistakes validate rejects (it is generated from the same definitions)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.helpers import FIXTURES, REPO

FOLDERS = {"scenario": "test_themes", "cohort": "cohorts", "environment": "environments"}


def schema(kind: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "schema", kind], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    loaded: dict[str, object] = json.loads(run.stdout)
    jsonschema.Draft202012Validator.check_schema(loaded)
    return loaded


@pytest.mark.parametrize("kind", sorted(FOLDERS))
def test_the_schema_accepts_every_shipped_file(kind: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(kind))
    files = sorted((FIXTURES / FOLDERS[kind]).rglob("*.yaml"))
    assert files
    for path in files:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
        assert errors == [], f"{path.name}: {errors}"


def test_the_scenario_schema_rejects_structural_mistakes() -> None:
    validator = jsonschema.Draft202012Validator(schema("scenario"))
    good = yaml.safe_load(
        (FIXTURES / "test_themes" / "theme_03_service_appointment" / "SITFT-03-001.yaml").read_text(encoding="utf-8")
    )
    assert validator.is_valid(good)
    typo = json.loads(json.dumps(good))
    typo["cases"][0]["steps"][1]["expect"]["withn"] = "30s"  # an unknown key of a step kind's body
    assert not validator.is_valid(typo)
    stage = {**good, "stage": "sit-func"}
    assert not validator.is_valid(stage)


def test_an_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "schema", "cohorts"], capture_output=True, text=True, timeout=60
    )
    kinds = "'cohort', 'environment', 'requirements', 'rules', 'scenario'"
    assert run.returncode == 2 and f"choose from {kinds}" in run.stderr


@pytest.mark.parametrize("kind", sorted(FOLDERS))
def test_the_shipped_schema_is_fresh(kind: str) -> None:
    from mhhs_sit.cli.schema import schema_text, shipped

    assert shipped(kind).read_text(encoding="utf-8") == schema_text(kind), (
        f"stale: run mhhs-sit schema {kind} --out mhhs_sit/schemas/{kind}.schema.json"
    )


_MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)


def test_the_repository_files_modelines_name_a_schema_that_accepts_them() -> None:
    """Editors follow each file's modeline; every one resolves and the schema it names accepts the file
    (a file without one is fine: a team's own files need not carry it)."""
    checked = 0
    shipped_files = {"scenario": REPO / "test_themes", "cohort": REPO / "cohorts", "environment": REPO / "environments"}
    for kind, folder in shipped_files.items():
        for path in sorted(folder.rglob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            found = _MODELINE.search(text)
            if found is None:
                continue
            target = (path.parent / found.group(1)).resolve()
            assert target.name == f"{kind}.schema.json" and target.is_file(), f"{path}: {found.group(1)}"
            validator = jsonschema.Draft202012Validator(json.loads(target.read_text(encoding="utf-8")))
            assert [e.message for e in validator.iter_errors(yaml.safe_load(text))] == [], path
            checked += 1
    assert checked
