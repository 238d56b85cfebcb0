"""Gathers every item's outcome into ``RunResults`` and writes ``results.json`` at the end.

Registered only where reports are shown (the controller under xdist), so results are written
once; a session that ends early still writes, with the cases it never reached as *not run*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mhhs_sit.results import CASE_META, RunResults, git_commit


class ResultsRecorder:
    def __init__(self, config: pytest.Config, state: Any):
        self.config = config
        self.state = state
        self.results = RunResults(state.run_id)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            meta = dict(item.user_properties).get(CASE_META)
            if meta is not None:
                import json

                self.results.expect(item.nodeid, json.loads(meta))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        for nodeid in ids:
            if ".yaml::" in nodeid or ".yml::" in nodeid:
                self.results.expect(nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.results.add(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self.config.getoption("mhhs_results")
        if not path or not self.results.items:
            return
        state = self.state
        env = state.environment
        self.results.write(
            Path(path),
            seed=state.seed,
            environment=env.name if env else None,
            environment_tag=env.environment_tag if env else None,
            ir=env.ir if env else None,
            spec_version=state.version,
            dip_spec=state.dip_spec,
            cohorts=sorted(state.cohorts),
            git_commit=git_commit(Path(self.config.rootpath)),
            exit_status=int(session.exitstatus),
        )
