"""The framework's own tests are stricter than a scenario run: unknown markers and warnings fail them.

Set here rather than in pyproject.toml, whose pytest settings are also a test team's scenario runs'.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.option.strict_markers = True
    config.addinivalue_line("filterwarnings", "error")
    # Hypothesis warns that its strategies are built before its plugin loads: the plugin is off on
    # purpose (pyproject.toml's addopts), and the strategies work without it.
    config.addinivalue_line("filterwarnings", "ignore::hypothesis.errors.HypothesisSideeffectWarning")
