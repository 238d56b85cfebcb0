#!/usr/bin/env python3
"""Sharded vs unsharded: one generated cycle run whole, then as ``--shard 1/2`` and ``2/2`` in two
concurrent processes into one store, merged by ``mhhs-sit report --cycle``; prints figures, asserts
nothing.

The cases are those of bench/bench_overlap.py (its generator is reused): the supplier's IF-031
[DSApp], answered by the simulated data service with IF-035 [DSAppAccepted] ``--delay`` seconds
late (a ``delay`` fault), each run under ``--mhhs-concurrency``, for the two cohorts C1 and C5
(each binds its cohort's state, so the plan keeps each whole: a shard each, half the items). Every
round, in one fresh store (SQLite by default, or ``--store postgresql://...``, each round its own
cycles), runs the cycle
unsharded, then its two shards side by side, then merges the shards' cycle; the rounds alternate
which goes first. Printed: the medians of the unsharded wall time, the slower shard's, the merge's
and the sharded end to end (both shards plus the merge), the speed-up, and whether each round's
merged cycle holds the same case x cohort x status set as its unsharded one.

    python bench/bench_sharding.py [--cases 200] [--delay 1] [--concurrency 16] [--rounds 3]
                                   [--store postgresql://mhhs@127.0.0.1:PORT/postgres]

(``.ci/postgres start DIR`` prints such a URL for a throwaway local PostgreSQL.)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_overlap import write_project

from mhhs_sit.store.store import ResultsStore

CLI = [sys.executable, "-m", "mhhs_sit.cli.app"]
FAST = ["-p", "no:cacheprovider", "-p", "no:faker", "-p", "no:anyio", "-p", "no:hypothesispytest"]


def command(store: str, cycle: str, out: str, concurrency: int, shard: str | None = None) -> list[str]:
    split = ["--shard", shard] if shard else []
    return [
        *CLI, "run", "--cohort", "C1", "--cohort", "C5", "--store", store, "--cycle", cycle, *split, "--out", out,
        "--no-subdir", "--no-report", "--", *FAST, f"--mhhs-concurrency={concurrency}",
    ]  # fmt: skip


def check(done: subprocess.CompletedProcess[str] | tuple[int, str], what: str) -> None:
    code, output = (done.returncode, done.stdout + done.stderr) if not isinstance(done, tuple) else done
    if code != 0:
        print(output[-4000:], file=sys.stderr)
        raise SystemExit(f"{what} failed ({code})")


def unsharded(root: Path, store: str, cycle: str, concurrency: int) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(command(store, cycle, f"out-{cycle}", concurrency), cwd=root, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    check(done, f"the unsharded run of {cycle}")
    return wall


def sharded(root: Path, store: str, cycle: str, concurrency: int) -> tuple[float, float]:
    """Both shards at once, each its own process: the slower one's wall time, then the merge's."""
    t0 = time.perf_counter()
    shards = [
        subprocess.Popen(
            command(store, cycle, f"out-{cycle}-{k}", concurrency, f"{k}/2"),
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for k in (1, 2)
    ]
    for k, shard in enumerate(shards, 1):
        check((shard.wait(), shard.communicate()[0]), f"shard {k}/2 of {cycle}")
    slower = time.perf_counter() - t0
    t1 = time.perf_counter()
    merge = [*CLI, "report", "--cycle", cycle, "--store", store, "--out", f"report-{cycle}"]
    for k in (1, 2):
        merge += ["--evidence", f"out-{cycle}-{k}"]
    done = subprocess.run(merge, cwd=root, capture_output=True, text=True)
    check(done, f"the merge of {cycle}")
    return slower, time.perf_counter() - t1


def outcomes(root: Path, store: str, cycle: str) -> set[tuple[str, str, str]]:
    """The cycle's case x cohort x status set, as the store holds it (items never run left out)."""
    opened = ResultsStore.open(store, root)
    try:
        return {(r.case_id, r.cohort, r.status.value) for r in opened.results(cycle) if r.status.value != "not run"}
    finally:
        opened.close()


def round_(root: Path, store: str, n: int, args: argparse.Namespace) -> tuple[float, float, float, bool, int]:
    tag = uuid.uuid4().hex[:6]
    whole, split = f"W{n}-{tag}", f"S{n}-{tag}"
    if n % 2:  # alternate which goes first: the first may warm caches the second profits from
        slower, merge = sharded(root, store, split, args.concurrency)
        alone = unsharded(root, store, whole, args.concurrency)
    else:
        alone = unsharded(root, store, whole, args.concurrency)
        slower, merge = sharded(root, store, split, args.concurrency)
    expected, merged = outcomes(root, store, whole), outcomes(root, store, split)
    return alone, slower, merge, expected == merged, len(expected)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--delay", type=float, default=1.0, help="seconds every delivery is held back (default 1)")
    ap.add_argument("--concurrency", type=int, default=16, help="--mhhs-concurrency of every run (default 16)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--store", help="results store URL (default: a fresh SQLite file each round)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mhhs-sharding-"))
    try:
        root = work / "project"
        write_project(root, args.cases, args.delay)
        rows = []
        for n in range(args.rounds):
            store = args.store or f"sqlite:///{work}/round{n}.sqlite"
            rows.append(round_(root, store, n, args))
            alone, slower, merge, same, count = rows[-1]
            print(
                f"round {n + 1}: unsharded {alone:.1f} s, slower shard {slower:.1f} s, merge {merge:.1f} s; "
                f"merged cycle {'equals' if same else 'DIFFERS FROM'} the unsharded one ({count} case x cohort)"
            )
        alone, slower, merge = (statistics.median(r[i] for r in rows) for i in range(3))
        kind = "PostgreSQL" if args.store and args.store.startswith("postgres") else "SQLite"
        print(
            f"{args.cases} cases waiting {args.delay:g} s at --mhhs-concurrency {args.concurrency}, {kind}, "
            f"median of {args.rounds}:\n"
            f"  unsharded            {alone:6.1f} s\n"
            f"  slower of 2 shards   {slower:6.1f} s  (speed-up {alone / slower:.2f}x)\n"
            f"  merge (report)       {merge:6.1f} s\n"
            f"  sharded end to end   {slower + merge:6.1f} s  (speed-up {alone / (slower + merge):.2f}x)\n"
            f"  merged == unsharded  {sum(r[3] for r in rows)} of {len(rows)} rounds"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
