"""One simulation clock for every worker: a case that moves it runs while no other case runs.

The local simulator has one market clock (``/_sim/clock``), shared by every xdist worker of a run.
A ``clock`` step already runs with no other case of its own process in flight; this lock extends
that across processes. Every case holds it shared while it runs; a case that moves the clock
holds it exclusively, so no case of another worker sees market time jump under it. A second file
gives a waiting mover precedence over new cases (flock alone would let readers starve it).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

Release = Callable[[], None]


def hold(directory: str, *, exclusive: bool) -> Release:
    """Hold the run's market-time lock (shared, or exclusive for a case that moves the clock)
    until the returned function is called. ``directory`` is one every worker of the run shares
    (the local simulator's credentials directory, removed when the run ends)."""
    where = Path(directory)
    intent = os.open(where / "market-time.intent", os.O_RDWR | os.O_CREAT, 0o600)
    main = os.open(where / "market-time.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if exclusive:
            fcntl.flock(intent, fcntl.LOCK_EX)  # new cases wait from now on
            fcntl.flock(main, fcntl.LOCK_EX)  # and this waits for the running ones
        else:
            fcntl.flock(intent, fcntl.LOCK_SH)  # not while a mover waits or runs
            fcntl.flock(main, fcntl.LOCK_SH)
            fcntl.flock(intent, fcntl.LOCK_UN)
    except BaseException:
        os.close(main)
        os.close(intent)
        raise

    def release() -> None:
        os.close(main)  # closing drops the lock
        os.close(intent)

    return release
