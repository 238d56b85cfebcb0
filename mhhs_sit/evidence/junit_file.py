"""``--junitxml`` written atomically: pytest's own writer fills a temporary name, renamed at the end.

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

PLUGIN_NAME = "mhhs-junit-file"


def register(config: pytest.Config) -> None:
    """In the process that writes junit.xml (not an xdist worker), when ``--junitxml`` is given."""
    if getattr(config.option, "xmlpath", None) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(AtomicJunit(config), PLUGIN_NAME)


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
