"""RTTM from a large results store: 100,000 recorded results, 5,000 requirements (aim: < 5 s).

Builds a SQLite store (or uses --store URL, e.g. a PostgreSQL) holding --runs runs of a cycle, each
recording every case × cohort, then times what ``mhhs-sit rttm`` does: read the cycle's results,
build the matrix, render each format. Prints the figures; asserts nothing.

    python bench/bench_rttm.py [--results 100000] [--requirements 5000] [--store URL]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mhhs_sit.requirements import SOURCES, Requirement  # noqa: E402
from mhhs_sit.rttm.build import CaseInfo, build_rttm  # noqa: E402
from mhhs_sit.store.store import ResultsStore  # noqa: E402

STAGES = ("sit-functional", "sit-migration", "sit-non-functional", "sit-operational")
ROLES = ("SUP", "LDSO", "REGS", "SDS", "ADS", "MSS", "UMSO")
STATUSES = ("passed",) * 14 + ("failed", "broken", "skipped", "not run")


def make_catalogue(n: int, rng: random.Random) -> dict[str, Requirement]:
    return {
        f"REQ-{i:05d}": Requirement(
            id=f"REQ-{i:05d}",
            title=f"Requirement {i}: the service shall do thing {i} within the settlement timetable",
            source=SOURCES[i % 3],
            stage=STAGES[i % len(STAGES)],
            priority=1 + i % 4,
            roles=tuple(rng.sample(ROLES, 2)),
        )
        for i in range(n)
    }


def make_cases(n_cases: int, requirements: list[str], cohorts: list[str], rng: random.Random) -> dict[str, CaseInfo]:
    cases = {}
    covered = requirements[: int(len(requirements) * 0.9)]  # 10% stay uncovered
    for i in range(n_cases):
        cid = f"SIT-{i // 10:03d}-TC{i % 10:02d}"
        cases[cid] = CaseInfo(
            case=cid,
            title=f"case {i}",
            scenario=f"SIT-{i // 10:03d}",
            stage=STAGES[i % len(STAGES)],
            theme=str(1 + i % 8),
            priority=1 + i % 3,
            location=f"test_themes/t{i % 8}/SIT-{i // 10:03d}.yaml:{10 + i % 10}",
            requirements=tuple(rng.sample(covered, 2)),
            cohorts=set(cohorts),
        )
    return cases


def fill_store(store: ResultsStore, cases: dict[str, CaseInfo], runs: int, rng: random.Random) -> int:
    total = 0
    for r in range(runs):
        run_id = f"bench-{r:03d}"
        store.begin_run(run_id, cycle="BENCH", sprint=str(1 + r // 2), evidence=f"/evidence/{run_id}")
        batch = []
        for info in cases.values():
            for cohort in sorted(info.cohorts):
                batch.append(
                    {
                        "nodeid": f"{info.location.split(':')[0]}::{info.case}[{cohort}]",
                        "case": info.case,
                        "cohort": cohort,
                        "status": rng.choice(STATUSES),
                        "title": info.title,
                        "requirements": list(info.requirements),
                        "duration_s": 0.01,
                    }
                )
        for start in range(0, len(batch), 5000):
            store.record_many(run_id, batch[start : start + 5000])
        store.finish_run(run_id, "finished")
        total += len(batch)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=int, default=100_000)
    ap.add_argument("--requirements", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--cohorts", type=int, default=4)
    ap.add_argument("--store", help="a database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="mhhs-bench-rttm-"))
    cohorts = [f"C{i}" for i in range(1, args.cohorts + 1)]
    n_cases = max(1, args.results // (args.runs * len(cohorts)))
    catalogue = make_catalogue(args.requirements, rng)
    cases = make_cases(n_cases, list(catalogue), cohorts, rng)
    store = ResultsStore.open(args.store or str(work / "bench.sqlite"), work)
    t0 = time.perf_counter()
    recorded = fill_store(store, cases, args.runs, rng)
    fill_s = time.perf_counter() - t0

    from mhhs_sit.rttm.render import FORMATS, write

    t0 = time.perf_counter()
    runs = store.runs("BENCH")
    rows = store.results("BENCH")
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rttm = build_rttm(catalogue, cases, rows, cycle="BENCH", runs=runs)
    build_s = time.perf_counter() - t0
    render = {}
    for fmt in FORMATS:
        t0 = time.perf_counter()
        write(rttm, fmt, work / f"rttm.{fmt}")
        render[fmt] = time.perf_counter() - t0
    store.close()

    print(
        f"\n{recorded:,} recorded results ({args.runs} runs × {n_cases:,} cases × {len(cohorts)} cohorts), "
        f"{len(catalogue):,} requirements, store {store.shown.split('://')[0]}; Python {sys.version.split()[0]}\n"
    )
    print(f"{'step':<34} {'seconds':>8}")
    print(f"{'fill the store (not part of rttm)':<34} {fill_s:8.2f}")
    print(f"{'read the cycle from the store':<34} {read_s:8.2f}")
    print(f"{'build the matrix':<34} {build_s:8.2f}")
    for fmt, secs in render.items():
        size = (work / f"rttm.{fmt}").stat().st_size / 1e6
        print(f"{'render ' + fmt:<34} {secs:8.2f}   {size:.1f} MB")
    for fmt, secs in render.items():
        total = read_s + build_s + secs
        print(f"rttm --format {fmt:<5} total {total:5.2f} s (aim: < 5 s)")
    print(f"\n{len(rttm.rows):,} rows, {rttm.covered:,} of {len(rttm.requirement_verdicts):,} requirements covered")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
