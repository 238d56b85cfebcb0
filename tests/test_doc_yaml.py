"""Every YAML block in README.md and docs/ is what it says: a scenario validates (and the README's
example runs against the local simulator as pasted), an environment file validates, and a block
marked ``<!-- yaml fragment: why -->`` on the line before it is at least YAML."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import FAST_ADDOPTS, REPO, copy_project

_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.M | re.S)
FRAGMENT = "<!-- yaml fragment:"


def blocks() -> list[tuple[str, str, bool]]:
    """(where, text, is a fragment) for each YAML block of the docs."""
    found = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for m in _BLOCK.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            found.append((f"{doc.relative_to(REPO).as_posix()}:{line}", m.group(1), before.startswith(FRAGMENT)))
    return found


BLOCKS = blocks()


def kind(text: str) -> str | None:
    data = yaml.safe_load(text)
    if isinstance(data, dict):
        return next((k for k in ("scenario", "environment", "cohort") if k in data), None)
    return None


def test_the_docs_have_yaml_blocks_of_each_sort() -> None:
    kinds = {kind(text) for _, text, fragment in BLOCKS if not fragment}
    assert {"scenario", "environment"} <= kinds and any(fragment for *_, fragment in BLOCKS)


@pytest.mark.parametrize(("where", "text", "fragment"), BLOCKS, ids=[w for w, *_ in BLOCKS])
def test_each_yaml_block_validates(tmp_path: Path, where: str, text: str, fragment: bool) -> None:
    if fragment:
        yaml.safe_load(text)  # still YAML
        return
    sort = kind(text)
    assert sort is not None, f"{where}: neither a scenario, an environment nor a cohort: mark it '{FRAGMENT} ...'"
    root = copy_project(tmp_path, themes=False)
    folder = {"scenario": "test_themes", "environment": "environments", "cohort": "cohorts"}[sort]
    target = root / folder / f"from-docs-{yaml.safe_load(text)[sort]}.yaml"
    target.parent.mkdir(exist_ok=True)
    target.write_text(text, encoding="utf-8")
    if sort != "scenario":  # validate needs a scenario to check anything against
        (root / "test_themes").mkdir(exist_ok=True)
    run = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "validate"], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, f"{where}:\n{run.stdout}{run.stderr}"


def test_the_readme_example_runs_as_pasted(pytester: pytest.Pytester) -> None:
    example = next(text for where, text, _ in BLOCKS if where.startswith("README.md") and kind(text) == "scenario")
    copy_project(pytester.path, themes=False)
    (pytester.path / "test_themes").mkdir()
    (pytester.path / "test_themes" / "example.yaml").write_text(example, encoding="utf-8")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *FAST_ADDOPTS.split(), "--mhhs-store", "none", "-q", timeout=180
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=1)


def test_the_documented_filters_and_built_ins_are_the_ones_there_are() -> None:
    from mhhs_sit.definitions import templating

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"filters `([^`]+)`", readme)
    assert listed, "the README lists the template filters"
    assert {re.sub(r"\(.*\)", "", f) for f in listed.group(1).split()} == set(templating.FILTERS)
    for name in templating.BUILTIN_NAMES:
        assert f"`{name}`" in readme, f"built-in {name!r} is not documented"
