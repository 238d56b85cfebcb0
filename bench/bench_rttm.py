"""RTTM from a large results store: 100,000 recorded results, 5,000 requirements (aim: < 5 s).

Builds a SQLite store (or uses --store URL, e.g. a PostgreSQL) holding --runs runs of a cycle, each
recording every case × cohort, then measures two ways:

* in process, step by step, what ``mhhs-sit rttm`` does: read the cycle's results, build the
  matrix, render each format (medians of --repeat);
* the command itself, as a user runs it: a project written to disk (a requirements catalogue CSV,
  cohort files, one scenario file per scenario, every case tracing to its requirements), then
  ``mhhs-sit rttm --cycle BENCH --format F`` in a fresh process per format: interpreter start,
  imports, loading and checking the definitions, the store, the matrix and the file.

Prints the figures; asserts nothing.

    python bench/bench_rttm.py [--results 100000] [--requirements 5000] [--store URL] [--no-cli]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mhhs_sit.core.gcpause import paused_gc  # noqa: E402
from mhhs_sit.definitions.requirements import SOURCES, Requirement  # noqa: E402
from mhhs_sit.results.model import CaseKey, CaseMeta, CaseResult  # noqa: E402
from mhhs_sit.results.outcome import Status  # noqa: E402
from mhhs_sit.rttm.build import STORE_FIELDS, CaseInfo, build_rttm  # noqa: E402
from mhhs_sit.rttm.render import FORMATS, write  # noqa: E402
from mhhs_sit.store.rows import StoredResult, StoredRun  # noqa: E402
from mhhs_sit.store.store import ResultsStore  # noqa: E402

T = TypeVar("T")
STAGES = ("sit-functional", "sit-migration", "sit-non-functional", "sit-operational")
ROLES = ("SUP", "LDSO", "REGS", "SDS", "ADS", "MSS", "UMSO")
STATUSES = (Status.PASSED,) * 14 + (Status.FAILED, Status.BROKEN, Status.SKIPPED, Status.NOT_RUN)


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
    """Ten cases a scenario; a scenario's cases share its stage, theme and file."""
    cases = {}
    covered = requirements[: int(len(requirements) * 0.9)]  # 10% stay uncovered
    for i in range(n_cases):
        scenario = i // 10
        cid = f"SIT-{scenario:03d}-TC{i % 10:02d}"
        cases[cid] = CaseInfo(
            case=cid,
            title=f"case {i}",
            scenario=f"SIT-{scenario:03d}",
            stage=STAGES[scenario % len(STAGES)],
            theme=str(1 + scenario % 8),
            priority=1 + i % 3,
            location=f"test_themes/t{scenario % 8}/SIT-{scenario:03d}.yaml:{10 + 7 * (i % 10)}",
            requirements=tuple(sorted(rng.sample(covered, 2))),
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
                    CaseResult(
                        f"{info.location.split(':')[0]}::{info.case}[{cohort}]",
                        rng.choice(STATUSES),
                        key=CaseKey(info.case, cohort),
                        about=CaseMeta(title=info.title, requirements=info.requirements),
                        duration_s=0.01,
                    )
                )
        for start in range(0, len(batch), 5000):
            store.record_many(run_id, batch[start : start + 5000])
        store.finish_run(run_id, "finished")
        total += len(batch)
    return total


