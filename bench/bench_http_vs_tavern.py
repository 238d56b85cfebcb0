#!/usr/bin/env python3
"""mhhs-sit's ``http`` step against Tavern, on the same workload, in the same run.

The workload is the Tavern baseline kit's (../shared/bench/tavern_baseline): N tests, each a POST
then a GET using an id saved from the POST, against its stdlib stub server. Tavern runs from the
kit's own pinned venv (created under /tmp on first use). Prints medians and ratios; asserts
nothing.

The evidence overhead (the same run with and without --alluredir) is measured in a pair of its
own, interleaved over --evidence-repeat rounds: its aim (at most 10 %) is finer than this machine's
run-to-run noise, so it gets more rounds than the rest.

    python bench/bench_http_vs_tavern.py [--n 1000] [--repeat 3] [--evidence-repeat 9] [--collect-n 10000]
                                         [--no-tavern]
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


# pytest's own temporary directories in a root of the benchmark's: under -n, xdist gives each worker
# a base temp, and pytest then prunes every older one it finds, those other test runs on this
# machine left behind included (seconds, on a busy machine), which is no cost of the tool measured.
# And Python as it runs by default, keeping compiled modules: with PYTHONDONTWRITEBYTECODE set (as
# some sandboxes and CI images do) every process compiles every module of an editable install from
# source, a cost a pip-installed peer does not pay (pip compiles at install).
_TEMP_ROOT = Path(tempfile.mkdtemp(prefix="mhhs-bench-tmp-"))
_ISOLATED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ISOLATED["PYTEST_DEBUG_TEMPROOT"] = str(_TEMP_ROOT)


def run_once(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user+sys) of the child process tree, last line of its output."""
    before = os.times()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_ISOLATED)
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if p.returncode not in (0, 5):
        print(p.stdout[-3000:], p.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}")
    return wall, cpu, (p.stdout.strip().splitlines() or [""])[-1]


