"""Collection and selection, driven from outside exactly as a user runs pytest."""

import pytest

from tests.helpers import copy_project


@pytest.fixture
def project(pytester):
    return copy_project(pytester.path)


def collected(result):
    return [line.strip() for line in result.outlines if "::" in line]


def test_stable_ids_for_theme_and_cohort(pytester, project):
    result = pytester.runpytest("--collect-only", "-q", "--theme", "1", "--cohort", "C1")
    ids = collected(result)
    assert ids == [
        f"test_themes/theme_01_dip_messaging/SITFT-01-001.yaml::SITFT-01-001-TC0{n}[C1]" for n in range(1, 5)
    ]
    assert any("deselected" in line for line in result.outlines)


def test_one_item_per_case_and_eligible_cohort(pytester, project):
    ids = collected(pytester.runpytest("--collect-only", "-q"))
    assert "test_themes/theme_01_dip_messaging/SITFT-01-001.yaml::SITFT-01-001-TC01[C2]" in ids
    # TC04 acts as the SDS: only C2 (which does not simulate its SDS) can run it
    tc04 = [i for i in ids if "SITFT-03-001-TC04" in i]
    assert tc04 == ["test_themes/theme_03_service_appointment/SITFT-03-001.yaml::SITFT-03-001-TC04[C2]"]
    # C2's SDS is neither simulated nor played by TC01 in the local environment
    assert not [i for i in ids if "SITFT-03-001-TC01[C2]" in i]


def test_an_http_step_signed_as_a_role_drives_it(pytester, project):
    """``http`` with ``as:`` signs as that participant: the case plays the role, as ``send as:`` does."""
    step = "      - http: {{as: {role}, url: /_sim/service-desk/incidents}}\n"
    (project / "test_themes" / "h.yaml").write_text(
        "scenario: H-1\ntitle: t\nstage: sit-operational\ntheme: 1\nroles: [SUP, SDS]\ncases:\n"
        "  - id: H-1-TC01\n    title: the supplier only\n    steps:\n" + step.format(role="SUP")
        + "  - id: H-1-TC02\n    title: both\n    steps:\n" + step.format(role="SUP") + step.format(role="SDS")
    )  # fmt: skip
    ids = collected(pytester.runpytest("--collect-only", "-q", "test_themes/h.yaml"))
    # C1 simulates its SDS (so TC02, acting as it, cannot run there); C2 does not (so TC01 leaves it unplayed)
    assert ids == ["test_themes/h.yaml::H-1-TC01[C1]", "test_themes/h.yaml::H-1-TC02[C2]"]


def test_tags_are_markers_and_k_matches_ids(pytester, project):
    smoke = collected(pytester.runpytest("--collect-only", "-q", "-m", "appointment"))
    assert smoke and {i.split("::")[1][:9] for i in smoke} == {"SITFT-03-", "SITFT-04-"}  # tagged appointment
    by_k = collected(pytester.runpytest("--collect-only", "-q", "-k", "TC02 and C2"))
    assert by_k == ["test_themes/theme_01_dip_messaging/SITFT-01-001.yaml::SITFT-01-001-TC02[C2]"]
    strict = pytester.runpytest("--collect-only", "-q", "--strict-markers", "-m", "smoke")
    assert strict.ret == 0


def test_stage_filter_and_unknown_cohort(pytester, project):
    assert collected(pytester.runpytest("--collect-only", "-q", "--stage", "sit-migration")) == []
    result = pytester.runpytest("--collect-only", "-q", "--cohort", "C9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # refused before collection, not an error per file
    result.stderr.fnmatch_lines(["ERROR: --cohort: unknown cohort 'C9'; cohorts are C1, C2"])


def test_a_case_without_eligible_cohort_is_visible_as_skipped(pytester, project):
    (project / "test_themes" / "x.yaml").write_text(
        "scenario: X-1\ntitle: t\nstage: sit-functional\ntheme: 2\nroles: [SUP, ADS]\n"
        "cases:\n  - id: X-1-TC01\n    title: t\n    steps:\n      - wait: 0s\n"
    )
    result = pytester.runpytest("-q", "-rs", "test_themes/x.yaml")
    result.stdout.fnmatch_lines(["*no eligible cohort (C1: cohort C1 has no ADS; C2: cohort C2 has no ADS)*"])
    result.assert_outcomes(skipped=1)


def test_header_names_environment_cohorts_and_seed(pytester, project):
    result = pytester.runpytest("--collect-only", "-q", "--mhhs-seed", "7", "-p", "no:randomly")
    assert result.ret == 0
    result = pytester.runpytest("--collect-only", "--mhhs-seed", "7")
    result.stdout.fnmatch_lines(
        ["mhhs-sit *: environment local (tag DEV, IR IR8.2, stubs embedded), cohorts C1, C2, run r*, data seed 7"]
    )


def test_without_scenarios_the_plugin_stays_out_of_the_way(pytester):
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1)


