"""Option values are checked once, before collection: one usage line with a did-you-mean, and
nothing collected, stored or written (pytest and ``mhhs-sit`` alike, each naming its own option)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, copy_project

PYTEST_CASES = [
    (["--theme", "7"], "--theme: no scenario has theme '7'; themes: 1, 3, 4"),
    (["--theme", "three"], "--theme: no scenario has theme 'three' (themes are numbers)"),
    (["--stage", "sit-func"], "--stage: unknown stage 'sit-func' (did you mean 'sit-functional'?)"),
    (["--cohort", "C9"], "--cohort: unknown cohort 'C9'; cohorts are C1, C2"),
    (["--cohort", "c1"], "--cohort: unknown cohort 'c1' (did you mean 'C1'?)"),
    (["--mhhs-env", "locl"], "--mhhs-env: unknown environment 'locl' (did you mean 'local'?)"),
    (["--ir", "IR8.3"], "--ir: unknown catalogue version 'IR8.3' (did you mean 'IR8.2'?)"),
    (["--mhhs-seed", "200"], "--mhhs-seed: the data seed must be an integer from 0 to 99"),
    (["--mhhs-store", "postgress://u@h/db"], "--mhhs-store: unknown database 'postgress'"),
    (["-m", "smoke and not smok"], "-m: no scenario tag or marker 'smok' (did you mean 'smoke'?)"),
]


@pytest.mark.parametrize(("args", "line"), PYTEST_CASES, ids=[" ".join(a) for a, _ in PYTEST_CASES])
def test_pytest_refuses_the_value_before_collection(pytester: pytest.Pytester, args: list[str], line: str) -> None:
    copy_project(pytester.path)
    before = sorted(p.name for p in pytester.path.iterdir())
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [text for text in result.errlines if text.startswith("ERROR:")]
    assert len(errors) == 1 and line in errors[0], result.errlines
    assert "collected" not in result.stdout.str()
    assert sorted(p.name for p in pytester.path.iterdir()) == before  # no store, no results


def test_good_values_still_select(pytester: pytest.Pytester) -> None:
    copy_project(pytester.path)
    marked = pytester.runpytest(
        "-p", "no:cacheprovider", "--co", "-q", "-m", "smoke and not simulator", "--mhhs-store", "none"
    )
    assert marked.ret == pytest.ExitCode.OK and "[C1]" in marked.stdout.str(), marked.stdout.str()
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--co", "-q", "--theme", "3", "--cohort", "C1", "--mhhs-store", "none"
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert "SITFT-03-001-TC01[C1]" in result.stdout.str()


def mhhs_sit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


CLI_CASES = [
    (["run", "--env", "locl"], "mhhs-sit: --env: unknown environment 'locl' (did you mean 'local'?)"),
    (["run", "--seed", "200"], "mhhs-sit: --seed: the data seed must be an integer from 0 to 99"),
    (["run", "--theme", "7"], "mhhs-sit: --theme: no scenario has theme '7'"),
    (["run", "--store", "postgress://u@h/db"], "mhhs-sit: --store: unknown database 'postgress'"),
    (["validate", "--env", "locl"], "mhhs-sit: --env: unknown environment 'locl' (did you mean 'local'?)"),
    (["validate", "--ir", "IR8.3"], "mhhs-sit: --ir: unknown catalogue version 'IR8.3' (did you mean 'IR8.2'?)"),
    (["stubs", "up", "--cohort", "C9"], "mhhs-sit stubs up: --cohort: unknown cohort 'C9'"),
    (["run", "-m", "(smoke or appointmnt)"], "mhhs-sit: -m: no scenario tag or marker 'appointmnt' (did you mean"),
]


@pytest.mark.parametrize(("args", "line"), CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_mhhs_sit_commands_refuse_the_value(tmp_path: Path, args: list[str], line: str) -> None:
    copy_project(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    run = mhhs_sit(tmp_path, *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.strip().splitlines() == [run.stderr.strip()] and line in run.stderr, run.stderr
    assert "--mhhs-" not in run.stderr  # the command's own spelling
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no results folder, no store


def test_catalogue_show_takes_ir_as_every_command_does(tmp_path: Path) -> None:
    copy_project(tmp_path)
    new = mhhs_sit(tmp_path, "catalogue", "show", "IF-035", "--ir", "IR8.2", "--event", "DSAppAccepted")
    old = mhhs_sit(tmp_path, "catalogue", "show", "IF-035", "--version", "IR8.2", "--event", "DSAppAccepted")
    assert new.returncode == 0, new.stderr
    assert new.stdout == old.stdout and "B007" in new.stdout


def test_a_theme_or_tag_of_a_file_named_on_the_command_line_is_known(pytester: pytest.Pytester) -> None:
    copy_project(pytester.path)
    source = FIXTURES / "test_themes" / "theme_03_service_appointment" / "SITFT-03-001.yaml"
    text = source.read_text().replace("SITFT-03-001", "OTHER-07-001").replace("theme: 3", "theme: 7")
    (pytester.path / "elsewhere").mkdir()
    (pytester.path / "elsewhere" / "x.yaml").write_text(text.replace("tags: [smoke, appointment]", "tags: [seventh]"))
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--co",
        "-q",
        "--theme",
        "7",
        "-m",
        "seventh",
        "--mhhs-store",
        "none",
        "elsewhere/x.yaml",
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + "\n".join(result.errlines)
    assert "OTHER-07-001-TC01[C1]" in result.stdout.str()
