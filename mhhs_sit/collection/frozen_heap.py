"""What collection builds, kept out of the cyclic garbage collector's reach until pytest is done.

Collection builds tens of thousands of long-lived objects (items, models) and no garbage cycles;
the collector would walk them again and again as they accumulate, and then once more in every
collection during the run. They are collected with the collector paused and then frozen (still
freed by reference counting).

They are unfrozen only after pytest's own last collections: its unraisable-exception plugin runs
a full ``gc.collect()`` in ``pytest_unconfigure`` and again in a cleanup, and over an unfrozen heap
of 10,000 items each of those costs more than a tenth of a second. The cleanup that unfreezes is
added before any other plugin's (``tryfirst`` configure), so it runs last. A session run inside
another one (pytester) that had already frozen its heap leaves it frozen, as it found it.
"""

from __future__ import annotations

import gc
from collections.abc import Generator

import pytest

from mhhs_sit.core.gcpause import paused_gc


class FrozenHeap:
    """A pytest plugin: collection with the collector paused, its objects frozen until the end."""

    def __init__(self) -> None:
        self._froze = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.add_cleanup(self._unfreeze)

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Generator[None, object, object]:
        with paused_gc():
            result = yield
        self._froze = gc.get_freeze_count() == 0  # else an outer session froze first and unfreezes
        gc.freeze()
        return result

    def _unfreeze(self) -> None:
        if self._froze:
            self._froze = False
            gc.unfreeze()


def register(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register the plugin (from ``pytest_addoption``, so before any ``pytest_configure`` runs)."""
    if not pluginmanager.has_plugin("mhhs-frozen-heap"):
        pluginmanager.register(FrozenHeap(), "mhhs-frozen-heap")
