"""Definition errors: one malformed file per error class, each located by file:line:column [path].

The contract: every problem in every scenario, cohort and environment file is reported in one
readable block (``render_problems``), never as a Python traceback; ``mhhs-sit validate`` prints
that block and exits 1; under pytest a broken scenario file is a collection error whose text is
those lines. Each test writes a minimal valid project into a temporary directory, breaks one
thing and checks the exact location, YAML path and a helpful phrase.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mhhs_sit.cli import app as cli
from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.environments import load_environment
from mhhs_sit.definitions.scenario_files import load_scenarios
from mhhs_sit.errors import Problem, render_problems
from mhhs_sit.execution.steps import STEP_KINDS

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
X = "test_themes/x.yaml"
C1 = "cohorts/C1.yaml"
LOCAL = "environments/local.yaml"
REMOTE = "environments/remote.yaml"

# The tests below refer to these line numbers; edits keep them unless they say otherwise.
SCENARIO = """\
scenario: SC-1
title: Minimal
stage: sit-functional
theme: 1
roles: [SUP, REGS]
cases:
  - id: TC-1
    title: one case
    data:
      mpan: {draw: mpan}
    steps:
      - send:
          as: SUP
          interface: IF-041
          event: ReadingCOS
          mpan: "{{ mpan }}"
        save: {ref: S1.senderUniqueReference}
      - expect:
          at: SUP
          interface: IF-032
          within: 30s
          where: {M0.MPANCore: "{{ mpan }}"}
        save: {reply: D0.initialCorrelationID}
"""
#   1 scenario / 5 roles / 7 case id / 10 data.mpan / 12 step 0 send / 13 as / 14 interface
#  16 send.mpan / 17 save ref / 18 step 1 expect / 21 within / 22 where / 23 save reply

COHORT = """\
cohort: C1
participants:
  SUP:  {mpid: SUPA, dip_id: "2300000101"}
  REGS: {mpid: EELC, dip_id: "2200000101", distributor: "10"}
simulated: [REGS]
"""

ENVIRONMENT = """\
environment: local
environment_tag: DEV
stubs: embedded
"""

REMOTE_ENVIRONMENT = """\
environment: remote
environment_tag: SIT
stubs: none
dip_url: https://dip.example
webhook:
  public_url: ${MHHS_TEST_WEBHOOK_URL}
"""

CRASHES = (TypeError, AttributeError)
FAST = "-p no:faker -p no:anyio -p no:hypothesispytest -p no:cacheprovider"


# --------------------------------------------------------------------------- helpers


def edit(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced (so a stale edit cannot pass)."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def scenario(old: str, new: str) -> str:
    return edit(SCENARIO, old, new)


def project(root: Path, files: dict[str, str | None] | None = None) -> Path:
    """The minimal valid project in ``root``; ``files`` adds or replaces files (None removes)."""
    content: dict[str, str | None] = {C1: COHORT, LOCAL: ENVIRONMENT, X: SCENARIO, **(files or {})}
    for relative, text in content.items():
        if text is not None:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return root


def check(root: Path, env: str = "local", environ: dict[str, str] | None = None) -> list[Problem]:
    """What ``mhhs-sit validate`` checks: every scenario and cohort file and one environment."""
    _, problems = load_scenarios([root / "test_themes"], STEP_KINDS, root)
    problems += load_cohorts(root / "cohorts", root)[1]
    problems += load_environment(env, root / "environments", root, environ=environ or {})[1]
    return problems


def report(root: Path, files: dict[str, str | None], **kwargs: object) -> str:
    """The rendered block for the minimal project with ``files`` written over it."""
    return render_problems(check(project(root, files), **kwargs))  # type: ignore[arg-type]


def messages_at(block: str, where: str) -> list[str]:
    """Messages of the lines that start with ``where`` (``file:line:col [path]``)."""
    return [line[len(where) + 2 :] for line in block.splitlines() if line.startswith(where + ": ")]


def message_at(block: str, where: str) -> str:
    """The message of the one problem reported at ``where``."""
    found = messages_at(block, where)
    assert len(found) == 1, f"expected exactly one problem at {where!r} in:\n{block}"
    return found[0]


def count_line(block: str) -> str:
    return block.splitlines()[-1]


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert not re.search(r"\.py:\d+: in \w+", text), text  # pytest's frame lines
    assert not re.search(r"^E\s", text, re.M), text


@pytest.fixture
def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``mhhs-sit validate ARGS`` in ``tmp_path``; (exit code, stdout)."""

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.chdir(tmp_path)
        rc = cli.main(["validate", *args])
        out, err = capsys.readouterr()
        assert_no_traceback(out + err)
        return rc, out

    return run


