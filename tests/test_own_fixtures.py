"""The framework's tests stand on their own fixture project (``tests/fixtures/project``), so a test
team adding scenarios to ``test_themes/`` — the tool's whole purpose — never turns them red.

Only the checks of the repository's own content read ``test_themes/``, and those hold for any valid
content: proven by running them on a copy of the repository with one more valid scenario."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import FIXTURES, REPO

TESTS = Path(__file__).resolve().parent
CONTENT_CHECKS = (
    "tests/test_definition_errors.py::test_validate_on_the_repository_content_is_clean",
    "tests/test_requirements_catalogue.py::test_the_repository_catalogue_is_clean_and_covers_every_scenario",
    "tests/test_schema_command.py::test_the_repository_files_modelines_name_a_schema_that_accepts_them",
)
_READS_THEMES = re.compile(r"REPO\s*/\s*[\"']test_themes|[\"']test_themes[\"'][^\n]*\)\s*:\s*\n[^\n]*REPO\s*/")


def test_only_the_content_checks_read_the_working_trees_scenarios() -> None:
    readers = sorted(
        path.relative_to(REPO).as_posix()
        for path in TESTS.rglob("*.py")
        if path.name != Path(__file__).name and _READS_THEMES.search(path.read_text(encoding="utf-8"))
    )
    assert readers == sorted({check.split("::")[0] for check in CONTENT_CHECKS})
    assert (FIXTURES / "test_themes").is_dir() and (FIXTURES / "cohorts").is_dir()


def test_a_new_valid_scenario_in_test_themes_breaks_no_test(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    for name in ("mhhs_sit", "test_themes", "cohorts", "environments", "test_data", "tests"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "conftest.py"):
        shutil.copy(REPO / name, copy / name)
    source = FIXTURES / "test_themes" / "theme_03_service_appointment" / "SITFT-03-001.yaml"
    added = copy / "test_themes" / "theme_99_added" / "SITFT-99-901.yaml"
    added.parent.mkdir()
    added.write_text(source.read_text(encoding="utf-8").replace("SITFT-03-001", "SITFT-99-901"), encoding="utf-8")
    validate = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "validate"], cwd=copy, capture_output=True, text=True, timeout=120
    )
    assert validate.returncode == 0 and "OK: " in validate.stdout, validate.stdout + validate.stderr
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", *CONTENT_CHECKS],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and f"{len(CONTENT_CHECKS)} passed" in run.stdout, (
        run.stdout[-3000:] + run.stderr[-2000:]
    )
