"""pytest hooks of mhhs-sit; the work itself lives in the modules they call."""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path

import pytest

from mhhs_sit import __version__
from mhhs_sit.collection import frozen_heap, overlap, progress, shard_items, sharding
from mhhs_sit.collection.items import CaseItem, ScenarioFile
from mhhs_sit.collection.options import add_options, check_markers, check_values
from mhhs_sit.collection.recorder import ResultsRecorder
from mhhs_sit.collection.reporting import (
    broken_summary,
    header_lines,
    outcome_word,
    plural_words,
    selected_cohorts,
    unloaded_as_definition_errors,
)
from mhhs_sit.collection.rerun import with_rerun
from mhhs_sit.collection.selection import LEFT_OUT, deselect
from mhhs_sit.collection.session import STATE_KEY, SessionState, project_of, state_of
from mhhs_sit.collection.workers import WorkerNode
from mhhs_sit.definitions.scenario_files import is_scenario_file
from mhhs_sit.evidence import allure_plugin, junit_file
from mhhs_sit.evidence.allure_case import Masking
from mhhs_sit.execution.steps import STEP_KINDS
from mhhs_sit.results.outcome import Status, classify
from mhhs_sit.results.run import BROKEN, CASE_RUN, DEFINITION

_SHARD_PLAN = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    add_options(parser)
    allure_plugin.declare_options(parser, pluginmanager)
    frozen_heap.register(pluginmanager)


def pytest_configure(config: pytest.Config) -> None:
    args = list(config.invocation_params.args)
    if "--dip-spec" in args and args.index("--dip-spec") + 1 < len(args):
        # pytest picks its root directory before plugins add options, so the separate path is
        # taken for a test path and the project's pytest.ini may never be read.
        spec = args[args.index("--dip-spec") + 1]
        raise pytest.UsageError(f"write --dip-spec={spec} (with '='), so pytest does not take {spec} for a test path")
    check_values(config, project_of(config))  # a usage error stores and writes nothing
    state = SessionState.create(config)
    config.stash[STATE_KEY] = state
    state.selection = with_rerun(config, state.selection, state.project, state.run_id)
    if not hasattr(config, "workerinput"):  # reports are gathered where they are shown
        config.pluginmanager.register(ResultsRecorder(config, state), "mhhs-results")
    allure_plugin.register(config, lambda: Masking(state.scrubber(), state.personal_fields), lambda: _run_facts(state))
    junit_file.register(config)
    sharding.requested(config)  # a bad --mhhs-shard is a usage error before anything is collected
    overlap.register(config)
    progress.register(config, lambda: _in_flight(config))
    config.addinivalue_line("markers", "mhhs: an mhhs-sit scenario case")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    check_markers(session.config, state_of(session.config).project)  # every plugin's markers are known now


def _in_flight(config: pytest.Config) -> int:
    """Cases running now: under xdist up to the concurrency on each worker, else what overlapping
    keeps in flight."""
    workers = getattr(config.option, "numprocesses", None)
    if isinstance(workers, int) and workers > 0:
        return int(workers) * max(1, overlap.limit_of(config))
    return overlap.in_flight(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if STATE_KEY in config.stash:
        state_of(config).close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not is_scenario_file(file_path):
        return None
    if state_of(parent.config).is_scenario(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselect(config, state_of(config).selection, items)
    shard = sharding.requested(config)
    if shard is not None:
        plan = shard_items.apply(config, items)
        config.stash[_SHARD_PLAN] = f"shard {shard.index}/{shard.count} of cycle {config.getoption('mhhs_cycle')} " + (
            f"(plan {plan}): {len(items)} items"
        )


def pytest_report_collectionfinish(config: pytest.Config, start_path: Path, items: list[pytest.Item]) -> list[str]:
    """Which part of the cycle a shard runs (and the plan's fingerprint every shard must share),
    and what the run leaves out because its interface spec version is older than a scenario's."""
    line = config.stash.get(_SHARD_PLAN, None)
    left_out = [f"mhhs-sit: left out {why}" for why in config.stash.get(LEFT_OUT, [])]
    return ([f"mhhs-sit: {line}"] if line else []) + left_out


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = state_of(config)
    if not state.has_scenarios():
        return None
    state.load()
    return header_lines(state)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, CaseItem) and call.when == "call":
        run: dict[str, object] = item.run_summary()
        if call.excinfo is not None:
            exc = call.excinfo.value
            verdict = classify(exc)
            if verdict.status is Status.BROKEN:
                report.user_properties.append(BROKEN)
            elif verdict.status is Status.DEFINITION_ERROR:
                report.user_properties.append(DEFINITION)
            run["category"] = verdict.category.value
            run["message"] = str(exc)[:2000]
        report.user_properties.append((CASE_RUN, json.dumps(run, default=str)))
    return report


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    return outcome_word(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Before the terminal's summary (written once every plugin's session finish has run)."""
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        unloaded_as_definition_errors(terminal)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    broken_summary(terminalreporter)
    plural_words(terminalreporter)


# -- evidence ----------------------------------------------------------------------------------


def _run_facts(state: SessionState) -> dict[str, object] | None:
    """What Allure's environment file says of the run (None before any scenario was loaded)."""
    env = state.environment
    if env is None:
        return None
    from mhhs_sit.results.run import git_commit

    return {
        "environment": env.name,
        "environment.tag": env.environment_tag,
        "ir": env.ir,
        "spec.version": state.version,
        "dip.spec": state.dip_spec,
        "cohorts": ", ".join(selected_cohorts(state)),
        "run.id": state.run_id,
        "data.seed": state.seed,
        "git.commit": git_commit(Path(state.config.rootpath)),
        "framework.version": __version__,
    }


# -- xdist ------------------------------------------------------------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from mhhs_sit.collection.scheduling import CaseBindings, cohort_groups, make_scheduler

    state = state_of(config)
    state.load()
    bindings = CaseBindings(config.rootpath, state.scenario_at, STEP_KINDS)
    bindings.prefetch(state.files_to_collect())
    return make_scheduler(config, log, cohort_groups(state.cohorts), bindings, overlap.limit_of(config))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: WorkerNode) -> None:
    """Hand every worker the run's identity and the one shared local simulator."""
    state = state_of(node.config)
    node.workerinput.update(state.worker_input())