def test_the_minimal_project_is_valid(tmp_path: Path) -> None:
    """Every test below breaks this project; so it must be clean to begin with."""
    assert check(project(tmp_path)) == []


# --------------------------------------------------------------------------- YAML itself


def test_yaml_bad_indentation(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("    title: one case", "     title: one case")})
    assert "YAML syntax" in message_at(block, f"{X}:8:11")
    assert count_line(block) == "1 problem in 1 file"


def test_yaml_unclosed_flow_mapping(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario('"{{ mpan }}"}', '"{{ mpan }}"')})
    message = message_at(block, f"{X}:23:9")
    assert message.startswith("YAML syntax") and "flow mapping" in message
    assert "did not find expected ',' or '}'" in message


def test_yaml_unclosed_flow_mapping_names_where_it_opened(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario('"{{ mpan }}"}', '"{{ mpan }}"')})
    # the '{' is on line 22, column 18; the parser notices at line 23
    assert "line 22" in block or f"{X}:22:18" in block


def test_tab_indentation_that_violates_indentation(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("    title: one case", "\ttitle: one case")})
    message = message_at(block, f"{X}:8:1")
    assert message.startswith("YAML syntax") and "tab" in message


def test_tab_indentation_of_a_nested_key_says_tab(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("      mpan: {draw: mpan}", "\tmpan: {draw: mpan}")})
    message = message_at(block, f"{X}:10:1")
    assert message.startswith("YAML syntax") and "tab" in message


@pytest.mark.parametrize(
    ("old", "new", "where", "first"),
    [
        ("stage: sit-functional\n", "stage: sit-functional\ntitle: again\n", f"{X}:4:1 [title]", 2),
        (
            "          as: SUP\n",
            "          as: SUP\n          as: SUP\n",
            f"{X}:14:11 [cases[0].steps[0].send.as]",
            13,
        ),
    ],
    ids=["top-level", "in-a-step"],
)
def test_duplicate_key(tmp_path: Path, old: str, new: str, where: str, first: int) -> None:
    block = report(tmp_path, {X: scenario(old, new)})
    message = message_at(block, where)
    assert "appears twice" in message and f"first on line {first}" in message
    assert count_line(block) == "1 problem in 1 file"


def test_self_referencing_alias_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("theme: 1\n", "theme: 1\ndescription: &d [*d]\n")})
    assert "an alias refers to a value that contains it (a loop)" in message_at(block, f"{X}:5:14")


# --------------------------------------------------------------------------- scenario structure


def test_unknown_top_level_key_suggests(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("title: Minimal", "titel: Minimal")})
    assert "unknown key 'titel' (did you mean 'title'?)" in message_at(block, f"{X}:2:1 [titel]")
    assert "'title' is required" in message_at(block, f"{X}:1:1")


def test_unknown_step_key_suggests(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("      - send:", "      - sendd:")})
    message = message_at(block, f"{X}:12:9 [cases[0].steps[0].sendd]")
    assert "unknown key 'sendd' in a step (did you mean 'send'?)" in message
    assert count_line(block) == "1 problem in 1 file"


def test_step_with_two_actions(tmp_path: Path) -> None:
    two = scenario("        save: {ref", "        expect: {at: SUP, interface: IF-032}\n        save: {ref")
    block = report(tmp_path, {X: two})
    assert "2 actions (send, expect)" in message_at(block, f"{X}:12:9 [cases[0].steps[0]]")
    assert count_line(block) == "1 problem in 1 file"


def test_step_with_no_action(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("      - expect:", "      - name: nothing\n      - expect:")})
    assert "does nothing" in message_at(block, f"{X}:18:9 [cases[0].steps[1]]")
    assert count_line(block) == "1 problem in 1 file"


def test_send_without_interface(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("          interface: IF-041\n", "")})
    message = message_at(block, f"{X}:13:11 [cases[0].steps[0].send]")
    assert "'interface' is required" in message


def test_priority_of_the_wrong_type(tmp_path: Path) -> None:
    block = report(
        tmp_path,
        {X: scenario("    title: one case\n", "    title: one case\n    priority: high\n")},
    )
    message = message_at(block, f"{X}:9:15 [cases[0].priority]")
    assert "expected a whole number, found text ('high')" in message


