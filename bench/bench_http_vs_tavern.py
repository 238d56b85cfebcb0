#!/usr/bin/env python3
"""mhhs-sit's ``http`` step against Tavern, on the same workload, in the same run.

The workload is the Tavern baseline kit's (../shared/bench/tavern_baseline): N tests, each a POST
then a GET using an id saved from the POST, against its stdlib stub server. Tavern runs from the
kit's own pinned venv (created under /tmp on first use). Prints medians and ratios; asserts
nothing.

    python bench/bench_http_vs_tavern.py [--n 1000] [--repeat 3] [--collect-n 10000] [--no-tavern]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KIT = (REPO / ".." / "shared" / "bench" / "tavern_baseline").resolve()
FAST = ["-p", "no:cacheprovider", "-p", "no:faker", "-p", "no:anyio", "-p", "no:hypothesispytest"]

CASE = """  - id: BENCH-{i:05d}
    title: message roundtrip {i:05d}
    steps:
      - http:
          method: POST
          url: /messages
          json: {{participant: "P{i:05d}", payload: "hello-{i:05d}"}}
          expect:
            status: 201
            json: {{id: {{type: string}}, echo.participant: "P{i:05d}", echo.payload: "hello-{i:05d}"}}
        save: {{msg_id: json.id}}
      - http:
          url: "/messages/{{{{ msg_id }}}}"
          expect:
            status: 200
            json: {{id: "{{{{ msg_id }}}}", body.participant: "P{i:05d}", body.payload: "hello-{i:05d}"}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_project(root: Path, n: int, per_file: int, url: str) -> None:
    if root.exists():
        shutil.rmtree(root)
    (root / "cohorts").mkdir(parents=True)
    (root / "environments").mkdir()
    (root / "test_themes").mkdir()
    (root / "pytest.ini").write_text("[pytest]\nmhhs_env = bench\n")
    (root / "cohorts" / "C1.yaml").write_text('cohort: C1\nparticipants:\n  SUP: {mpid: SUPA, dip_id: "2300000101"}\n')
    (root / "environments" / "bench.yaml").write_text(
        f"environment: bench\nenvironment_tag: DEV\nstubs: none\ndip_url: {url}\nretries: 0\n"
    )
    for f in range(0, n, per_file):
        cases = "".join(CASE.format(i=i) for i in range(f, min(n, f + per_file)))
        (root / "test_themes" / f"bench_{f:05d}.yaml").write_text(
            f"scenario: BENCH-S{f:05d}\ntitle: bench\nstage: sit-functional\ntheme: 1\nroles: [SUP]\ncases:\n{cases}"
        )


def timed(cmd: list[str], cwd: Path, repeat: int) -> tuple[float, str]:
    walls, tail = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        tail = (p.stdout.strip().splitlines() or [""])[-1]
        if p.returncode not in (0, 5):
            print(p.stdout[-3000:], p.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}")
    return statistics.median(walls), tail


def make_venv(venv: Path, requirements: Path) -> bool:
    """The kit's pinned venv (Tavern 3.7.1 needs pytest 9.1.1), created on first use."""
    if not (venv / "bin" / "pytest").exists():
        print(f"creating {venv} from {requirements} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(requirements)], cwd=KIT)
        return done.returncode == 0
    return True


def tavern_venv() -> Path | None:
    venv = Path(os.environ.get("VENV", "/tmp/tavbench-venv"))
    make_venv(Path(os.environ.get("VENV_ALLURE", "/tmp/tavbench-venv-allure")), KIT / "requirements-allure.txt")
    return venv if make_venv(venv, KIT / "requirements.txt") else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--collect-n", type=int, default=10000)
    ap.add_argument("--no-tavern", action="store_true")
    args = ap.parse_args()
    if not KIT.is_dir():
        raise SystemExit(f"the Tavern baseline kit is not at {KIT}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, str(KIT / "server.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    work = Path(tempfile.mkdtemp(prefix="mhhs-bench-"))
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        rows: list[tuple[str, float, str]] = []
        ours = work / "ours"
        write_project(ours, args.n, 1, url)
        pytest = [sys.executable, "-m", "pytest", *FAST, "-q"]
        rows.append(("mhhs-sit collect (1 case/file)", *timed([*pytest, "--collect-only"], ours, args.repeat)))
        rows.append(("mhhs-sit run serial (1 case/file)", *timed(pytest, ours, args.repeat)))
        ours100 = work / "ours100"
        write_project(ours100, args.n, 100, url)
        rows.append(("mhhs-sit run serial (100 cases/file)", *timed(pytest, ours100, args.repeat)))
        rows.append(("mhhs-sit run -n 2", *timed([*pytest, "-n", "2"], ours, args.repeat)))
        alluredir = work / "allure-results"
        evidence = [*pytest, f"--alluredir={alluredir}", "--mhhs-clean-alluredir"]
        rows.append(("mhhs-sit run serial + Allure evidence", *timed(evidence, ours, args.repeat)))
        files_per_case = len(list(alluredir.iterdir())) / max(args.n, 1)
        big = work / "big"
        write_project(big, args.collect_n, 100, url)
        rows.append((f"mhhs-sit collect {args.collect_n} cases", *timed([*pytest, "--collect-only"], big, args.repeat)))
        empty = work / "empty"
        write_project(empty, 0, 1, url)
        rows.append(("mhhs-sit start-up (no cases)", *timed([*pytest, "--collect-only"], empty, args.repeat)))
        tavern: dict[str, float] = {}
        venv = None if args.no_tavern else tavern_venv()
        if venv is not None:
            tdir = work / "tavern"
            subprocess.run(
                [
                    str(venv / "bin" / "python"),
                    str(KIT / "gen_tests.py"),
                    str(tdir),
                    "--n",
                    str(args.n),
                    "--per-file",
                    "1",
                    "--host",
                    url,
                ],
                check=True,
                capture_output=True,
            )
            tav = [str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider", "--tavern-global-cfg", "common.yaml"]
            for label, extra in (("collect", ["--collect-only"]), ("run serial", [])):
                wall, tail = timed([*tav, *extra], tdir, args.repeat)
                tavern[label] = wall
                rows.append((f"Tavern {label}", wall, tail))
            venv_allure = Path(os.environ.get("VENV_ALLURE", "/tmp/tavbench-venv-allure"))
            if (venv_allure / "bin" / "pytest").exists():
                tav_dir = work / "tavern-allure"
                tav_allure = [str(venv_allure / "bin" / "pytest"), *tav[1:], "--alluredir", str(tav_dir)]
                wall, tail = timed(tav_allure, tdir, 1)
                tavern["allure"] = wall
                tavern["allure files"] = len(list(tav_dir.iterdir())) / max(args.n, 1)
                rows.append(("Tavern run serial + allure-pytest", wall, tail))
        floor = subprocess.run(
            [sys.executable, str(KIT / "raw_http_floor.py"), str(args.n), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        rows.append(("raw requests floor (in-process)", float(floor), f"{args.n} POST+GET pairs"))
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\n{args.n} tests (POST then GET with a saved id), median of {args.repeat}, Python {sys.version.split()[0]}\n"
    )
    print(f"{'measurement':<40} {'wall s':>8} {'ms/test':>8}  last line")
    for label, wall, tail in rows:
        per = wall / (args.collect_n if "collect " + str(args.collect_n) in label else max(args.n, 1)) * 1000
        print(f"{label:<40} {wall:8.2f} {per:8.2f}  {tail[:60]}")
    ours_run = next(w for label, w, _ in rows if label == "mhhs-sit run serial (1 case/file)")
    if "run serial" in tavern:
        print(f"\nspeed-up over Tavern, serial run: {tavern['run serial'] / ours_run:.1f}x (aim: >= 4x)")
        print(f"speed-up over Tavern, collection: {tavern['collect'] / rows[0][1]:.1f}x")
    plain = next(w for label, w, _ in rows if label == "mhhs-sit run serial (1 case/file)")
    with_evidence = next(w for label, w, _ in rows if label == "mhhs-sit run serial + Allure evidence")
    print(
        f"evidence overhead: +{(with_evidence / plain - 1) * 100:.0f}% wall, {files_per_case:.2f} files per case "
        "(aim: <= 10%, <= 2 files)"
    )
    if "allure" in tavern:
        print(
            f"Tavern with allure-pytest: +{(tavern['allure'] / tavern['run serial'] - 1) * 100:.0f}% wall, "
            f"{tavern['allure files']:.2f} files per test"
        )
    big_wall = next(w for label, w, _ in rows if label.startswith(f"mhhs-sit collect {args.collect_n}"))
    print(f"collection of {args.collect_n} cases: {big_wall:.2f} s including interpreter start-up (aim: < 1.5 s)")


if __name__ == "__main__":
    main()
