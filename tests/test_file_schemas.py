"""``mhhs-sit schema rules`` and ``mhhs-sit schema requirements``: generated from the key sets and
spellings their loaders check with, they accept every shipped file and reject each mistake of the
corpora ``tests/mistakes/rules/`` and ``tests/mistakes/requirements/``, which the loaders report
at the line (and column) and with the text each file's second line names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from mhhs_sit.definitions.requirements import load_requirements
from mhhs_sit.errors import DefinitionError
from mhhs_stubs.rule_files import load_rules
from tests.helpers import REPO

CORPUS = Path(__file__).resolve().parent / "mistakes"
RULE_MISTAKES = sorted((CORPUS / "rules").glob("*.yaml"))
REQUIREMENT_MISTAKES = sorted((CORPUS / "requirements").glob("*.yaml"))
SHIPPED = {"rules": REPO / "stubs" / "rules", "requirements": REPO / "test_data" / "requirements"}
_EXPECT = re.compile(r"^# expect: ([\d:]+): (.+)$", re.M)
_MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)


def validator(kind: str) -> jsonschema.Draft202012Validator:
    run = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "schema", kind], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    schema = json.loads(run.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def expected(path: Path) -> tuple[str, str]:
    found = _EXPECT.search(path.read_text(encoding="utf-8"))
    assert found, f"{path.name} has no '# expect: LINE[:COL]: text' line"
    return found.group(1), found.group(2)


@pytest.mark.parametrize("kind", sorted(SHIPPED))
def test_the_schema_accepts_every_shipped_file_and_its_modeline_names_it(kind: str) -> None:
    schema = validator(kind)
    files = sorted(SHIPPED[kind].glob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        modeline = _MODELINE.match(text)
        assert modeline, f"{path.name}: no '# yaml-language-server: $schema=' first line"
        assert (path.parent / modeline.group(1)).resolve() == REPO / "mhhs_sit" / "schemas" / f"{kind}.schema.json"
        assert [e.message for e in schema.iter_errors(yaml.safe_load(text))] == [], path.name


@pytest.mark.parametrize("kind", sorted(SHIPPED))
def test_the_shipped_schema_is_fresh(kind: str) -> None:
    from mhhs_sit.cli.schema import schema_text, shipped

    assert shipped(kind).read_text(encoding="utf-8") == schema_text(kind), (
        f"stale: run mhhs-sit schema {kind} --out mhhs_sit/schemas/{kind}.schema.json"
    )


def test_the_corpora_cover_the_loaders_checks() -> None:
    assert len(RULE_MISTAKES) >= 8 and len(REQUIREMENT_MISTAKES) >= 8


@pytest.fixture(scope="module")
def rules_validator() -> jsonschema.Draft202012Validator:
    return validator("rules")


@pytest.fixture(scope="module")
def requirements_validator() -> jsonschema.Draft202012Validator:
    return validator("requirements")


@pytest.mark.parametrize("path", RULE_MISTAKES, ids=[f.stem for f in RULE_MISTAKES])
def test_a_rules_mistake_is_refused_by_the_loader_and_the_schema(
    rules_validator: jsonschema.Draft202012Validator, path: Path, tmp_path: Path
) -> None:
    where, text = expected(path)
    shutil.copy(path, tmp_path)
    with pytest.raises(DefinitionError) as raised:
        load_rules(tmp_path)
    rendered = [p.render() for p in raised.value.problems]
    assert len(rendered) == 1, rendered
    assert rendered[0].startswith(f"{tmp_path / path.name}:{where} ") and text in rendered[0], rendered[0]
    assert not rules_validator.is_valid(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", REQUIREMENT_MISTAKES, ids=[f.stem for f in REQUIREMENT_MISTAKES])
def test_a_requirements_mistake_is_reported_by_the_loader_and_refused_by_the_schema(
    requirements_validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    where, text = expected(path)
    _, problems = load_requirements(path, path.parent)
    rendered = [p.render() for p in problems]
    assert len(rendered) == 1, rendered
    assert re.match(rf"{path.name}:{where}[ :]", rendered[0]) and text in rendered[0], rendered[0]
    assert not requirements_validator.is_valid(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_the_requirements_schema_takes_the_spellings_the_loader_reads(
    requirements_validator: jsonschema.Draft202012Validator,
) -> None:
    """Workbook habits the loader reads (MoSCoW, P2, 'SIT Functional', roles as one text) pass."""
    row = {
        "id": "X1",
        "title": "t",
        "source": "NFR",
        "stage": "SIT Functional",
        "priority": "Should",
        "roles": "SUP/REGS",
    }
    _, problems = load_requirements(_written(row))
    assert problems == []
    assert requirements_validator.is_valid({"requirements": [row]})
    assert requirements_validator.is_valid([{**row, "priority": "P2", "roles": ["sup", "all"], "stage": None}])


def _written(row: dict[str, str]) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "r.yaml"
    path.write_text(yaml.safe_dump({"requirements": [row]}), encoding="utf-8")
    return path
