"""``--junitxml`` written atomically, and in the words of the other reports.

pytest's own writer fills a temporary name, renamed at the end; a scenario file that could not be
loaded, which pytest writes as a "collection failure", is marked a definition error there
(``UnloadedFiles``), as results.json, the store and the reports record it.

pytest writes junit.xml in place when the session finishes, so a run killed while it writes
leaves a truncated file under the final name (and a CI server reads half a run as the run). Here
pytest's writer is pointed at ``atomic.temporary_name`` of the file when the session starts; when
it has written (our ``pytest_sessionfinish`` runs innermost, right after it) the file is flushed
and renamed over the final name. A kill before that leaves the previous junit.xml, or none.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from _pytest.junitxml import xml_key

from mhhs_sit.core import atomic
from mhhs_sit.definitions.scenario_files import is_scenario_file_id
from mhhs_sit.results.outcome import Status
from mhhs_sit.results.run import OUTCOME

PLUGIN_NAME = "mhhs-junit-file"
UNLOADED_MESSAGE = "definition error: the scenario file could not be loaded"


def register(config: pytest.Config) -> None:
    """In the process that writes junit.xml (not an xdist worker), when ``--junitxml`` is given."""
    if getattr(config.option, "xmlpath", None) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(AtomicJunit(config), PLUGIN_NAME)
        config.pluginmanager.register(UnloadedFiles(config), f"{PLUGIN_NAME}-unloaded")


class UnloadedFiles:
    """A scenario file that could not be loaded: its ``<error>`` says definition error, and it carries
    the ``mhhs_outcome`` property a case's definition error carries."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)  # after pytest's writer made the file's testcase
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        xml = self.config.stash.get(xml_key, None)
        if xml is None or not report.failed or not is_scenario_file_id(report.nodeid):
            return
        reporter = xml.node_reporter(report)
        reporter.add_property(OUTCOME, Status.DEFINITION_ERROR.value)
        for node in reporter.nodes:
            if node.tag == "error":
                node.set("message", UNLOADED_MESSAGE)


class AtomicJunit:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.final: Path | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        self.final = Path(xml.logfile)
        xml.logfile = str(atomic.temporary_name(self.final))

    @pytest.hookimpl(trylast=True, wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        yield  # pytest's writer has written the temporary file
        xml = self.config.stash.get(xml_key, None)
        if xml is None or self.final is None:
            return
        written = Path(xml.logfile)
        xml.logfile = str(self.final)  # what pytest's "generated xml file" line names
        if written.is_file():
            atomic.settle(written, self.final)
