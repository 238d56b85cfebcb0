"""Common scenario mistakes, one file each under ``tests/mistakes/``, caught before anything runs.

Each file's second line says where its one mistake is and what the message says
(``# expect: LINE:COL: text``). ``mhhs-sit validate`` is run as a user runs it (a subprocess in
a project holding the corpus), and a pytest collection of one file reports the same problem: the
two share one code path.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, copy_project

CORPUS = Path(__file__).resolve().parent / "mistakes"
FILES = sorted(CORPUS.glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$", re.M)


def expected(path: Path) -> tuple[str, str]:
    found = _EXPECT.search(path.read_text())
    assert found, f"{path.name} has no '# expect: LINE:COL: text' line"
    return f"{found.group(1)}:{found.group(2)}", found.group(3)


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``mhhs-sit validate`` over the whole corpus, in a project of the tests' own fixtures."""
    root = copy_project(tmp_path_factory.mktemp("corpus"), themes=False)
    shutil.copytree(CORPUS, root / "test_themes", ignore=shutil.ignore_patterns("rules", "requirements"))
    run = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "validate"], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    return run.stdout


def test_the_corpus_covers_each_check() -> None:
    assert len(FILES) >= 15
    assert (FIXTURES / "cohorts").is_dir()


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_validate_reports_the_one_mistake(validated: str, path: Path) -> None:
    where, text = expected(path)
    mine = [line for line in validated.splitlines() if line.startswith(f"test_themes/{path.name}:")]
    assert len(mine) == 1, f"{path.name}: expected exactly one problem, got:\n" + "\n".join(mine)
    assert mine[0].startswith(f"test_themes/{path.name}:{where} ["), mine[0]
    assert text in mine[0], mine[0]


@pytest.mark.parametrize("name", ["where_path_typo", "template_participant_field_typo", "expect_at_a_simulated_role"])
def test_collection_reports_what_validate_reports(pytester: pytest.Pytester, name: str) -> None:
    copy_project(pytester.path, themes=False)
    shutil.copy(CORPUS / f"{name}.yaml", pytester.path / "test_themes.yaml")
    where, text = expected(CORPUS / f"{name}.yaml")
    result = pytester.runpytest("-p", "no:cacheprovider", "test_themes.yaml")
    out = result.stdout.str()
    assert result.ret != 0
    assert f"test_themes.yaml:{where}" in out and text in out, out
    assert "passed" not in out


def test_a_cohort_that_simulates_the_role_waited_at_is_not_eligible(pytester: pytest.Pytester) -> None:
    """C1 simulates SDS, C2 does not: an expect at SDS runs in C2 (the framework observes SDS) only."""
    copy_project(pytester.path, themes=False)
    text = (CORPUS / "expect_at_a_simulated_role.yaml").read_text()
    for wait_at_regs, wait_at_sds in (
        ("interface: IF-034", "interface: IF-035"),  # what SDS receives: the appointment's outcome
        ("event: DSAppSPResponse", "event: DSAppAccepted"),
        ("{event: MSAppSPResponse}", "{event: DSAppRejected}"),
    ):
        text = text.replace(wait_at_regs, wait_at_sds)
    (pytester.path / "test_themes").mkdir()
    (pytester.path / "test_themes" / "sds.yaml").write_text(text.replace("at: REGS", "at: SDS"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--co", "-q", "--mhhs-store", "none")
    assert result.ret == 0, result.stdout.str()
    out = result.stdout.str()
    assert "SITMX-01-001-TC01[C2]" in out and "[C1]" not in out
    only_c1 = text.replace("at: REGS", "at: SDS").replace("roles: [SUP, REGS, SDS]", "roles: [SUP, REGS, SDS, MSS]")
    (pytester.path / "test_themes" / "sds.yaml").write_text(only_c1)  # C2 has no MSS: C1 alone could run it
    refused = pytester.runpytest("-p", "no:cacheprovider", "--co", "-q", "--mhhs-store", "none")
    refused.stdout.fnmatch_lines(
        ["*'expect at: SDS': every cohort that could run SITMX-01-001-TC01 (C1) simulates SDS*"]
    )
    assert refused.ret == pytest.ExitCode.INTERRUPTED
