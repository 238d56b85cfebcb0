"""Every exception the framework raises, each a sentence a tester can act on.

Two families matter to test results: ``ScenarioFailure`` subclasses ``AssertionError`` so that
pytest and Allure report a *failed* case (the product did the wrong thing), and
``EnvironmentBroken`` does not, so the case is *broken* (the environment could not be reached or
misbehaved). Definition problems found while loading files are ``DefinitionError``s carrying a
list of ``Problem``s with file, line, column and the YAML path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class MhhsSitError(Exception):
    """Base of everything the framework raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, located as precisely as the file allows."""

    file: str
    line: int  # 1-based; 0 when the whole file is concerned
    column: int  # 1-based; 0 when unknown
    path: str  # YAML path such as ``cases[0].steps[2].send.interface``; "" for the document
    message: str

    def render(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        at = f" [{self.path}]" if self.path else ""
        return f"{where}{at}: {self.message}"


def render_problems(problems: Iterable[Problem]) -> str:
    """One readable block, sorted by file and line, with a count at the end."""
    items = sorted(set(problems))
    files = {p.file for p in items}
    lines = [p.render() for p in items]
    noun = "problem" if len(items) == 1 else "problems"
    fnoun = "file" if len(files) == 1 else "files"
    lines.append(f"{len(items)} {noun} in {len(files)} {fnoun}")
    return "\n".join(lines)


class DefinitionError(MhhsSitError):
    """Scenario, cohort, environment or data files are wrong; nothing should run."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(sorted(set(problems)))
        super().__init__(render_problems(self.problems))


class ConfigError(MhhsSitError):
    """A command-line option or configuration value is unusable."""


class ScenarioFailure(AssertionError, MhhsSitError):
    """The system under test did not behave as the scenario expects: a product defect."""


class EnvironmentBroken(MhhsSitError):
    """The environment could not be used (unreachable, timed out, 5xx): not the product's fault."""


class TestDataError(MhhsSitError):
    """The test data a case asked for cannot be provided (pool exhausted, impossible criteria)."""

    __test__ = False  # not a pytest test class


class StepDefinitionError(MhhsSitError):
    """A step cannot run as written (e.g. a template names a value that was never saved)."""
