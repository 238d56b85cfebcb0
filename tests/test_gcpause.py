"""The collector pause around large builds: resumed exactly as it was found."""

from __future__ import annotations

import gc

import pytest

from mhhs_sit.core.gcpause import paused_gc


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
