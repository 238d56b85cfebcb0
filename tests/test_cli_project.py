"""The commands read the project as pytest does: the same mhhs_* ini settings, from the same files."""

import shutil
from pathlib import Path

import pytest

from mhhs_sit.cli.app import build_parser, main, pytest_args, split_pytest_args
from mhhs_sit.project import Project, find_ini
from tests.helpers import FIXTURES, appointment_scenario, write


def moved_project(dest: Path) -> Path:
    """A project whose definitions are not where the defaults look: parties/, places/, cases/."""
    shutil.copytree(FIXTURES / "cohorts", dest / "parties")
    shutil.copytree(FIXTURES / "environments", dest / "places")
    write(dest, "cases/one.yaml", appointment_scenario("T-01-903", roles="[SUP, SDS]"))
    return dest


@pytest.fixture
def moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return moved_project(tmp_path)


SETTINGS = "mhhs_cohorts = parties\nmhhs_environments = places\nmhhs_scenarios = cases\nmhhs_env = local-mtls\n"


def test_validate_honours_the_ini_settings_of_pytest_ini(moved, capsys):
    (moved / "pytest.ini").write_text("[pytest]\n" + SETTINGS)
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 1 scenarios, 1 cases, 2 cohorts"), out
    assert "in environment 'local-mtls'" in out


def test_validate_without_the_settings_looks_in_the_default_places(moved, capsys):
    assert main(["validate"]) == 1
    assert "no such file or directory" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "pyproject.toml",
            '[tool.pytest.ini_options]\nmhhs_cohorts = "parties"\nmhhs_environments = "places"\n'
            'mhhs_scenarios = ["cases"]\nmhhs_env = "local-mtls"\n',
        ),
        ("tox.ini", "[pytest]\n" + SETTINGS),
        ("setup.cfg", "[tool:pytest]\n" + SETTINGS),
    ],
)
def test_validate_reads_every_file_pytest_reads(moved, capsys, name, text):
    (moved / name).write_text(text)
    assert main(["validate"]) == 0
    assert "in environment 'local-mtls'" in capsys.readouterr().out


def test_the_files_are_read_in_pytests_order_and_options_win(moved, capsys):
    (moved / "pyproject.toml").write_text('[tool.pytest.ini_options]\nmhhs_env = "sit-a"\n')
    (moved / "pytest.ini").write_text("[pytest]\n" + SETTINGS)  # pytest.ini first, even beside pyproject
    assert main(["validate"]) == 0
    assert "in environment 'local-mtls'" in capsys.readouterr().out
    assert main(["validate", "--env", "local"]) == 0
    assert "in environment 'local'" in capsys.readouterr().out


def test_a_pyproject_without_pytest_settings_is_passed_over(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nmhhs_env = sit-b\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    root, settings = find_ini(tmp_path / "sub")
    assert root == tmp_path.resolve() and settings == {"mhhs_env": "sit-b"}


def test_a_subdirectory_belongs_to_the_project_above_it(moved, monkeypatch, capsys):
    (moved / "pytest.ini").write_text("[pytest]\n" + SETTINGS)
    monkeypatch.chdir(moved / "cases")
    assert main(["validate"]) == 0
    assert "in environment 'local-mtls'" in capsys.readouterr().out


def test_run_leaves_the_environment_and_paths_to_the_ini_settings(moved, tmp_path):
    (moved / "pytest.ini").write_text("[pytest]\n" + SETTINGS)
    args = build_parser().parse_args(["run", "--cohort", "C1", "--seed", "3"])
    argv = pytest_args(args, Project.discover(), tmp_path / "out")
    assert argv[0] == "cases" and "--mhhs-env" not in argv
    assert argv[argv.index("--cohort") + 1] == "C1" and argv[argv.index("--mhhs-seed") + 1] == "3"


def test_run_options_may_follow_the_paths_and_only_what_follows_dashes_goes_to_pytest(moved, tmp_path):
    own, extra = split_pytest_args(["run", "cases/x.yaml", "--out", "o", "--no-report", "--", "-x", "--lf"])
    args = build_parser().parse_args(own)
    assert args.paths == ["cases/x.yaml"] and args.out == "o" and args.report is False
    assert extra == ["-x", "--lf"]
    argv = pytest_args(args, Project.discover(), tmp_path / "out")
    assert argv[0] == "cases/x.yaml" and "--out" not in argv


def test_a_command_that_runs_no_pytest_refuses_pytest_arguments(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["validate", "--", "-x"])
    assert exited.value.code == 2
    assert "'mhhs-sit validate' passes nothing to pytest: remove '-- -x'" in capsys.readouterr().err


def test_requirements_check_reads_the_catalogue_the_ini_names(moved, capsys):
    write(moved, "reqs/catalogue.csv", "id,title,priority\nBP003,x,1\n")
    (moved / "pytest.ini").write_text("[pytest]\nmhhs_requirements = reqs\n")
    assert main(["requirements", "check"]) == 0
    assert "OK: 1 requirements in reqs" in capsys.readouterr().out


def test_the_plugin_and_validate_agree_on_setup_cfg(pytester, capsys):
    moved_project(pytester.path)
    (pytester.path / "setup.cfg").write_text("[tool:pytest]\n" + SETTINGS + "addopts = -p no:faker -p no:anyio\n")
    assert main(["validate"]) == 0
    assert "1 cases, 2 cohorts" in capsys.readouterr().out
    result = pytester.runpytest("--collect-only", "-q", "--cohort", "C1")
    assert [line for line in result.outlines if "::" in line] == ["cases/one.yaml::T-01-903-TC01[C1]"]


def test_options_given_on_the_command_line_are_relative_to_the_working_directory(moved, monkeypatch, capsys):
    (moved / "pytest.ini").write_text("[pytest]\n" + SETTINGS)
    monkeypatch.chdir(moved / "cases")
    assert main(["validate", "--cohorts", "../parties", "one.yaml"]) == 0
    assert "2 cohorts" in capsys.readouterr().out