def test_stage_typo_suggests(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("stage: sit-functional", "stage: sit-funtional")})
    assert "did you mean 'sit-functional'?" in message_at(block, f"{X}:3:8 [stage]")


def test_role_typo_in_roles_suggests(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("roles: [SUP, REGS]", "roles: [SUPP, REGS]")})
    message = message_at(block, f"{X}:5:9 [roles[0]]")
    assert "'SUPP' is not allowed here (did you mean 'SUP'?)" in message


def test_send_as_a_role_the_scenario_does_not_declare(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("          as: SUP", "          as: SDS")})
    message = message_at(block, f"{X}:13:15 [cases[0].steps[0].send.as]")
    assert "role 'SDS' is not among the scenario's roles (SUP, REGS)" in message
    assert count_line(block) == "1 problem in 1 file"


def test_bad_duration(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("within: 30s", "within: 30 seconds")})
    messages = messages_at(block, f"{X}:21:19 [cases[0].steps[1].expect.within]")
    assert messages and all("'30 seconds' is not a duration" in m and "30s" in m for m in messages)


def test_bad_duration_is_reported_once(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario("within: 30s", "within: 30 seconds")})
    assert count_line(block) == "1 problem in 1 file"


def test_where_operator_typo_suggests(tmp_path: Path) -> None:
    where = scenario('where: {M0.MPANCore: "{{ mpan }}"}', 'where: {M0.MPANCore: {matchs: "^A"}}')
    block = report(tmp_path, {X: where})
    message = message_at(block, f"{X}:22:33 [cases[0].steps[1].expect.where.M0.MPANCore.matchs]")
    assert "unknown check 'matchs' (did you mean 'matches'?)" in message


# --------------------------------------------------------------------------- templates


def test_template_naming_an_unknown_variable_suggests(tmp_path: Path) -> None:
    block = report(tmp_path, {X: scenario('mpan: "{{ mpan }}"', 'mpan: "{{ mpn }}"')})
    message = message_at(block, f"{X}:16:17 [cases[0].steps[0].send.mpan]")
    assert "names 'mpn'" in message and "(did you mean 'mpan'?)" in message


@pytest.mark.parametrize("name", ["reply", "ref"], ids=["saved-by-a-later-step", "saved-by-this-step"])
def test_template_using_a_value_not_saved_before(tmp_path: Path, name: str) -> None:
    block = report(tmp_path, {X: scenario('mpan: "{{ mpan }}"', f'mpan: "{{{{ {name} }}}}"')})
    message = message_at(block, f"{X}:16:17 [cases[0].steps[0].send.mpan]")
    assert f"names '{name}'" in message and "saved by an earlier step" in message


def test_template_using_a_value_saved_by_an_earlier_step_is_fine(tmp_path: Path) -> None:
    earlier = scenario('where: {M0.MPANCore: "{{ mpan }}"}', 'where: {M0.MPANCore: "{{ ref }}"}')
    assert check(project(tmp_path, {X: earlier})) == []


# --------------------------------------------------------------------------- data draws


@pytest.mark.parametrize(
    ("draw", "where", "phrase"),
    [
        (
            "{draw: mpna}",
            "10:20 [cases[0].data.mpan.draw]",
            "cannot draw 'mpna' (did you mean 'mpan'?)",
        ),
        (
            "{draw: mpan, segmnt: smart}",
            "10:26 [cases[0].data.mpan.segmnt]",
            "'segmnt' is not a criterion of mpan (did you mean 'segment'?)",
        ),
        (
            "{draw: mpan, segment: dumb}",
            "10:35 [cases[0].data.mpan.segment]",
            "'dumb' is not a segment of mpan; use one of: smart",
        ),
    ],
    ids=["unknown-kind", "unknown-criterion", "bad-criterion-value"],
)
def test_data_draw(tmp_path: Path, draw: str, where: str, phrase: str) -> None:
    block = report(tmp_path, {X: scenario("{draw: mpan}", draw)})
    assert phrase in message_at(block, f"{X}:{where}")
    assert count_line(block) == "1 problem in 1 file"


# --------------------------------------------------------------------------- case ids


def test_duplicate_case_id_in_one_file(tmp_path: Path) -> None:
    twice = SCENARIO + SCENARIO[SCENARIO.index("  - id: TC-1") :]
    block = report(tmp_path, {X: twice})
    message = message_at(block, f"{X}:24:9 [cases[1].id]")
    assert "case id 'TC-1' is used twice in this file (also on line 7)" in message


