"""The run's one Allure writer: the pytest hooks that write ``--alluredir``, active only when it is given.

mhhs-sit owns ``--alluredir`` and writes Allure's documented result format itself: a result and
one attachment for each case (``allure_case``), a result for every other pytest test of the
session (``allure_plain``), a broken result for a case whose xdist worker crashed, a definition
error for a scenario file that could not be loaded, and the run's environment and categories
files. allure-pytest, if installed too, is kept out of the session:
two writers would give every test twice, and allure-pytest's per-test machinery is what made
evidence cost a third of a run.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Generator, Mapping
from pathlib import Path

import allure_commons
import pytest

from mhhs_sit.definitions.scenario_files import is_scenario_file_id
from mhhs_sit.evidence import allure_plain
from mhhs_sit.evidence.allure_case import Masking, case_files, is_case
from mhhs_sit.evidence.allure_results import crashed_result, unloaded_result, write_run_files
from mhhs_sit.evidence.allure_writer import ResultWriter, encoded
from mhhs_sit.evidence.redact import Scrubber, secret_values
from mhhs_sit.results.run import CASE_META, described

ALLURE_PYTEST = "allure_pytest"  # allure-pytest's entry-point name, as `-p no:allure_pytest` spells it
PLUGIN_NAME = "mhhs-allure"
RunFacts = Callable[[], Mapping[str, object] | None]


def declare_options(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """``--alluredir`` and the clean-up options; allure-pytest, if installed, is blocked.

    Where allure-pytest was registered first its ``--alluredir`` and ``--clean-alluredir`` stand
    (same destinations as ours) and only its hooks are removed.
    """
    declared_by_allure_pytest = pluginmanager.has_plugin(ALLURE_PYTEST)
    pluginmanager.set_blocked(ALLURE_PYTEST)
    group = parser.getgroup("mhhs-sit")
    if not declared_by_allure_pytest:
        group.addoption(
            "--alluredir",
            dest="allure_report_dir",
            metavar="DIR",
            help="write Allure results (every case and every other test) to DIR",
        )
        group.addoption(
            "--clean-alluredir",
            dest="clean_alluredir",
            action="store_true",
            help="empty --alluredir before the run (in the controller only, so safe under xdist)",
        )
    group.addoption(
        "--mhhs-clean-alluredir",
        dest="mhhs_clean_alluredir",
        action="store_true",
        help="the same as --clean-alluredir",
    )


def register(config: pytest.Config, masking: Callable[[], Masking], run_facts: RunFacts) -> None:
    """Put the writer in place when ``--alluredir`` is given (emptied first when asked, by the controller)."""
    report_dir = config.getoption("allure_report_dir", None)
    if not report_dir:
        return
    controller = not hasattr(config, "workerinput")
    if controller and (config.getoption("mhhs_clean_alluredir") or config.getoption("clean_alluredir", False)):
        shutil.rmtree(report_dir, ignore_errors=True)
    config.addinivalue_line("markers", f"{allure_plain.LABEL_MARK}: an Allure label (@allure.label and kin)")
    config.addinivalue_line("markers", f"{allure_plain.LINK_MARK}: an Allure link (@allure.link and kin)")
    plugin = AllurePlugin(Path(report_dir).resolve(), masking, run_facts if controller else None)
    config.pluginmanager.register(plugin, PLUGIN_NAME)


class AllurePlugin:
    """Writes ``--alluredir`` for this process: cases and other tests as they end, run files at the end."""

    def __init__(self, report_dir: Path, masking: Callable[[], Masking], run_facts: RunFacts | None) -> None:
        self.report_dir = report_dir
        self.writer = ResultWriter()
        self._masking = masking
        self._run_facts = run_facts  # None in an xdist worker: the controller writes the run's files
        self._api = allure_plain.AllureApi(report_dir, self._submit_file)
        # other tests and crash results: the environment's secrets (a case's masking also knows the
        # keys its run issued, and is asked for only once there is a case)
        self._scrub = Scrubber(secret_values())
        self._running: dict[str, str] = {}  # node id -> its CASE_META, between its setup and teardown

    def _submit_file(self, path: str, blob: bytes) -> None:
        self.writer.submit_files([(path, blob)])

    def _submit_result(self, result: Mapping[str, object]) -> None:
        path = os.path.join(self.report_dir, f"{result['uuid']}-result.json")
        self.writer.submit_files([(path, encoded(result, self._scrub))])

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.report_dir.mkdir(parents=True, exist_ok=True)
        allure_commons.plugin_manager.register(self._api)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if allure_commons.plugin_manager.is_registered(self._api):
            allure_commons.plugin_manager.unregister(self._api)
        self.writer.close()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        if is_case(item):
            return (yield)
        self._api.current = allure_plain.start_result(item)
        try:
            return (yield)
        finally:
            run, self._api.current = self._api.current, None
            self._submit_result(allure_plain.finish_result(run))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if is_case(item):
            if call.when == "call" or (call.when == "setup" and report.skipped):
                self.writer.submit_files(case_files(item, report, call.excinfo, self.report_dir, self._masking()))
        elif self._api.current is not None:
            allure_plain.record_phase(self._api.current, report, call.excinfo)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Every file lands before the run ends; a file that could not be written fails the run."""
        problems = self.writer.close()
        terminal = session.config.pluginmanager.get_plugin("terminalreporter")
        for problem in problems:
            if terminal is not None:
                terminal.write_line(f"mhhs-sit: an Allure result was not written: {problem}", red=True)
        if problems:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        facts = self._run_facts() if self._run_facts is not None else None
        if facts is not None:
            write_run_files(self.report_dir, facts)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A scenario file that could not be loaded: its definition error, written once, by the
        controller (xdist hands it each file's failed collection once)."""
        if self._run_facts is None or not report.failed or not is_scenario_file_id(report.nodeid):
            return
        self._submit_result(unloaded_result(report.nodeid, str(report.longreprtext), int(time.time() * 1000)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """What a case is, from its setup report, kept (in the controller) until its teardown: the
        result of a case whose worker dies mid-case is written from it."""
        if self._run_facts is None or not report.nodeid.endswith("]"):
            return
        if report.when == "setup":
            meta = dict(report.user_properties).get(CASE_META)
            if meta is not None:
                self._running[report.nodeid] = str(meta)  # read only should the worker die
        elif report.when == "teardown":
            self._running.pop(report.nodeid, None)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: object, sched: object) -> None:
        """A dead worker writes no result: the controller writes a broken one with the case's identity."""
        longrepr = str(getattr(report, "longrepr", ""))
        meta = self._running.pop(crashitem, None)
        about = described(meta)[1] if meta is not None else None
        self._submit_result(crashed_result(crashitem, longrepr, int(time.time() * 1000), about))
