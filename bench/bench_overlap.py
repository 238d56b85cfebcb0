#!/usr/bin/env python3
"""Overlapped waits: cases that each wait for a simulated party's delayed reply, at several
``--mhhs-concurrency`` values, against the embedded simulator; prints figures, asserts nothing.

Each case is the appointment request the shipped cohort C1 answers: the supplier sends IF-031
[DSApp], the simulated data service and registration answer, and the case waits for IF-035
[DSAppAccepted] about its own MPAN. The simulator holds every delivery back ``--delay`` seconds
(a ``delay`` fault), so a case spends almost all its time waiting. For each N the run's wall time is
set against the ideal (cases x delay / N), and the pytest process's peak memory against the
same cases' peak at the previous N gives the memory each extra waiting case costs.

With ``--workers 2`` (the default) the same is measured under xdist (``-n 2``): half the cases each
for two cohorts the scheduler keeps on a worker each (C1 and C5, whose simulated parties answer the
supplier), first without ``--mhhs-concurrency`` on ``--serial-cases`` cases, then at each N; the
ideal is cases x delay / (2 x N), the memory the largest worker's peak.

    python bench/bench_overlap.py [--cases 1000] [--delay 2] [--concurrency 16,64] [--serial-cases 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAST = ["-p", "no:cacheprovider", "-p", "no:faker", "-p", "no:anyio", "-p", "no:hypothesispytest"]
PER_FILE = 100

CASE = """  - id: OVL-{f:03d}-TC{i:03d}
    title: appointment answered {delay:g}s late
    data:
      mpan: {{draw: mpan}}
    steps:
      - send:
          as: SUP
          interface: IF-031
          event: DSApp
          mpan: "{{{{ mpan }}}}"
          custom:
            B071:
              proposedDataServiceDIPID: "{{{{ cohort.SDS.dip_id }}}}"
              proposedDataServiceMPID: "{{{{ cohort.SDS.mpid }}}}"
              proposedDataServiceDIPEffectiveFromDate: "{{{{ midnight }}}}"
              contractReferenceDataService: SDS-1
              appointmentScenario: CSP
              supplierNominatedMDRDIPID: null
              supplierNominatedMDRMPID: null
              supplierNominatedMDREffectiveFromDate: null
              supplierProposedConsentGranularity: H
              supplierProposedDomesticIndicator: true
              traditionalFallBackReadFrequency: null
      - expect:
          at: SUP
          interface: IF-035
          event: DSAppAccepted
          within: {within:g}s
          where: {{M0.MPANCore: "{{{{ mpan }}}}"}}
"""


def write_project(root: Path, cases: int, delay: float) -> None:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(REPO / "cohorts", root / "cohorts")
    (root / "environments").mkdir(parents=True)
    (root / "test_themes").mkdir()
    (root / "pytest.ini").write_text("[pytest]\nmhhs_env = late\n")
    (root / "environments" / "late.yaml").write_text(
        "environment: late\nenvironment_tag: DEV\nstubs: embedded\n"
        f"timeouts: {{connect: 5s, read: 30s, expect: {delay * 5 + 10:g}s}}\nretries: 2\n"
        f"faults:\n  - {{id: late-answers, kind: delay, seconds: {delay:g}}}\n"
    )
    for f in range(0, cases, PER_FILE):
        body = "".join(
            CASE.format(f=f // PER_FILE, i=i, delay=delay, within=delay * 5 + 10)
            for i in range(min(PER_FILE, cases - f))
        )
        (root / "test_themes" / f"ovl_{f // PER_FILE:03d}.yaml").write_text(
            f"scenario: OVL-{f // PER_FILE:03d}\ntitle: overlapped waits\nstage: sit-functional\ntheme: 3\n"
            f"roles: [SUP, REGS, SDS]\ncases:\n{body}"
        )


# pytest in a child that reports its own peak memory (the embedded simulator runs in it too) and its
# largest xdist worker's
CHILD = (
    "import resource, sys, pytest\n"
    "code = pytest.main(sys.argv[1:])\n"
    "print('peak-kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "print('worker-peak-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)
PAIR = ("C1", "C5")  # two cohorts whose simulated parties answer the supplier's IF-031, one a worker


def run(root: Path, concurrency: int, store: Path, workers: int = 0) -> tuple[float, float, str]:
    """Wall seconds, the peak RSS in MiB of the pytest process (of its largest worker under xdist),
    and pytest's last line."""
    cohorts = ["--cohort", "C1"] if not workers else ["-n", str(workers), "--cohort", ",".join(PAIR)]
    command = [sys.executable, "-c", CHILD, *FAST, "-q", *cohorts, f"--mhhs-store={store}"]
    command += [f"--mhhs-concurrency={concurrency}"]
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"the run at concurrency {concurrency} failed ({done.returncode})")
    mark = "worker-peak-kib" if workers else "peak-kib"
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith(mark))
    return wall, peak / 1024, (done.stdout.strip().splitlines() or [""])[-1]


def measure(work: Path, args: argparse.Namespace, workers: int) -> None:
    """The serial (or -n without concurrency) baseline, then each N, printed."""
    items = len(PAIR) if workers else 1  # each case runs once per cohort
    serial_root, root = work / f"serial-{workers}", work / f"many-{workers}"
    write_project(serial_root, max(1, args.serial_cases // items), args.delay)
    write_project(root, max(1, args.cases // items), args.delay)
    label = f"-n {workers}, " if workers else ""
    base_wall, base_rss, _ = run(serial_root, 1, work / f"serial-{workers}.sqlite", workers)
    cases = max(1, args.serial_cases // items) * items
    # a case's time alone on a worker: the workers run theirs side by side
    each = base_wall / cases * max(1, workers)
    alone = "serially" if not workers else "without --mhhs-concurrency"
    print(f"{cases} cases {label}{alone}: {base_wall:.1f} s ({each:.2f} s a case a worker), peak {base_rss:.0f} MiB")
    previous: tuple[int, float] | None = None
    total = max(1, args.cases // items) * items
    for n in (int(v) for v in args.concurrency.split(",")):
        wall, rss, tail = run(root, n, work / f"n{n}-{workers}.sqlite", workers)
        ideal = total * each / (n * max(1, workers))
        # the same cases at two concurrencies: the difference in peak memory is what the extra
        # waiting cases cost (records of finished cases are the same in both)
        extra = f", ~{(rss - previous[1]) * 1024 / (n - previous[0]):.0f} KiB a waiting case" if previous else ""
        print(
            f"{total} cases {label}at --mhhs-concurrency {n}: {wall:.1f} s wall, ideal {ideal:.1f} s "
            f"(+{(wall / ideal - 1) * 100:.0f}%), {total / wall:.1f} cases/s, peak {rss:.0f} MiB{extra}"
            f"  [{tail}]"
        )
        previous = (n, rss)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--delay", type=float, default=2.0, help="seconds every delivery is held back (default 2)")
    ap.add_argument("--concurrency", default="16,64", help="values of --mhhs-concurrency, comma-separated")
    ap.add_argument("--serial-cases", type=int, default=20, help="cases of the serial run (default 20)")
    ap.add_argument("--workers", type=int, default=2, help="xdist workers of the -n figures (0: none; default 2)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mhhs-overlap-"))
    try:
        measure(work, args, 0)
        if args.workers:
            measure(work, args, args.workers)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