def test_duplicate_case_id_across_files(tmp_path: Path) -> None:
    other = scenario("scenario: SC-1", "scenario: SC-2")
    block = report(tmp_path, {X: None, "test_themes/a.yaml": SCENARIO, "test_themes/b.yaml": other})
    message = message_at(block, "test_themes/b.yaml:7:5 [cases[0].id]")
    assert "case id 'TC-1' is also defined at test_themes/a.yaml:7" in message
    assert count_line(block) == "1 problem in 1 file"


def test_duplicate_case_id_across_files_points_at_the_id(tmp_path: Path) -> None:
    other = edit(
        scenario("scenario: SC-1", "scenario: SC-2"),
        "  - id: TC-1\n    title: one case\n",
        "  - title: one case\n    id: TC-1\n",
    )
    block = report(tmp_path, {X: None, "test_themes/a.yaml": SCENARIO, "test_themes/b.yaml": other})
    assert "is also defined at test_themes/a.yaml:7" in message_at(block, "test_themes/b.yaml:8:5 [cases[0].id]")


# --------------------------------------------------------------------------- values that crash


@pytest.mark.parametrize(
    ("old", "new", "where", "phrase"),
    [
        ("roles: [SUP, REGS]", "roles: 5", "5:8 [roles]", "expected a list"),
        ("theme: 1\n", "theme: 1\ntags: 5\n", "5:7 [tags]", "expected a list"),
        (
            "    title: one case\n",
            "    title: one case\n    tags: 5\n",
            "9:11 [cases[0].tags]",
            "expected a list",
        ),
        (
            "    title: one case\n",
            "    title: one case\n    requirements: 5\n",
            "9:19 [cases[0].requirements]",
            "expected a list",
        ),
        ("{draw: mpan}", "{draw: [mpan]}", "10:20 [cases[0].data.mpan.draw]", "cannot draw"),
        (
            "        save: {ref",
            "          response: [400]\n        save: {ref",
            "17:21 [cases[0].steps[0].send.response]",
            "expected a mapping",
        ),
        (
            "      - expect:",
            "      - http: {url: /x, expect: [200]}\n      - expect:",
            "18:33 [cases[0].steps[1].http.expect]",
            "expected a mapping",
        ),
    ],
    ids=[
        "roles-number",
        "tags-number",
        "case-tags-number",
        "case-requirements-number",
        "draw-list",
        "send-response-list",
        "http-expect-list",
    ],
)
def test_wrongly_typed_value_is_a_problem_not_a_crash(
    tmp_path: Path, old: str, new: str, where: str, phrase: str
) -> None:
    block = report(tmp_path, {X: scenario(old, new)})
    assert phrase in message_at(block, f"{X}:{where}")


# --------------------------------------------------------------------------- cohorts


@pytest.mark.parametrize(
    ("old", "new", "where", "phrase"),
    [
        (
            "mpid: SUPA",
            "mpid: abcd",
            "3:16 [participants.SUP.mpid]",
            "'abcd' does not have the required form",
        ),
        (
            '"2300000101"',
            '"230000010"',
            "3:30 [participants.SUP.dip_id]",
            "'230000010' does not have",
        ),
        (
            "simulated: [REGS]",
            "simulated: [REGS, SDS]",
            "5:19 [simulated[1]]",
            "role 'SDS' is simulated but has no participant",
        ),
    ],
    ids=["bad-mpid", "dip-id-length", "simulated-without-participant"],
)
def test_cohort_file(tmp_path: Path, old: str, new: str, where: str, phrase: str) -> None:
    block = report(tmp_path, {C1: edit(COHORT, old, new)})
    assert phrase in message_at(block, f"{C1}:{where}")
    assert count_line(block) == "1 problem in 1 file"


def test_same_dip_id_with_two_roles_across_cohorts(tmp_path: Path) -> None:
    c2 = edit(edit(COHORT, "cohort: C1", "cohort: C2"), '"2300000101"', '"2300000202"')
    c2 = edit(c2, '"2200000101"', '"2300000101"')  # C2's REGS has C1's SUP DIP ID
    block = report(tmp_path, {"cohorts/C2.yaml": c2})
    message = message_at(block, "cohorts/C2.yaml:4:30 [participants.REGS.dip_id]")
    assert "DIP ID 2300000101 is already SUP in cohort C1" in message
    assert count_line(block) == "1 problem in 1 file"


