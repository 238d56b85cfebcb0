"""Gathers every item's outcome into ``RunResults``, the results store and ``results.json``.

Registered only where reports are shown (the controller under xdist), so results are written
once; a session that ends early still writes, with the cases it never reached as *not run*. The
store is written as the run goes (each outcome committed when it arrives), so a run killed
half-way leaves a consistent store, and a heartbeat (``store/heartbeat.py``) lets every reader
tell a dead run from a running one; ``results.json`` is written at the end. Under `mhhs-sit run`
(which registers a :class:`RunFlow`) the run stays *running* until the command has written its
reports too: the command marks it *finished*.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mhhs_sit import __version__
from mhhs_sit.collection.reporting import selected_cohorts
from mhhs_sit.definitions.scenario_files import is_scenario_file_id
from mhhs_sit.errors import MhhsSitError
from mhhs_sit.results.run import CASE_META, RunFacts, RunLabels, RunResults, described, git_commit

if TYPE_CHECKING:
    from mhhs_sit.collection.session import SessionState
    from mhhs_sit.store.heartbeat import Heartbeat
    from mhhs_sit.store.store import ResultsStore
    from mhhs_sit.store.writer import StoreWriter

RUN_FLOW = pytest.StashKey["RunFlow"]()


@dataclass
class RunFlow:
    """Registered by `mhhs-sit run` (``pytest.main(..., plugins=[flow])``): the command, not the
    session, says when the run is finished, after its reports. The recorder fills in which run it
    recorded and where, and leaves the run *running*."""

    run_id: str | None = None
    store_url: str | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[RUN_FLOW] = self


class ResultsRecorder:
    def __init__(self, config: pytest.Config, state: SessionState):
        self.config = config
        self.state = state
        self.results = RunResults(state.run_id)
        self._store: ResultsStore | None = None  # this run begun in it: when the first scenario item shows up
        self._connection: ResultsStore | None = None  # opened, the run not yet begun
        self._store_failed = False
        self._announced: set[str] = set()
        self._writer: StoreWriter | None = None  # outcomes committed off the run's thread
        self._heartbeat: Heartbeat | None = None

    # -- the store ------------------------------------------------------------------------------

    def _open_store(self) -> ResultsStore | None:
        """The store with this run begun in it: when the first scenario item shows up, so a
        session that selects nothing records no run."""
        if self._store is not None or self._store_failed:
            return self._store
        store = self._connected()
        if store is None:
            return None
        try:
            store.begin_run(
                self.state.run_id,
                cycle=self.config.getoption("mhhs_cycle", None),
                sprint=self.config.getoption("mhhs_sprint", None),
                framework_version=__version__,
                seed=self.state.seed,
                evidence=self._evidence(),
                command=without_credentials(shlex.join(str(a) for a in self.config.invocation_params.args)),
            )
        except MhhsSitError as exc:
            self._store_trouble(exc)
            return None
        from mhhs_sit.store.heartbeat import Heartbeat
        from mhhs_sit.store.writer import StoreWriter

        self._store = store
        self._writer = StoreWriter(store, self.state.run_id)
        self._heartbeat = Heartbeat(store, self.state.run_id).start()
        return store

    def _connected(self) -> ResultsStore | None:
        """The store opened (its module, its engine, its schema: the costly part), once."""
        if self._connection is not None or self._store_failed:
            return self._connection
        spec = self.state.project.store_spec(self.config.getoption("mhhs_store", None))
        if spec is None or self.config.option.collectonly:  # listing cases is not a run of them
            self._store_failed = True
            return None
        from mhhs_sit.store.store import ResultsStore

        try:
            store = ResultsStore.open(spec, Path(self.config.rootpath))
            store.close_abandoned_runs()
        except MhhsSitError as exc:
            self._store_trouble(exc)
            return None
        self._connection = store
        return store

    def _evidence(self) -> str | None:
        results = self.config.getoption("mhhs_results", None)
        alluredir = self.config.getoption("allure_report_dir", None)
        where = Path(results).parent if results else Path(alluredir) if alluredir else None
        return str(where.resolve()) if where else None

    def _store_trouble(self, exc: Exception | str) -> None:
        """Results are never lost to a store problem: say it once, carry on with results.json."""
        self._store_failed = True
        self._store = None
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line(f"mhhs-sit: results store not written: {exc}", yellow=True)

    def _announce(self, nodeids: list[str]) -> None:
        fresh = [n for n in nodeids if n not in self._announced and n in self.results.items]
        store = self._open_store() if fresh else None
        if store is None:
            return
        self._announced.update(fresh)
        try:
            store.add_items(self.state.run_id, [self.results.items[n] for n in fresh])
        except MhhsSitError as exc:
            self._store_trouble(exc)

    def _store_record(self, nodeid: str) -> None:
        if self._open_store() is None or self._writer is None:
            return
        self._announced.add(nodeid)
        self._writer.submit(self.results.items[nodeid])  # frozen: handed over as it is

    # -- pytest hooks -----------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        """Under xdist the controller opens the store here, once its workers are spawned (xdist
        spawns them at session start) and while they start: it would otherwise wait for their
        collection, then keep them waiting while it opens it. (Returns None: the loop runs on.)"""
        if getattr(self.config.option, "numprocesses", None) and not self.config.option.collectonly:
            self._connected()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        ids = []
        for item in items:
            meta = dict(item.user_properties).get(CASE_META)
            if meta is not None:
                self.results.expect(item.nodeid, described(str(meta)))
                ids.append(item.nodeid)
        self._announce(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        scenario_ids = [n for n in ids if is_scenario_item(n)]
        for nodeid in scenario_ids:
            self.results.expect(nodeid)
        self._announce(scenario_ids)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A scenario file that could not be read: recorded, so the RTTM can say so."""
        if report.failed and is_scenario_file_id(report.nodeid):
            self.results.collection_error(report.nodeid, str(report.longreprtext))
            self._store_record(report.nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        changed = self.results.add(report)
        if changed and report.nodeid in self.results.items and is_scenario_item(report.nodeid):
            self._store_record(report.nodeid)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from mhhs_sit.collection.rerun import nothing_to_rerun

        if nothing_to_rerun(session, self.state):
            session.exitstatus = pytest.ExitCode.OK
        facts = self._facts(session)
        if self._writer is not None and (problem := self._writer.close()) is not None:
            self._store_trouble(problem)
        if self._heartbeat is not None and (problem := self._heartbeat.stop()) is not None:
            self._store_trouble(problem)
        if self._store is not None:
            self._close_store(facts, interrupted=session.exitstatus == pytest.ExitCode.INTERRUPTED)
        elif self._connection is not None:  # opened early, but no run began in it
            self._connection.close()
        path = self.config.getoption("mhhs_results")
        if path and self.results.items:
            self.results.write(Path(path), facts, self._labels())

    def _facts(self, session: pytest.Session) -> RunFacts:
        env = self.state.environment
        return RunFacts(
            environment=env.name if env else None,
            environment_tag=env.environment_tag if env else None,
            ir=env.ir if env else None,
            spec_version=self.state.version,
            cohorts=selected_cohorts(self.state),
            git_commit=git_commit(Path(self.config.rootpath)),
            exit_status=int(session.exitstatus),
        )

    def _labels(self) -> RunLabels:
        return RunLabels(
            seed=self.state.seed,
            dip_spec=self.state.dip_spec,
            cycle=self.config.getoption("mhhs_cycle", None),
            sprint=self.config.getoption("mhhs_sprint", None),
        )

    def _close_store(self, facts: RunFacts, *, interrupted: bool) -> None:
        assert self._store is not None
        flow = self.config.stash.get(RUN_FLOW, None)
        state = "interrupted" if interrupted else "running" if flow is not None else "finished"
        if flow is not None and not interrupted:
            flow.run_id, flow.store_url = self.state.run_id, self._store.url
        try:
            self._store.finish_run(self.state.run_id, state, facts)
            self._store.close()
        except MhhsSitError as exc:
            self._store_trouble(exc)


_URL_PASSWORD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@")


def without_credentials(command: str) -> str:
    """The command as the store keeps it: a password in a URL (``--store postgresql://u:p@h/db``) masked."""
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", command)


def is_scenario_item(nodeid: str) -> bool:
    """An item of a scenario file: only these go to the store (a session of plain tests opens none)."""
    return ".yaml::" in nodeid or ".yml::" in nodeid
