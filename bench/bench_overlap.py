#!/usr/bin/env python3
"""Overlapped waits: cases that each wait for a simulated party's delayed reply, at several
``--mhhs-concurrency`` values, against the embedded simulator; prints figures, asserts nothing.

Each case is the appointment request the shipped cohort C1 answers: the supplier sends IF-031
[DSApp], the simulated data service and registration answer, and the case waits for IF-035
[DSAppAccepted] about its own MPAN. The simulator holds every delivery back ``--delay`` seconds
(a ``delay`` fault), so a case spends almost all its time waiting. For each N the run's wall time is
set against the ideal (cases x delay / N), and the pytest process's peak memory against the
same cases' peak at the previous N gives the memory each extra waiting case costs.

    python bench/bench_overlap.py [--cases 1000] [--delay 2] [--concurrency 16,64] [--serial-cases 20]
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


# pytest in a child that reports its own peak memory (the embedded simulator runs in it too)
CHILD = (
    "import resource, sys, pytest\n"
    "code = pytest.main(sys.argv[1:])\n"
    "print('peak-kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run(root: Path, concurrency: int, store: Path) -> tuple[float, float, str]:
    """Wall seconds, the pytest process's peak RSS in MiB, and pytest's last line."""
    command = [sys.executable, "-c", CHILD, *FAST, "-q", "--cohort", "C1", f"--mhhs-store={store}"]
    command += [f"--mhhs-concurrency={concurrency}"]
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"the run at concurrency {concurrency} failed ({done.returncode})")
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("peak-kib"))
    return wall, peak / 1024, (done.stdout.strip().splitlines() or [""])[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--delay", type=float, default=2.0, help="seconds every delivery is held back (default 2)")
    ap.add_argument("--concurrency", default="16,64", help="values of --mhhs-concurrency, comma-separated")
    ap.add_argument("--serial-cases", type=int, default=20, help="cases of the serial run (default 20)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mhhs-overlap-"))
    try:
        serial_root, root = work / "serial", work / "many"
        write_project(serial_root, args.serial_cases, args.delay)
        write_project(root, args.cases, args.delay)
        serial_wall, serial_rss, _ = run(serial_root, 1, work / "serial.sqlite")
        each = serial_wall / args.serial_cases
        print(
            f"{args.serial_cases} cases serially: {serial_wall:.1f} s ({each:.2f} s a case), peak {serial_rss:.0f} MiB"
        )
        previous: tuple[int, float] | None = None
        for n in (int(v) for v in args.concurrency.split(",")):
            wall, rss, tail = run(root, n, work / f"n{n}.sqlite")
            ideal = args.cases * each / n
            # the same cases at two concurrencies: the difference in peak memory is what the extra
            # waiting cases cost (records of finished cases are the same in both)
            extra = f", ~{(rss - previous[1]) * 1024 / (n - previous[0]):.0f} KiB a waiting case" if previous else ""
            print(
                f"{args.cases} cases at --mhhs-concurrency {n}: {wall:.1f} s wall, ideal {ideal:.1f} s "
                f"(+{(wall / ideal - 1) * 100:.0f}%), {args.cases / wall:.1f} cases/s, peak {rss:.0f} MiB{extra}"
                f"  [{tail}]"
            )
            previous = (n, rss)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