def test_a_dip_id_one_cohort_simulates_cannot_be_played_in_another(tmp_path: Path) -> None:
    c2 = edit(edit(COHORT, "cohort: C1", "cohort: C2"), '"2300000101"', '"2300000202"')
    c2 = edit(c2, "simulated: [REGS]", "simulated: []")  # C2 plays the REGS C1 simulates (same DIP ID)
    block = report(tmp_path, {"cohorts/C2.yaml": c2})
    message = message_at(block, "cohorts/C2.yaml:4:30 [participants.REGS.dip_id]")
    assert "DIP ID 2200000101 is simulated in cohort C1" in message and "plays REGS" in message
    assert count_line(block) == "1 problem in 1 file"


# --------------------------------------------------------------------------- environments


def test_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    block = report(tmp_path, {REMOTE: REMOTE_ENVIRONMENT}, env="sit-c")
    assert block.splitlines()[0].startswith("environments: environment 'sit-c' not found (known: local, remote)")


def test_unset_environment_variable_is_named(tmp_path: Path) -> None:
    project(tmp_path, {REMOTE: REMOTE_ENVIRONMENT})
    assert check(tmp_path, env="remote", environ={"MHHS_TEST_WEBHOOK_URL": "https://me"}) == []
    block = render_problems(check(tmp_path, env="remote", environ={}))
    message = message_at(block, f"{REMOTE}:6:15 [webhook.public_url]")
    assert "environment variable MHHS_TEST_WEBHOOK_URL is not set" in message
    assert count_line(block) == "1 problem in 1 file"


def test_unset_variable_in_dip_url_is_reported_once(tmp_path: Path) -> None:
    remote = edit(REMOTE_ENVIRONMENT, "https://dip.example", "${MHHS_TEST_DIP_URL}")
    block = report(tmp_path, {REMOTE: remote}, env="remote", environ={"MHHS_TEST_WEBHOOK_URL": "x"})
    assert "MHHS_TEST_DIP_URL is not set" in message_at(block, f"{REMOTE}:4:10 [dip_url]")


def test_stubs_none_without_dip_url(tmp_path: Path) -> None:
    remote = edit(REMOTE_ENVIRONMENT, "dip_url: https://dip.example\n", "")
    block = report(tmp_path, {REMOTE: remote}, env="remote", environ={"MHHS_TEST_WEBHOOK_URL": "x"})
    assert "'dip_url' is required when 'stubs: none'" in message_at(block, f"{REMOTE}:1:1")


# --------------------------------------------------------------------------- mhhs-sit validate


def test_validate_reports_every_problem_of_every_file_sorted(tmp_path: Path, validate) -> None:
    project(
        tmp_path,
        {
            C1: edit(COHORT, "mpid: SUPA", "mpid: abcd"),
            LOCAL: edit(ENVIRONMENT, "stubs: embedded", "stubs: embeded"),
            X: edit(
                scenario("stage: sit-functional", "stage: sit-funtional"),
                "      - send:",
                "      - sendd:",
            ),
            "test_themes/y.yaml": edit(
                scenario("scenario: SC-1", "scenario: SC-2"),
                "roles: [SUP, REGS]",
                "roles: [SUP, REGS",
            ),
        },
    )
    rc, out = validate()
    assert rc == 1
    lines = out.splitlines()
    assert [line.split(": ", 1)[0] for line in lines[:-1]] == [
        f"{C1}:3:16 [participants.SUP.mpid]",
        f"{LOCAL}:3:8 [stubs]",
        f"{X}:3:8 [stage]",
        f"{X}:12:9 [cases[0].steps[0].sendd]",
        "test_themes/y.yaml:6:6",
    ]
    assert "did you mean 'embedded'?" in lines[1] and "YAML syntax" in lines[4]
    assert lines[-1] == "5 problems in 4 files"


def test_validate_on_the_repository_content_is_clean(tmp_path: Path, validate) -> None:
    for name in ("test_themes", "cohorts", "environments"):
        shutil.copytree(REPO / name, tmp_path / name)
    rc, out = validate()
    assert rc == 0, out
    assert out.startswith("OK: ")


def test_validate_named_paths_only(tmp_path: Path, validate) -> None:
    project(tmp_path, {"test_themes/y.yaml": scenario("theme: 1", "theme: [1")})
    rc, out = validate(X)
    assert rc == 0, out
    assert out.startswith("OK: 1 scenarios, 1 cases")
    rc, out = validate("test_themes/y.yaml", "nope.yaml")
    assert rc == 1
    assert out.splitlines()[0] == "nope.yaml: no such file or directory"
    assert out.splitlines()[1].startswith("test_themes/y.yaml:5:6: YAML syntax")