def interleaved(commands: dict[str, tuple[list[str], Path]], repeat: int) -> dict[str, tuple[float, float, str]]:
    """Each command once per round, rounds repeated: a noisy machine slows all of them alike."""
    samples: dict[str, list[tuple[float, float, str]]] = {k: [] for k in commands}
    for _ in range(repeat):
        for label, (cmd, cwd) in commands.items():
            samples[label].append(run_once(cmd, cwd))
    return {
        label: (statistics.median(w for w, _, _ in got), statistics.median(c for _, c, _ in got), got[-1][2])
        for label, got in samples.items()
    }


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
    ap.add_argument("--evidence-repeat", type=int, default=9, help="rounds of the evidence pair (default: 9)")
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
        ours, ours100, big, empty = (work / d for d in ("ours", "ours100", "big", "empty"))
        write_project(ours, args.n, 1, url)
        write_project(ours100, args.n, 100, url)
        write_project(big, args.collect_n, 100, url)
        write_project(empty, 0, 1, url)
        alluredir = work / "allure-results"
        pytest = [sys.executable, "-m", "pytest", *FAST, "-q"]
        # no cleaning between rounds: deleting the previous round's files is not evidence cost
        evidence = [*pytest, f"--alluredir={alluredir}"]
        commands: dict[str, tuple[list[str], Path]] = {
            "mhhs-sit collect (1 case/file)": ([*pytest, "--collect-only"], ours),
            "mhhs-sit run serial (1 case/file)": (pytest, ours),
            "mhhs-sit run serial (100 cases/file)": (pytest, ours100),
            "mhhs-sit run -n 2": ([*pytest, "-n", "2"], ours),
            f"mhhs-sit collect {args.collect_n} cases": ([*pytest, "--collect-only"], big),
            "mhhs-sit start-up (no cases)": ([*pytest, "--collect-only"], empty),
        }
        venv = None if args.no_tavern else tavern_venv()
        tavern_allure = work / "tavern-allure"
        if venv is not None:
            tdir = work / "tavern"
            gen = [str(venv / "bin" / "python"), str(KIT / "gen_tests.py"), str(tdir), "--n", str(args.n)]
            subprocess.run([*gen, "--per-file", "1", "--host", url], check=True, capture_output=True)
            tav = [str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider", "--tavern-global-cfg", "common.yaml"]
            commands["Tavern collect"] = ([*tav, "--collect-only"], tdir)
            commands["Tavern run serial"] = (tav, tdir)
            venv_allure = Path(os.environ.get("VENV_ALLURE", "/tmp/tavbench-venv-allure"))
            if (venv_allure / "bin" / "pytest").exists():
                tav_allure = [
                    str(venv_allure / "bin" / "pytest"),
                    *tav[1:],
                    f"--alluredir={tavern_allure}",
                    "--clean-alluredir",
                ]
                commands["Tavern run serial + allure-pytest"] = (tav_allure, tdir)
        # one unmeasured round of collection warms the page cache and the on-disk scenario cache
        interleaved({k: v for k, v in commands.items() if "collect" in k}, 1)
        measured = interleaved(commands, args.repeat)
        pair = interleaved({"plain": (pytest, ours), "evidence": (evidence, ours)}, max(1, args.evidence_repeat))
        case_files = [p for p in alluredir.iterdir() if p.name.endswith(("-result.json", "-attachment.json"))]
        files_per_case = len(case_files) / max(args.n * max(1, args.evidence_repeat), 1)
        tavern_files = len(list(tavern_allure.iterdir())) / max(args.n, 1) if tavern_allure.is_dir() else None
        floor_cmd = [sys.executable, str(KIT / "raw_http_floor.py"), str(args.n), url]
        floor = float(subprocess.run(floor_cmd, capture_output=True, text=True, check=True).stdout.strip())
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(_TEMP_ROOT, ignore_errors=True)

    print(
        f"\n{args.n} tests (POST then GET with a saved id); medians of {args.repeat} interleaved rounds; "
        f"Python {sys.version.split()[0]}; cpu = user+sys of the pytest process\n"
    )
    print(f"{'measurement':<40} {'wall s':>8} {'cpu s':>8}  last line")
    for label, (wall, cpu, tail) in measured.items():
        print(f"{label:<40} {wall:8.2f} {cpu:8.2f}  {tail[:60]}")
    print(f"{'raw requests floor (in-process)':<40} {floor:8.2f} {'':>8}  {args.n} POST+GET pairs")
    ours_run = measured["mhhs-sit run serial (1 case/file)"]
    if "Tavern run serial" in measured:
        tav_run = measured["Tavern run serial"]
        print(
            f"\nspeed-up over Tavern, serial run: {tav_run[0] / ours_run[0]:.1f}x wall, "
            f"{tav_run[1] / ours_run[1]:.1f}x cpu (aim: >= 4.5x)"
        )
    print(
        f"per case: {ours_run[0] / args.n * 1000:.2f} ms against the raw floor's {floor / args.n * 1000:.2f} ms "
        f"= {ours_run[0] / floor:.2f}x (aim: <= 1.5x)"
    )
    parallel = measured["mhhs-sit run -n 2"]
    print(
        f"-n 2 against serial: {parallel[0]:.2f} s against {ours_run[0]:.2f} s = {parallel[0] / ours_run[0]:.2f}x "
        "(aim: <= 1.0x, not slower)"
    )
    if "Tavern collect" in measured:
        collect = measured["Tavern collect"][0] / measured["mhhs-sit collect (1 case/file)"][0]
        print(f"speed-up over Tavern, collection: {collect:.1f}x wall")
    (plain_wall, plain_cpu, _), (ev_wall, ev_cpu, _) = pair["plain"], pair["evidence"]
    wall_pct, cpu_pct = (ev_wall / plain_wall - 1) * 100, (ev_cpu / plain_cpu - 1) * 100
    print(
        f"evidence overhead (medians of {args.evidence_repeat} interleaved rounds: {plain_wall:.2f} s plain, "
        f"{ev_wall:.2f} s with --alluredir): {wall_pct:+.1f}% wall, {cpu_pct:+.1f}% cpu (the writer process's "
        f"included), {files_per_case:.2f} files per case (aim: <= 10% wall, <= 2 files)"
    )
    if "Tavern run serial + allure-pytest" in measured and tavern_files is not None:
        ta = measured["Tavern run serial + allure-pytest"]
        tav_plain = measured["Tavern run serial"]
        print(
            f"Tavern with allure-pytest: {(ta[0] / tav_plain[0] - 1) * 100:+.0f}% wall, "
            f"{(ta[1] / tav_plain[1] - 1) * 100:+.0f}% cpu, {tavern_files:.2f} files per test"
        )
    big_run = measured[f"mhhs-sit collect {args.collect_n} cases"]
    start = measured["mhhs-sit start-up (no cases)"]
    print(
        f"collection of {args.collect_n} cases (warm scenario cache): {big_run[0]:.2f} s wall, "
        f"{big_run[0] - start[0]:.2f} s beyond an empty session's start-up (aim: < 1.5 s)"
    )


if __name__ == "__main__":
    main()
