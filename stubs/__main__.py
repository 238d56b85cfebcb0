"""``python -m mhhs_stubs --config FILE``: the simulator as a process of its own (or a container's).

Prints one line ``MHHS_STUBS_READY <url>`` once it accepts connections, so whoever started it can
wait for exactly that; SIGTERM and SIGINT stop it cleanly with exit code 0.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from mhhs_sit.errors import MhhsSitError
from mhhs_stubs.config_file import READY, read_config

GC_EVERY_S = 20.0


def _collect_now_and_then(stop: threading.Event) -> None:
    """Full collections on a clock, each followed by a freeze, instead of whenever the journal has
    grown by a quarter: a full pass over a large journal stalls every request for 100 ms or more
    (the p99 under load), while a pass over 20 s of new objects is short. Journal entries need
    no cycle collection (eviction frees them by reference count), so freezing them is safe."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1_000_000)  # young generations as usual; the full pass is ours
    while not stop.wait(GC_EVERY_S):
        gc.collect()
        gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mhhs_stubs",
        description="Run the DIP simulator and participant simulators from a config file written by mhhs-sit.",
    )
    parser.add_argument("--config", required=True, metavar="FILE", help="simulator config (JSON, mode 0600)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        from mhhs_stubs.server import EmbeddedSimulator, exposure_warning

        warning = exposure_warning(args.host)
        if warning:
            print(warning, file=sys.stderr, flush=True)

        sim = EmbeddedSimulator(read_config(Path(args.config)), host=args.host, port=args.port).start()
    except MhhsSitError as exc:
        print(f"mhhs_stubs: {exc}", file=sys.stderr, flush=True)
        return 1
    threading.Thread(target=_collect_now_and_then, args=(stop,), name="mhhs-gc", daemon=True).start()
    print(f"{READY} {sim.url}", flush=True)
    try:
        while not stop.wait(3600):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
