#!/usr/bin/env python3
"""How long each way of starting the DIP simulator takes until it accepts a first message.

Each start is timed from the call that starts it to the 201 of a first valid IF-031 message
(schema validation included), for: embedded (uvicorn in a thread of this process), a standalone
process (``python -m mhhs_stubs --config FILE``), and a container through testcontainers (when a
Docker engine and the base image are there; the image is built or found first and timed apart).
Prints median, min and max of N starts; asserts nothing.

    python bench/bench_simulator_start.py [--n 5] [--no-container]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mhhs_sit.definitions.cohorts import load_cohorts  # noqa: E402
from mhhs_sit.definitions.environments import load_environment  # noqa: E402
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message  # noqa: E402
from mhhs_sit.execution.local_stubs import simulator_config  # noqa: E402
from mhhs_stubs import EmbeddedSimulator  # noqa: E402
from mhhs_stubs.config import SimulatorConfig  # noqa: E402
from mhhs_stubs.config_file import write_config  # noqa: E402

SUP = "2300000101"
B071 = {
    "proposedDataServiceDIPID": "1400000101", "proposedDataServiceMPID": "SDSA",
    "proposedDataServiceDIPEffectiveFromDate": "2026-01-01T00:00:00+00:00", "contractReferenceDataService": "C-1",
    "appointmentScenario": "CSP", "supplierNominatedMDRDIPID": None, "supplierNominatedMDRMPID": None,
    "supplierNominatedMDREffectiveFromDate": None, "supplierProposedConsentGranularity": "H",
    "supplierProposedDomesticIndicator": True, "traditionalFallBackReadFrequency": None,
}  # fmt: skip


def first_accepted(url: str, key: str, deadline: float) -> None:
    """Send until the simulator answers 201 (connection refused while it is still starting)."""
    body = [{"payload": build_message(
        interface_id="IF-031", event="DSApp", sender=Sender(SUP, "SUP"), environment_tag="DEV",
        refs=ReferenceSource(), custom={"B071": B071}, recipients=["2200000101"], mpan="1000000000011",
        distributor_dip_id="2500000101",
    )}]  # fmt: skip
    while True:
        try:
            r = requests.post(f"{url}/dip-channel/IF-031", json=body, headers={"X-API-Key": key}, timeout=5)
            if r.status_code == 201:
                return
            raise SystemExit(f"the simulator refused the benchmark message: {r.status_code} {r.text[:300]}")
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing accepted a message at {url}") from None
            time.sleep(0.005)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def embedded(config: SimulatorConfig) -> tuple[float, float]:
    t0 = time.perf_counter()
    sim = EmbeddedSimulator(config).start()
    first_accepted(sim.url, config.api_keys[SUP], time.monotonic() + 30)
    t1 = time.perf_counter()
    sim.stop()
    return t1 - t0, time.perf_counter() - t1


def standalone(config: SimulatorConfig, config_file: Path) -> tuple[float, float]:
    port = free_port()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mhhs_stubs", "--config", str(config_file), "--port", str(port)],
        stdout=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        first_accepted(f"http://127.0.0.1:{port}", config.api_keys[SUP], time.monotonic() + 60)
        t1 = time.perf_counter()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return t1 - t0, time.perf_counter() - t1


def container(config: SimulatorConfig) -> tuple[float, float]:
    from mhhs_sit.execution.containers import ContainerSimulator

    t0 = time.perf_counter()
    sim = ContainerSimulator(config).start()
    try:
        first_accepted(sim.url, config.api_keys[SUP], time.monotonic() + 60)
        t1 = time.perf_counter()
    finally:
        sim.stop()
    return t1 - t0, time.perf_counter() - t1


def report(name: str, runs: list[tuple[float, float]]) -> None:
    starts = [s * 1000 for s, _ in runs]
    stops = [s * 1000 for _, s in runs]
    print(
        f"{name:<48} median {statistics.median(starts):8.1f} ms  min {min(starts):8.1f}  max {max(starts):8.1f}"
        f"   (stop: median {statistics.median(stops):6.1f} ms; n={len(runs)})",
        flush=True,
    )


def repeat(n: int, fn: Callable[[], tuple[float, float]]) -> list[tuple[float, float]]:
    return [fn() for _ in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5, help="starts per way (default 5)")
    parser.add_argument("--no-container", action="store_true", help="skip the container")
    args = parser.parse_args()

    os.chdir(REPO)
    cohorts, problems = load_cohorts(REPO / "cohorts")
    env, env_problems = load_environment("local", REPO / "environments")
    if problems or env_problems or env is None:
        raise SystemExit(f"definitions have problems: {problems + env_problems}")
    config = simulator_config(env, cohorts.values(), signing="optional")  # as `stubs up`: API key alone
    print(f"{len(config.participants)} participants, validation against catalogue {config.version}; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")  # fmt: skip

    # the first start in a process also compiles the interface schema; later ones find it compiled
    report("embedded, first start in this process", [embedded(config)])
    report("embedded (in-process), later starts", repeat(args.n, lambda: embedded(config)))
    with tempfile.TemporaryDirectory(prefix="mhhs-bench-") as tmp:
        config_file = write_config(config, Path(tmp) / "sim.json")
        report("standalone process, start to first 201", repeat(args.n, lambda: standalone(config, config_file)))

    if args.no_container:
        return 0
    from mhhs_sit.errors import EnvironmentBroken
    from mhhs_sit.execution.containers import docker_client, simulator_image

    try:
        t0 = time.perf_counter()
        client = docker_client()
        image = simulator_image(client)
        print(f"{'container image ' + image:<48} ready in {1000 * (time.perf_counter() - t0):.0f} ms (built or found)")
    except EnvironmentBroken as exc:
        print(f"container: not measured: {exc}")
        return 0
    report("container (testcontainers), start to first 201", repeat(args.n, lambda: container(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
