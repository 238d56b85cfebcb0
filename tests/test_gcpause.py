"""The collector pause around large builds: resumed exactly as it was found."""

from __future__ import annotations

import gc

import pytest

from mhhs_sit.core.gcpause import paused_gc
from tests.helpers import copy_project


def test_nested_pauses_resume_only_at_the_outermost():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause does not switch it back on
    assert gc.isenabled()


def test_a_collector_the_caller_switched_off_stays_off_and_errors_still_resume():
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

    @paused_gc()
    def fails() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fails()
    assert gc.isenabled()


FREEZE_PROBE = """
import gc

at_unconfigure = []


def _report():
    print("frozen at unconfigure:", at_unconfigure[0] > 0, "at cleanup:", gc.get_freeze_count() > 0)


def pytest_configure(config):
    # added after the plugin's own cleanup (its configure runs first), so this one runs before it
    config.add_cleanup(_report)


def pytest_unconfigure(config):
    at_unconfigure.append(gc.get_freeze_count())
"""


def test_collected_objects_stay_frozen_through_pytests_last_collections_and_are_then_unfrozen(pytester):
    """pytest's own gc.collect() at unconfigure and cleanup meets a frozen heap; a session that
    froze it unfreezes it at its very end, and one inside a session that had frozen it first
    (this test's own session) leaves it frozen, as it found it."""
    copy_project(pytester.path)
    pytester.makeconftest(FREEZE_PROBE)
    outer_froze = gc.get_freeze_count() > 0
    gc.unfreeze()
    try:
        result = pytester.runpytest("--collect-only", "-q", "-s")
        assert "frozen at unconfigure: True at cleanup: True" in result.stdout.str()
        assert gc.get_freeze_count() == 0
        gc.freeze()
        pytester.runpytest("--collect-only", "-q")
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        if outer_froze:
            gc.freeze()
