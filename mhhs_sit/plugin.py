"""pytest hooks and options of mhhs-sit; the work itself lives in the modules they call."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mhhs_sit import __version__
from mhhs_sit.collection.items import STATE_KEY, CaseItem, ScenarioFile, state_of
from mhhs_sit.collection.recorder import ResultsRecorder
from mhhs_sit.collection.session import SessionState
from mhhs_sit.definitions.loader import DEFAULT_CACHE_DIR, is_scenario_file
from mhhs_sit.results.outcome import Status, classify
from mhhs_sit.results.run import BROKEN, CASE_RUN
from mhhs_sit.store import DEFAULT_STORE
from mhhs_sit.store import ENV_VAR as STORE_ENV_VAR


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mhhs-sit", "MHHS SIT scenarios")
    group.addoption(
        "--mhhs-env",
        dest="mhhs_env",
        metavar="NAME",
        help="environment to run against: a name in environments/ (local, sit-a, sit-b) "
        "or a path to a YAML file [ini: mhhs_env, default local]",
    )
    group.addoption(
        "--stage",
        dest="mhhs_stage",
        action="append",
        metavar="STAGE",
        help="run only scenarios of these stages, e.g. sit-functional (repeatable, comma-separated)",
    )
    group.addoption(
        "--theme",
        dest="mhhs_theme",
        action="append",
        metavar="THEME",
        help="run only scenarios of these themes, e.g. 1 or 1,3 (repeatable)",
    )
    group.addoption(
        "--cohort",
        dest="mhhs_cohort",
        action="append",
        metavar="COHORT",
        help="run only for these cohorts, e.g. C1 (repeatable, comma-separated)",
    )
    group.addoption(
        "--ir",
        dest="mhhs_ir",
        metavar="VERSION",
        help="interface spec version (interim release such as IR8.2, or DIP spec version "
        "such as 2.1.0); overrides the environment's ir:",
    )
    group.addoption(
        "--dip-spec",
        dest="mhhs_dip_spec",
        metavar="PATH",
        help="validate messages against an official DIP OpenAPI spec (the directory of Elexon's "
        "unresolved YAML files) instead of the project's catalogue [ini: mhhs_dip_spec]",
    )
    group.addoption(
        "--mhhs-redact-personal",
        dest="mhhs_redact_personal",
        action="store_true",
        help="mask personal-data fields (addresses, postcodes, meter serials; ini: mhhs_personal_fields) "
        "in evidence, for evidence that leaves the team",
    )
    group.addoption(
        "--mhhs-clean-alluredir",
        dest="mhhs_clean_alluredir",
        action="store_true",
        help="empty --alluredir before the run, in the controller only (allure's own --clean-alluredir "
        "loses results under xdist when a worker restarts)",
    )
    group.addoption(
        "--mhhs-seed",
        dest="mhhs_seed",
        type=int,
        metavar="N",
        help="seed for synthetic test data (default: random, printed in the header)",
    )
    group.addoption(
        "--mhhs-results",
        dest="mhhs_results",
        metavar="FILE",
        help="write a JSON summary of every case (status, steps, exchanges) to FILE",
    )
    group.addoption(
        "--cycle",
        dest="mhhs_cycle",
        metavar="NAME",
        help="the test cycle this run belongs to (e.g. C2); the store and the RTTM combine its runs",
    )
    group.addoption("--sprint", dest="mhhs_sprint", metavar="NAME", help="the sprint label of this run (e.g. 4)")
    group.addoption(
        "--rerun",
        dest="mhhs_rerun",
        action="append",
        metavar="STATUS",
        help="run only the cases whose latest status in --cycle is one of: failed, broken, not-run, skipped "
        "(repeatable, comma-separated); a case the cycle never ran counts as not-run",
    )
    group.addoption(
        "--mhhs-store",
        dest="mhhs_store",
        metavar="PATH|URL",
        help="results store: a SQLite file or a postgresql:// URL ('none': no store) "
        f"[env {STORE_ENV_VAR}, ini: mhhs_store, default {DEFAULT_STORE}]",
    )
    parser.addini("mhhs_env", "default environment name", default="local")
    parser.addini("mhhs_store", "results store: SQLite file or postgresql:// URL ('none')", default=DEFAULT_STORE)
    parser.addini("mhhs_dip_spec", "official DIP spec to validate messages against", default="")
    parser.addini("mhhs_personal_fields", "field names masked by --mhhs-redact-personal", type="args", default=[])
    parser.addini("mhhs_cohorts", "directory of cohort files", default="cohorts")
    parser.addini("mhhs_requirements", "requirements catalogue (directory or file)", default="test_data/requirements")
    parser.addini("mhhs_environments", "directory of environment files", default="environments")
    parser.addini("mhhs_cache", "directory for parsed scenario files (empty: no disk cache)", default=DEFAULT_CACHE_DIR)
    parser.addini("mhhs_scenarios", "directories whose YAML files are scenarios", type="args", default=["test_themes"])


def pytest_configure(config: pytest.Config) -> None:
    args = list(config.invocation_params.args)
    if "--dip-spec" in args and args.index("--dip-spec") + 1 < len(args):
        # pytest picks its root directory before plugins add options, so the separate path is
        # taken for a test path and the project's pytest.ini may never be read.
        spec = args[args.index("--dip-spec") + 1]
        raise pytest.UsageError(f"write --dip-spec={spec} (with '='), so pytest does not take {spec} for a test path")
    state = SessionState.create(config)
    config.stash[STATE_KEY] = state
    _prepare_rerun(config, state)
    if not hasattr(config, "workerinput"):  # reports are gathered where they are shown
        config.pluginmanager.register(ResultsRecorder(config, state), "mhhs-results")
        alluredir = config.getoption("allure_report_dir", None)
        if alluredir and config.getoption("mhhs_clean_alluredir"):
            shutil.rmtree(alluredir, ignore_errors=True)
    config.addinivalue_line("markers", "mhhs: an mhhs-sit scenario case")


def _prepare_rerun(config: pytest.Config, state: SessionState) -> None:
    """Which cases ``--rerun`` selects, decided once by the controller and handed to workers."""
    values = config.getoption("mhhs_rerun", None)
    if not values:
        return
    from mhhs_sit.collection.recorder import store_spec
    from mhhs_sit.errors import MhhsSitError
    from mhhs_sit.store.rerun import cycle_statuses, parse_rerun

    try:
        state.rerun = parse_rerun(values)
    except MhhsSitError as exc:
        raise pytest.UsageError(str(exc)) from None
    winput = getattr(config, "workerinput", None)
    if winput is not None:
        state.rerun_latest = dict(winput["mhhs_rerun_latest"])
        return
    cycle, spec = config.getoption("mhhs_cycle", None), store_spec(config)
    if not cycle:
        raise pytest.UsageError("--rerun needs --cycle NAME: the cycle whose latest results decide what to re-run")
    if spec is None:
        raise pytest.UsageError("--rerun needs a results store (--mhhs-store is 'none')")
    try:
        state.rerun_latest = cycle_statuses(spec, Path(config.rootpath), cycle, exclude_run=state.run_id)
    except MhhsSitError as exc:
        raise pytest.UsageError(str(exc)) from None


def _rerun_selects(state: SessionState, item: pytest.Item) -> bool:
    if not isinstance(item, CaseItem) or state.rerun_latest is None:
        return False
    return state.rerun_latest.get(f"{item.case.id}[{item.cohort_id}]", "not run") in state.rerun


def pytest_unconfigure(config: pytest.Config) -> None:
    if STATE_KEY in config.stash:
        state_of(config).close()


def _scenario_roots(config: pytest.Config) -> list[Path]:
    return [(Path(config.rootpath) / d).resolve() for d in config.getini("mhhs_scenarios")]


def _scenario_places(config: pytest.Config) -> tuple[tuple[Path, ...], frozenset[Path]]:
    """Scenario directories and files named on the command line, resolved once per session."""
    state = state_of(config)
    if state.scenario_places is None:
        named = frozenset(Path(a.split("::")[0]).resolve() for a in config.args)
        state.scenario_places = (tuple(_scenario_roots(config)), named)
    return state.scenario_places


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not is_scenario_file(file_path):
        return None
    roots, named = _scenario_places(parent.config)
    resolved = file_path.resolve()
    if resolved in named or any(resolved.is_relative_to(root) for root in roots):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = state_of(config)
    sel = state.selection
    rerun = state.rerun_latest is not None
    if not (sel.stages or sel.themes or sel.cohorts or rerun):
        return
    keep, drop = [], []
    for item in items:
        if not isinstance(item, CaseItem):
            (drop if rerun else keep).append(item)  # a re-run is of cases only
        elif (
            (not sel.stages or item.scenario.stage in sel.stages)
            and (not sel.themes or item.scenario.theme in sel.themes)
            and (not sel.cohorts or item.cohort_id in sel.cohorts)
            and (not rerun or _rerun_selects(state, item))
        ):
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = state_of(config)
    roots = _scenario_roots(config)
    if not any(r.is_dir() for r in roots):
        return None
    state.load()
    env = state.environment
    env_text = f"{env.name} (tag {env.environment_tag}, IR {env.ir or 'unset'}, stubs {env.stubs})" if env else "?"
    lines = [
        f"mhhs-sit {__version__}: environment {env_text}, cohorts {', '.join(sorted(state.cohorts)) or 'none'}, "
        f"run {state.run_id}, data seed {state.seed}"
    ]
    cycle = config.getoption("mhhs_cycle", None)
    if cycle:
        sprint = config.getoption("mhhs_sprint", None)
        lines.append(f"cycle {cycle}" + (f", sprint {sprint}" if sprint else ""))
    if state.rerun_latest is not None:
        lines.append(
            f"re-running the cases whose latest status in cycle {cycle} is {' or '.join(sorted(state.rerun))} "
            f"({len(state.rerun_latest)} case × cohort results known)"
        )
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if isinstance(item, CaseItem):
        _allure_result(item, report, call)
    if isinstance(item, CaseItem) and call.when == "call":
        run: dict[str, Any] = item.run_summary()
        if call.excinfo is not None:
            exc = call.excinfo.value
            verdict = classify(exc)
            if verdict.status is Status.BROKEN:
                report.user_properties.append(BROKEN)
            run["category"] = verdict.category.value
            run["message"] = str(exc)[:2000]
        report.user_properties.append((CASE_RUN, json.dumps(run, default=str)))
    return report


def _allure_result(item: CaseItem, report: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
    state = state_of(item.config)
    if state.allure_dir is None or not (call.when == "call" or (call.when == "setup" and report.skipped)):
        return
    from mhhs_sit.evidence.allure_writer import write_case_result

    write_case_result(
        item,
        report,
        call.excinfo,
        state.allure_dir,
        writer=state.allure_writer,
        scrub=state.scrubber(),
        personal=state.personal_fields,
    )


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when == "call" and report.failed and BROKEN in report.user_properties:
        return "broken", "B", ("BROKEN", {"yellow": True})
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    broken = terminalreporter.stats.get("broken", [])
    if broken:
        terminalreporter.section("BROKEN (environment problems, not product defects)", yellow=True)
        for rep in broken:
            terminalreporter.write_sep("_", rep.head_line or rep.nodeid, yellow=True)
            terminalreporter.line(rep.longreprtext)
        terminalreporter.write_sep("-", "broken summary", yellow=True)
        for rep in broken:
            reason = _first_reason(rep.longreprtext)
            terminalreporter.line(f"BROKEN {rep.nodeid} - {reason}")


def _first_reason(text: str) -> str:
    """The first line that says why (the step's message), for the one-line summary."""
    lines = text.splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    if errors:  # a Python traceback: its last error line says what went wrong
        return errors[-1][:160]
    for line in lines[1:]:
        stripped = line.strip()
        if stripped and stripped[0] not in "✓✗!-?" and not stripped.startswith(("at ", "data:", "classified")):
            return stripped.removeprefix("before the first step: ")[:160]
    return lines[0][:160] if lines else ""


# -- evidence ----------------------------------------------------------------------------------


def pytest_sessionstart(session: pytest.Session) -> None:
    if session.config.getoption("allure_report_dir", None):
        from mhhs_sit.evidence.allure_results import speed_up_file_logger
        from mhhs_sit.evidence.allure_writer import ResultWriter, install

        speed_up_file_logger()
        state = state_of(session.config)
        state.allure_dir = install(session.config)
        state.allure_writer = ResultWriter()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if STATE_KEY in config.stash and state_of(config).allure_writer is not None:
        problems = state_of(config).allure_writer.close()  # every case's file lands before the run ends
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        for problem in problems:
            if terminal is not None:
                terminal.write_line(f"mhhs-sit: an Allure result was not written: {problem}", red=True)
        if problems:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
    alluredir = config.getoption("allure_report_dir", None)
    if not alluredir or hasattr(config, "workerinput") or STATE_KEY not in config.stash:
        return
    state = state_of(config)
    if state.environment is None:
        return
    from mhhs_sit.evidence.allure_results import write_run_files
    from mhhs_sit.results.run import git_commit

    env = state.environment
    write_run_files(
        Path(alluredir),
        {
            "environment": env.name,
            "environment.tag": env.environment_tag,
            "ir": env.ir,
            "spec.version": state.version,
            "dip.spec": state.dip_spec,
            "cohorts": ", ".join(sorted(state.cohorts)),
            "run.id": state.run_id,
            "data.seed": state.seed,
            "git.commit": git_commit(Path(config.rootpath)),
            "framework.version": __version__,
        },
    )


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: Any, sched: Any) -> None:
    """A dead worker writes no result: the controller writes a broken one with the case's identity."""
    from mhhs_sit.evidence.allure_results import crashed_result

    crashed_result(crashitem, str(getattr(report, "longrepr", "")))


# -- xdist ------------------------------------------------------------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from mhhs_sit.collection.scheduling import cohort_groups, make_scheduler

    state = state_of(config)
    state.load()
    return make_scheduler(config, log, cohort_groups(state.cohorts))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Hand every worker the run's identity and the one shared local simulator."""
    state = state_of(node.config)
    node.workerinput["mhhs_run_id"] = state.run_id
    node.workerinput["mhhs_seed"] = state.seed
    if state.rerun_latest is not None:
        node.workerinput["mhhs_rerun_latest"] = state.rerun_latest
    roots = _scenario_roots(node.config)
    if not any(r.is_dir() for r in roots):
        return
    try:
        stubs = state.ensure_stubs()
    except Exception as exc:  # reported by each case as broken, with the reason
        node.workerinput["mhhs_stub_error"] = str(exc)
        return
    if stubs is not None:
        node.workerinput["mhhs_dip_url"] = stubs.url
        node.workerinput["mhhs_api_keys"] = dict(stubs.api_keys)
        node.workerinput["mhhs_credentials_dir"] = stubs.credentials_dir
