"""Hostile YAML is refused where every user's file is read: an alias bomb, a nesting bomb, an alias
loop and an oversized file each become a problem at file:line in under a second, in validate and
in collection alike; ordinary files (anchors and merge keys included) are untouched."""

import time
from pathlib import Path

import pytest

from mhhs_sit.cli.app import main
from mhhs_sit.core import yamlsrc
from mhhs_sit.core.yamlsrc import load_yaml, parse_yaml
from tests.helpers import copy_project, write

HEADER = "scenario: SITFT-02-666\ntitle: hostile\nstage: sit-functional\ntheme: 2\nroles: [SUP]\n"


def alias_bomb(levels: int = 30) -> str:
    """Each level nine aliases of the one before: ~2 KB of text, 9**30 values once expanded."""
    lines = ['a0: &a0 ["lol-lol-lol-lol-lol-lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return HEADER + "\n".join(lines) + f"\ncases:\n  - id: SITFT-02-666-TC01\n    title: x\n    steps: *a{levels - 1}\n"


def depth_bomb(depth: int = 200) -> str:
    return HEADER + "cases:\n  - id: SITFT-02-666-TC01\n    title: x\n    steps: " + "[" * depth + "]" * depth + "\n"


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def test_an_alias_bomb_is_refused_at_its_line_in_under_a_second():
    text = alias_bomb()
    assert len(text) < 2500
    doc, seconds = timed(parse_yaml, text, "bomb.yaml")
    assert seconds < 1.0 and doc.data is None
    [problem] = doc.problems
    line_of_a7 = text.splitlines().index(next(t for t in text.splitlines() if t.startswith("a7:"))) + 1
    assert (problem.file, problem.line) == ("bomb.yaml", line_of_a7)  # the first value past the limit
    assert "expands through its aliases" in problem.message and problem.message.startswith("YAML limit:")


def test_a_nesting_bomb_is_refused_at_the_level_that_goes_too_deep():
    doc, seconds = timed(parse_yaml, depth_bomb(), "deep.yaml")
    assert seconds < 1.0 and doc.data is None
    [problem] = doc.problems
    assert problem.line == 9 and f"nested more than {yamlsrc.MAX_DEPTH} levels" in problem.message
    nested = "x: " + "[" * (yamlsrc.MAX_DEPTH - 1) + "]" * (yamlsrc.MAX_DEPTH - 1) + "\n"
    assert parse_yaml(nested, "ok.yaml").problems == []  # at the limit: fine


def test_depth_through_aliases_counts_where_the_alias_is_used():
    """Each piece is shallow; placed inside each other by aliases they are too deep."""
    half = yamlsrc.MAX_DEPTH // 2 + 2
    text = f"a: &a {'[' * half}1{']' * half}\nb: &b {'[' * half}*a{']' * half}\n"
    [problem] = parse_yaml(text, "aliases.yaml").problems
    assert (problem.line, problem.column) == (2, 6 + half) and "nested more than" in problem.message  # *a


def test_an_alias_loop_is_refused():
    [problem] = parse_yaml("a: &a [1, *a]\n", "loop.yaml").problems
    assert (problem.line, problem.column) == (1, 4) and "a loop" in problem.message  # the anchored value


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(yamlsrc.MAX_FILE_BYTES + 1)  # sparse: reading it would cost the whole size
    doc, seconds = timed(load_yaml, big)
    assert seconds < 1.0 and doc.data is None
    [problem] = doc.problems
    assert (problem.file, problem.line) == (str(big), 1) and "larger than the 32 MB" in problem.message


def test_anchors_and_merge_keys_of_ordinary_files_still_load():
    text = "base: &b {a: 1, b: [1, 2]}\nuse: {<<: *b, c: 3}\nlist: [*b, *b]\n"
    doc = parse_yaml(text, "ok.yaml")
    assert doc.problems == [] and doc.data["use"] == {"a": 1, "b": [1, 2], "c": 3}


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return copy_project(tmp_path, themes=False)


@pytest.mark.parametrize(
    ("relative", "text", "message"),
    [
        ("test_themes/theme_02_b/SITFT-02-666.yaml", alias_bomb(), "expands through its aliases"),
        ("test_themes/theme_02_b/SITFT-02-667.yaml", depth_bomb(), "levels deep"),
        ("cohorts/C9.yaml", "cohort: C9\nroles: &r [" + ", ".join(["*r"] * 3) + "]\n", "a loop"),
        ("environments/evil.yaml", alias_bomb().replace(HEADER, "name: evil\n"), "expands through its aliases"),
    ],
    ids=["scenario-alias-bomb", "scenario-depth-bomb", "cohort-alias-loop", "environment-alias-bomb"],
)
def test_validate_reports_each_hostile_file_with_file_and_line(project, capsys, relative, text, message):
    write(project, relative, text)
    rc, seconds = timed(main, ["validate"])
    out = capsys.readouterr().out
    assert rc == 1 and seconds < 10
    [line] = [line for line in out.splitlines() if message in line]
    assert line.startswith(f"{relative}:") and line.split(":")[1].isdigit() and int(line.split(":")[1]) > 1


def test_collection_of_an_alias_bomb_is_a_definition_error_not_a_memory_error(pytester):
    copy_project(Path(pytester.path), themes=False)
    write(Path(pytester.path), "test_themes/theme_02_b/SITFT-02-666.yaml", alias_bomb())
    start = time.perf_counter()
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:cacheprovider", timeout=60)
    assert time.perf_counter() - start < 30
    assert "SITFT-02-666.yaml:" in result.stdout.str() and "expands through its aliases" in result.stdout.str()
    assert "MemoryError" not in result.stdout.str() + result.stderr.str()