def test_qualification_scenarios_run_only_when_their_stage_is_asked_for(pytester):
    from tests.helpers import appointment_scenario, copy_project, write

    copy_project(pytester.path, themes=False)
    write(pytester.path, "test_themes/f.yaml", appointment_scenario("T-30-001"))
    write(
        pytester.path,
        "test_themes/q.yaml",
        appointment_scenario("QT-30-001").replace("stage: sit-functional", "stage: qualification"),
    )
    default = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only", "-q")
    assert "T-30-001-TC01" in default.stdout.str() and "QT-30-001" not in default.stdout.str()
    asked = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only", "-q", "--stage", "qualification")
    assert "QT-30-001-TC01" in asked.stdout.str() and "f.yaml" not in asked.stdout.str()


def _smoke_environment(project, selection: str) -> None:
    base = (project / "environments" / "local.yaml").read_text().replace("environment: local", "environment: smoke")
    (project / "environments" / "smoke.yaml").write_text(base + "selection:\n" + selection)


def test_an_environment_selection_takes_its_tags_in_one_cohort_each_spread_over_cohorts(pytester, project):
    cases = "".join(f"  - id: Q-1-TC0{n}\n    title: t\n    steps:\n      - wait: 0s\n" for n in range(1, 5))
    (project / "test_themes" / "q.yaml").write_text(
        f"scenario: Q-1\ntitle: t\nstage: sit-functional\ntheme: 2\ntags: [quick]\nroles: [REGS]\ncases:\n{cases}"
    )
    _smoke_environment(project, "  tags: [quick]\n  cohorts_per_case: 1\n")
    everything = collected(pytester.runpytest("--collect-only", "-q", "-m", "quick"))
    ids = collected(pytester.runpytest("--collect-only", "-q", "--mhhs-env", "smoke"))
    cases = {i.split("::")[1].split("[")[0] for i in everything}
    assert {i.split("::")[1].split("[")[0] for i in ids} == cases  # every tagged case, nothing else
    assert len(ids) == len(cases) < len(everything)  # each in one cohort
    assert {i.split("[")[1] for i in ids} == {"C1]", "C2]"}  # spread: both cohorts take part
    # the command line narrows the environment's selection further
    narrowed = collected(pytester.runpytest("--collect-only", "-q", "--mhhs-env", "smoke", "--cohort", "C2"))
    assert len(narrowed) == 4 and all(i.endswith("[C2]") for i in narrowed)  # narrowed, then spread


def test_an_environment_selection_names_the_stages_it_runs(pytester, project):
    _smoke_environment(project, "  stages: [sit-migration]\n")
    assert collected(pytester.runpytest("--collect-only", "-q", "--mhhs-env", "smoke")) == []
    _smoke_environment(project, "  stages: [sitfunctional]\n")
    result = pytester.runpytest("--collect-only", "-q", "--mhhs-env", "smoke")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*smoke.yaml*selection.stages*"])


def test_a_scenario_since_a_later_version_is_left_out_naming_it_and_checked_against_it(pytester, project):
    text = (project / "test_themes" / "theme_03_service_appointment" / "SITFT-03-001.yaml").read_text()
    newer = text.replace("scenario: SITFT-03-001", "scenario: SITFT-03-901\nsince: 2.1.0").replace(
        "SITFT-03-001-TC", "SITFT-03-901-TC"
    )
    (project / "test_themes" / "later.yaml").write_text(newer)
    result = pytester.runpytest("test_themes/later.yaml")  # the local environment is IR8.2
    left_out = "mhhs-sit: left out 4 case item(s) of scenarios marked since: 2.1.0 (this run checks against 1.8.2;"
    result.stdout.fnmatch_lines([f"{left_out} --ir 2.1.0 runs them)"])
    assert result.parseoutcomes().get("deselected") == 4 and "passed" not in result.parseoutcomes()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert len(collected(pytester.runpytest("--collect-only", "-q", "--ir", "2.1.0", "test_themes/later.yaml"))) == 4
    # its messages are checked against 2.1.0, not the run's 1.8.2, which has no IF-051
    interface_of_2_1 = (
        "scenario: E-02-001\ntitle: t\nstage: sit-functional\ntheme: 2\nsince: '{since}'\nroles: [EES]\ncases:\n"
        "  - id: E-02-001-TC01\n    title: t\n    steps:\n      - expect: {{at: EES, interface: IF-051}}\n"
    )
    (project / "test_themes" / "later.yaml").write_text(interface_of_2_1.format(since="2.1.0"))
    assert "error" not in pytester.runpytest("-q", "test_themes/later.yaml").stdout.str().lower()
    (project / "test_themes" / "later.yaml").write_text(interface_of_2_1.format(since="IR8.2"))
    result = pytester.runpytest("-q", "test_themes/later.yaml")
    result.stdout.fnmatch_lines(["*IF-051 does not exist in spec version 1.8.2*"])
    (project / "test_themes" / "later.yaml").write_text(newer.replace("since: 2.1.0", "since: 9.9"))
    result = pytester.runpytest("-q", "test_themes/later.yaml")
    result.stdout.fnmatch_lines(["*later.yaml:*[[]since[]]: unknown catalogue version '9.9'*"])
