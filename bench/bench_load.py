#!/usr/bin/env python3
"""Locust against the local simulator: ``mhhs-sit load`` with one Locust master and
``--locust-workers`` (default 2) workers on loopback, one generated load case at each target rate;
prints figures, asserts nothing.

The case is SITNFT-T2-030's: the load shaping service (cohort C6) publishes IF-022
[LSSPeriodData] to the supplier, a driven role whose webhook is outside the simulator, so the
simulator's journal gives acceptance-to-delivery latencies. Its thresholds are set so loose that
they never fail: the figures are the point. They are read from the case's evidence, not measured
again: Locust's ``figures.json`` (sent, failed, the rate reached, send-to-answer p50/p95/p99) and
the step's detail (delivery p50/p95/p99, and the exact count of accepted messages not delivered
to every recipient by the end: the messages lost).

    python bench/bench_load.py [--rates 50,200,500] [--duration 10] [--users 20] [--locust-workers 2]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "mhhs_sit.cli.app"]

SCENARIO = """scenario: BENCH-LOAD-{rate:04d}
title: IF-022 at {rate} a second
stage: sit-non-functional
theme: 2
requirements: [E2E1009]
roles: [LSS, SUP]
cases:
  - id: BENCH-LOAD-{rate:04d}-TC01
    title: IF-022 [LSSPeriodData] at {rate} a second for {duration:g} seconds
    data:
      mp: {{draw: metering_point}}
    steps:
      - load:
          as: LSS
          interface: IF-022
          event: LSSPeriodData
          to: ["{{{{ cohort.SUP.dip_id }}}}"]
          custom:
            B903List:
              - settlementDay: {{settlementDayDate: "{{{{ yesterday }}}}T00:00:00+00:00", periodDuration: 30}}
                LSGSettlementPeriods:
                  - LSGroup: {{loadShapeGSPGroupID: "{{{{ mp.gsp_group }}}}", connectionTypeIndicator: W,
                               marketSegmentIndicator: S, loadShapeDomesticPremiseIndicator: T,
                               measurementQuantityID: AI}}
                    LSGroupSettlementPeriods:
                      - {{sp: "{{{{ yesterday }}}}T00:30:00+00:00", loadShapePeriodValue: "0.011",
                          defaultLoadShapeFlag: A}}
          users: {users}
          rate: {rate}
          duration: {duration:g}s
          thresholds:
            E2E1009: {{errors: "<= 100%", undelivered: "<= 100%"}}
      - name: the supplier's system is driven by the case, so its webhook is outside the simulator
        expect: {{at: SUP, interface: IF-022, event: LSSPeriodData, within: 30s}}
"""


def write_project(root: Path, rate: int, duration: float, users: int) -> None:
    if root.exists():
        shutil.rmtree(root)
    for part in ("cohorts", "environments", "test_data"):
        shutil.copytree(REPO / part, root / part)
    (root / "test_themes").mkdir()
    (root / "pytest.ini").write_text(
        "[pytest]\ntestpaths = test_themes\nmhhs_env = local\nmhhs_cohorts = cohorts\n"
        "mhhs_environments = environments\nmhhs_scenarios = test_themes\n"
    )
    (root / "test_themes" / "load.yaml").write_text(SCENARIO.format(rate=rate, duration=duration, users=users))


def figures(out: Path) -> tuple[dict[str, object], str]:
    """Locust's figures.json and the load step's detail, from the run's evidence."""
    case = json.loads((out / "results.json").read_text())["cases"][0]
    detail = str(case["steps"][0].get("detail") or case.get("message") or "")
    found = [json.loads(p.read_text()) for p in (out / "allure-results").glob("*-attachment.json")]
    return next((f for f in found if isinstance(f, dict) and "sent" in f), {}), detail


def measure(work: Path, rate: int, args: argparse.Namespace) -> None:
    root, out = work / f"rate-{rate}", work / f"out-{rate}"
    write_project(root, rate, args.duration, args.users)
    command = [*CLI, "load", "--cohort", "C6", "--locust-workers", str(args.locust_workers)]
    command += ["--store", f"sqlite:///{work}/store.sqlite", "--out", str(out), "--no-subdir", "--no-report"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if not (out / "results.json").exists():
        print(done.stdout[-3000:], done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"the load run at {rate}/s wrote no results ({done.returncode})")
    got, detail = figures(out)
    sent, failed = int(str(got.get("sent", 0))), int(str(got.get("failed", 0)))
    delivery = re.search(r"deliver\w*[^;]*", detail)
    undelivered = re.search(r"(\d+) of (\d+) accepted undelivered", detail)  # the step's exact count
    accepted = sent - failed
    lost = int(undelivered[1]) if undelivered else None
    delivered = "?" if lost is None else accepted - lost
    print(
        f"target {rate}/s: reached {float(str(got.get('throughput', 0))):.1f}/s; send-to-answer "
        f"p50 {got.get('p50')} ms, p95 {got.get('p95')} ms, p99 {got.get('p99')} ms; "
        f"sent {sent}, refused {failed} (error rate {100 * failed / sent if sent else 0:.2f}%), "
        f"delivered {delivered} of {accepted} accepted, lost {'?' if lost is None else lost}"
        f"\n    delivery: {delivery[0] if delivery else detail}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="50,200,500", help="target messages a second, comma-separated")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of each run (default 10)")
    ap.add_argument("--users", type=int, default=20, help="Locust users (default 20)")
    ap.add_argument("--locust-workers", type=int, default=2, help="Locust worker processes (default 2)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mhhs-load-"))
    try:
        for rate in (int(r) for r in args.rates.split(",")):
            measure(work, rate, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
