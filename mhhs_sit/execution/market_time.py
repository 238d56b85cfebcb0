"""One simulation clock for every worker: a case that moves it runs while no other case runs.

The local simulator has one market clock (``/_sim/clock``), shared by every xdist worker of a run.
A ``clock`` step already runs with no other case of its own process in flight; this lock extends
that across processes. Every case holds it shared while it runs; a case that moves the clock
holds it exclusively, so no case of another worker sees market time jump under it. A second file
gives a waiting mover precedence over new cases (flock alone would let readers starve it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

Release = Callable[[], None]


def lock_dir(run_id: str) -> Path:
    """Where the run's lock files live: the same path for the controller and every worker."""
    safe = "".join(ch for ch in run_id if ch.isalnum() or ch in "-_") or "run"
    return Path(tempfile.gettempdir()) / f"mhhs-sit-{safe}-market-time"


def hold(run_id: str, *, exclusive: bool) -> Release:
    """Hold the run's market-time lock (shared, or exclusive for a case that moves the clock)
    until the returned function is called."""
    where = lock_dir(run_id)
    where.mkdir(mode=0o700, exist_ok=True)
    intent = os.open(where / "intent", os.O_RDWR | os.O_CREAT, 0o600)
    main = os.open(where / "clock", os.O_RDWR | os.O_CREAT, 0o600)
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


def remove(run_id: str) -> None:
    """The lock files, once the run is over (nothing holds them then)."""
    where = lock_dir(run_id)
    for name in ("intent", "clock"):
        (where / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # another run's files, or not empty: leave it
        where.rmdir()