def test_validate_never_shows_a_traceback(tmp_path: Path, validate) -> None:
    project(tmp_path, {X: scenario("theme: 1\n", "theme: 1\ntags: 5\n")})
    rc, out = validate()
    assert rc == 1 and f"{X}:5:7 [tags]: expected a list" in out


def test_validate_checks_every_environment_file(tmp_path: Path, validate) -> None:
    project(tmp_path, {REMOTE: edit(REMOTE_ENVIRONMENT, "stubs: none", "stubs: nope")})
    rc, out = validate()
    assert rc == 1 and f"{REMOTE}:3:8 [stubs]" in out


# --------------------------------------------------------------------------- under pytest


def collect(pytester: pytest.Pytester, files: dict[str, str | None] | None = None) -> pytest.RunResult:
    project(pytester.path, files)
    (pytester.path / "pytest.ini").write_text(f"[pytest]\naddopts = {FAST}\n")
    return pytester.runpytest("--collect-only", "-q")


def test_pytest_collects_the_minimal_project(pytester: pytest.Pytester) -> None:
    result = collect(pytester)
    assert result.ret == pytest.ExitCode.OK
    assert f"{X}::TC-1[C1]" in result.outlines


def test_pytest_collection_error_is_the_problem_lines(pytester: pytest.Pytester) -> None:
    broken = edit(scenario("stage: sit-functional", "stage: sit-funtional"), "      - send:", "      - sendd:")
    result = collect(pytester, {X: broken})
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=0)  # not pytest's error: a definition error, as the reports say
    assert "1 definition error" in result.stdout.str()
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            f"{X}:3:8 [[]stage[]]: 'sit-funtional' is not allowed here (did you mean 'sit-functional'?)*",
            f"{X}:12:9 [[]cases[[]0[]].steps[[]0[]].sendd[]]: unknown key 'sendd' in a step*",
            "2 problems in 1 file",
        ]
    )
    assert_no_traceback(output)


def test_pytest_yaml_syntax_error(pytester: pytest.Pytester) -> None:
    result = collect(pytester, {X: scenario("    title: one case", "     title: one case")})
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([f"{X}:8:11: YAML syntax: *", "1 problem in 1 file"])
    assert_no_traceback(result.stdout.str())


def test_pytest_duplicate_case_id_across_files(pytester: pytest.Pytester) -> None:
    other = scenario("scenario: SC-1", "scenario: SC-2")
    result = collect(pytester, {X: None, "test_themes/a.yaml": SCENARIO, "test_themes/b.yaml": other})
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["test_themes/b.yaml:7:5 [[]cases[[]0[]].id[]]: case id 'TC-1' is also defined at test_themes/a.yaml:7*"]
    )
    assert "test_themes/a.yaml::TC-1[C1]" in result.outlines
    assert_no_traceback(result.stdout.str())


def test_pytest_reports_scenario_problems_even_when_a_cohort_is_broken(
    pytester: pytest.Pytester,
) -> None:
    result = collect(
        pytester,
        {
            C1: edit(COHORT, "mpid: SUPA", "mpid: abcd"),
            X: scenario("stage: sit-functional", "stage: sit-funtional"),
        },
    )
    output = result.stdout.str()
    assert f"{C1}:3:16 [participants.SUP.mpid]" in output
    assert f"{X}:3:8 [stage]" in output


def test_pytest_never_shows_a_traceback(pytester: pytest.Pytester) -> None:
    result = collect(pytester, {X: scenario("theme: 1\n", "theme: 1\ntags: 5\n")})
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert_no_traceback(result.stdout.str())


def test_delivery_retries_are_read_and_checked(tmp_path: Path) -> None:
    good = ENVIRONMENT + "delivery: {attempts: 3, backoff: 20ms, factor: 1.5, max_backoff: 1s, timeout: 2s}\n"
    project(tmp_path, {LOCAL: good})
    env, problems = load_environment("local", tmp_path / "environments", tmp_path, environ={})
    assert problems == [] and env is not None
    assert env.delivery == {"attempts": 3, "backoff": 0.02, "factor": 1.5, "max_backoff": 1.0, "timeout": 2.0}
    bad = ENVIRONMENT + "delivery: {attempts: 0, backof: 1s}\n"
    block = report(tmp_path, {LOCAL: bad})
    assert "[delivery.attempts]" in block and "[delivery.backof]" in block