def write_project(
    root: Path, catalogue: dict[str, Requirement], cases: dict[str, CaseInfo], cohorts: list[str]
) -> None:
    """The definitions ``mhhs-sit rttm`` reads, as a team's repository holds them."""
    (root / "test_data" / "requirements").mkdir(parents=True)
    with (root / "test_data" / "requirements" / "catalogue.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "title", "source", "stage", "priority", "roles"])
        for r in catalogue.values():
            out.writerow([r.id, r.title, r.source, r.stage, r.priority, " ".join(r.roles)])
    (root / "cohorts").mkdir()
    template = (REPO / "cohorts" / "C1.yaml").read_text(encoding="utf-8")
    for cohort in cohorts:
        (root / "cohorts" / f"{cohort}.yaml").write_text(template.replace("cohort: C1", f"cohort: {cohort}"))
    shutil.copytree(REPO / "environments", root / "environments")
    by_scenario: dict[str, list[CaseInfo]] = {}
    for info in cases.values():
        by_scenario.setdefault(info.scenario, []).append(info)
    for scenario, infos in by_scenario.items():
        first = infos[0]
        doc = {
            "scenario": scenario,
            "title": f"Scenario {scenario}",
            "stage": first.stage,
            "theme": int(first.theme),
            "roles": ["SUP"],
            "cases": [
                {
                    "id": info.case,
                    "title": info.title,
                    "priority": info.priority,
                    "requirements": list(info.requirements),
                    "steps": [{"assert": [{"value": "{{ cohort.SUP.mpid }}", "eq": "SUPA"}]}],
                }
                for info in infos
            ],
        }
        path = root / first.location.split(":")[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def cli_seconds(root: Path, store: str, fmt: str) -> float:
    """One ``mhhs-sit rttm`` in a fresh process, timed from start to exit."""
    command = [sys.executable, "-c", "from mhhs_sit.cli.app import main; raise SystemExit(main())"]
    command += ["rttm", "--cycle", "BENCH", "--format", fmt, "--store", store, "--out", str(root / "out")]
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"mhhs-sit rttm failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return seconds


def median_of(repeat: int, step: Callable[[], T]) -> tuple[float, T]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=int, default=100_000)
    ap.add_argument("--requirements", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--cohorts", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each step; the median is shown (default: 3)")
    ap.add_argument("--store", help="a database URL (default: a fresh SQLite file)")
    ap.add_argument("--no-cli", action="store_true", help="skip timing the mhhs-sit rttm command itself")
    args = ap.parse_args()
    args.repeat = max(1, args.repeat)
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

    with paused_gc():  # as the command does (see mhhs_sit.cli.rttm.cmd_rttm)

        def read() -> tuple[list[StoredRun], list[StoredResult]]:
            return store.runs("BENCH"), store.results("BENCH", fields=STORE_FIELDS)

        read_s, (runs, rows) = median_of(args.repeat, read)
        build_s, rttm = median_of(args.repeat, lambda: build_rttm(catalogue, cases, rows, cycle="BENCH", runs=runs))
        render = {fmt: median_of(args.repeat, lambda f=fmt: write(rttm, f, work / f"rttm.{f}"))[0] for fmt in FORMATS}
    store.close()

    print(
        f"\n{recorded:,} recorded results ({args.runs} runs × {n_cases:,} cases × {len(cohorts)} cohorts), "
        f"{len(catalogue):,} requirements, store {store.shown.split('://')[0]}; Python {sys.version.split()[0]}\n"
    )
    print(f"in process, median of {args.repeat}:")
    print(f"  {'step':<34} {'seconds':>8}")
    print(f"  {'fill the store (not part of rttm)':<34} {fill_s:8.2f}")
    print(f"  {'read the cycle from the store':<34} {read_s:8.2f}")
    print(f"  {'build the matrix':<34} {build_s:8.2f}")
    for fmt, secs in render.items():
        size = (work / f"rttm.{fmt}").stat().st_size / 1e6
        print(f"  {'render ' + fmt:<34} {secs:8.2f}   {size:.1f} MB")
    for fmt, secs in render.items():
        print(f"  read + build + render {fmt:<5} {read_s + build_s + secs:5.2f} s")
    print(f"  {len(rttm.rows):,} rows, {rttm.covered:,} of {len(rttm.requirement_verdicts):,} requirements covered")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    if args.no_cli:
        return
    project = work / "project"
    write_project(project, catalogue, cases, cohorts)
    url = args.store or f"sqlite:///{work / 'bench.sqlite'}"
    print(f"\nthe command, in a fresh process each time (project in {project}):")
    cold = cli_seconds(project, url, "xlsx")
    print(f"  mhhs-sit rttm --cycle BENCH --format xlsx  {cold:5.2f} s  first run: no parsed-scenario cache yet")
    print(f"  then with the cache a test run leaves (.mhhs-sit-cache), median of {args.repeat}:")
    for fmt in FORMATS:
        secs = statistics.median(cli_seconds(project, url, fmt) for _ in range(args.repeat))
        print(f"  mhhs-sit rttm --cycle BENCH --format {fmt:<5} {secs:5.2f} s (aim: < 5 s)")


if __name__ == "__main__":
    main()
