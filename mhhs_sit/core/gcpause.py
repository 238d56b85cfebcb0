"""The cyclic garbage collector paused while a large result is built.

Reading a cycle of 100,000 results, building its RTTM and rendering it each make hundreds of
thousands of small objects and no reference cycles; with the collector on, it walks them again
and again as they accumulate (about 40 % of the time measured by bench/bench_rttm.py). Reference
counting still frees everything as usual; the collector resumes afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Usable as ``with paused_gc():`` or as a decorator; nested pauses resume only at the outermost."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
