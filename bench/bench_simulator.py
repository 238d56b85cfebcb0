#!/usr/bin/env python3
"""Throughput and latency of the DIP simulator: accepted, validated, routed and delivered.

Three processes on loopback: the simulator (schema validation on, for the catalogue version of
the local environment's IR, and signatures required, as on the DIP and in a run), a webhook sink
that timestamps every message it receives, and a load generator with C concurrent keep-alive
connections, each sending one signed message per request (the worst case for the simulator;
batches would be faster). The messages are signed before the clock starts, so the figures are the
simulator's (it verifies every signature, and signs every push), not the load generator's RSA.
Every message is counted end to end: the sink must see each accepted message exactly once. In
the same run, the same load generator measures the raw loopback HTTP floor against a server
that answers 201 at once.
Prints figures; asserts nothing.

    python bench/bench_simulator.py [--n 6000] [--concurrency 32] [--repeat 1] [--signing required|off]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WARM_UP = 300  # messages sent before each measured run
SUP, REGS = "2300000101", "2200000101"
OK_BODY = b'{"messageArray":[{"message":"RCP0000 - Success"}],"timestamp":"2026-01-01T00:00:00+00:00"}'
OK_RESPONSE = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(OK_BODY)).encode()
    + b"\r\n\r\n"
    + OK_BODY
)


# -- minimal HTTP/1.1 over asyncio streams (both ends of the floor and the sink) ----------


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(start line, body) of one HTTP/1.1 message with Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    start, _, rest = head.partition(b"\r\n")
    length = 0
    for line in rest.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return start, body


def serve(port_out: Any, record: bool, ready: Any, stop: Any, results: Any) -> None:
    """A webhook sink (record=True: timestamps each message) or a raw 201 floor server."""
    arrivals: dict[str, float] = {}
    counts = {"requests": 0, "messages": 0, "duplicates": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                _, body = await read_message(reader)
                counts["requests"] += 1
                if record:
                    now = time.monotonic()
                    for m in json.loads(body):
                        sur = m["payload"]["CommonBlock"]["S1"]["senderUniqueReference"]
                        counts["messages"] += 1
                        if sur in arrivals:
                            counts["duplicates"] += 1
                        else:
                            arrivals[sur] = now
                writer.write(OK_RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_out.value = server.sockets[0].getsockname()[1]
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.close()
        results.put({"arrivals": arrivals, **counts})

    asyncio.run(main())


Body = tuple[str, bytes, bytes]  # senderUniqueReference, request body, its own headers (signature)


async def load(port: int, path: str, bodies: list[Body], headers: bytes, concurrency: int, rate: float = 0.0) -> Any:
    """Send every body on ``concurrency`` keep-alive connections; (sur, sent-at, status) each.

    ``rate`` > 0 paces the senders together to that many messages per second (open loop): each
    message has a due time, and its latency counts from then, so a slow server cannot hide its
    delay by slowing the senders down (coordinated omission).
    """
    out: list[tuple[str, float, int]] = []
    it = iter(enumerate(bodies))
    started = time.monotonic()

    async def conn() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i, (sur, body, signed) in it:
            sent = time.monotonic()
            if rate:
                due = started + i / rate
                if due > sent:
                    await asyncio.sleep(due - sent)
                sent = due
            writer.write(
                b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1:" + str(port).encode() + b"\r\n"
                + headers + signed + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )  # fmt: skip
            start, _ = await read_message(reader)
            out.append((sur, sent, int(start.split()[1])))
        writer.close()

    await asyncio.gather(*(conn() for _ in range(concurrency)))
    return out, started, time.monotonic()


# -- the simulator process -----------------------------------------------------------------


def bench_config(keys: dict[str, str], version: str, workdir: Path, signing: str = "required") -> Any:
    """The cohorts' config, with the registration service played from outside: every message is
    pushed to a webhook (none is answered inside the simulator). Signatures are required; the
    sender's and the registration service's keys are written to ``workdir`` for the simulator's
    process to trust (what a run does: ``mhhs_sit.execution.local_stubs``)."""
    sys.path.insert(0, str(REPO))
    from dataclasses import replace

    from mhhs_sit.definitions.cohorts import load_cohorts
    from mhhs_stubs import config_from_cohorts

    cohorts, _ = load_cohorts(REPO / "cohorts")
    config = config_from_cohorts(cohorts.values(), version=version, keys=keys, signing=signing)
    config.credentials.write(workdir, [SUP, REGS])
    parts = dict(config.participants)
    for dip_id in (SUP, REGS):
        parts[dip_id] = replace(
            parts[dip_id], simulated=False, key_file=str(workdir / f"{dip_id}.key"),
            cert_file=str(workdir / f"{dip_id}.pem"),
        )  # fmt: skip
    return replace(config, participants=parts)


def start_standalone(config: Any, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    """``python -m mhhs_stubs`` (what ``mhhs-sit stubs up`` and the container run) and its URL."""
    from mhhs_stubs.config_file import READY, write_config

    path = write_config(config, workdir / "sim.json")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mhhs_stubs", "--config", str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(READY):
        proc.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return proc, line.split()[1]


def build_bodies(n: int, url: str, signer: Any, prefix: str = "bench") -> list[Body]:
    """``n`` IF-031 messages, each with its signature headers for ``url`` (valid for the
    simulator's 300 s signature skew: a run takes seconds)."""
    from mhhs_sit.dip.envelope import ReferenceSource
    from tests.stubs.messages import appointment

    refs = ReferenceSource(prefix)
    out = []
    for i in range(n):
        m = appointment(f"{1000000000000 + i * 10:013d}", refs)  # the tests' IF-031 (C1's SUP to REGS)
        body = json.dumps([{"payload": m}]).encode()
        signed = b"".join(f"{k}: {v}\r\n".encode() for k, v in signer.headers("POST", url, body).items())
        out.append((m["CommonBlock"]["S1"]["senderUniqueReference"], body, signed))
    return out


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used: a figure that a busy machine does not blur
    as it does the rates (other processes take the cores, not the simulator's work)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _NoSigner:
    """The floor server checks nothing: no signature headers."""

    def headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        return {}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def one_run(n: int, concurrency: int, version: str, rate: float = 0.0, signing: str = "required") -> dict[str, float]:
    ctx = mp.get_context("spawn")
    keys = {SUP: "bench-sup-key-000000000000000000", REGS: "bench-regs-key-00000000000000000"}
    workdir = Path(tempfile.mkdtemp(prefix="mhhs-bench-"))
    config = bench_config(keys, version, workdir, signing)
    floor_bodies = [(sur, body, b"") for sur, body, _ in build_bodies(n, "http://127.0.0.1/x", _NoSigner())]

    # the raw loopback floor, same load generator, same concurrency
    f_port, f_ready, f_stop, f_res = ctx.Value("i", 0), ctx.Event(), ctx.Event(), ctx.Queue()
    floor_proc = ctx.Process(target=serve, args=(f_port, False, f_ready, f_stop, f_res), daemon=True)
    floor_proc.start()
    f_ready.wait(10)
    json_type = b"Content-Type: application/json\r\n"
    asyncio.run(load(f_port.value, "/x", floor_bodies[:WARM_UP], json_type, concurrency))
    floor, f0, f1 = asyncio.run(load(f_port.value, "/x", floor_bodies, json_type, concurrency))
    f_stop.set()
    f_res.get(timeout=10)
    floor_proc.join(10)

    s_port, s_ready, s_stop, s_res = ctx.Value("i", 0), ctx.Event(), ctx.Event(), ctx.Queue()
    sink = ctx.Process(target=serve, args=(s_port, True, s_ready, s_stop, s_res), daemon=True)
    sink.start()
    t_start = time.monotonic()
    sim, base = start_standalone(config, workdir)
    s_ready.wait(10)
    import requests

    hook = json.dumps({"callbackURL": f"http://127.0.0.1:{s_port.value}/hook", "maxMessageCount": 100}).encode()
    pubconfig = f"{base}/dip-channel/IF-031/pubconfig/{REGS}"
    signed_hook = config.credentials.participant(REGS).signer().headers("POST", pubconfig, hook)
    r = requests.post(pubconfig, data=hook, timeout=10, headers={
        "X-API-Key": keys[REGS], "Content-Type": "application/json", **signed_hook,
    })  # fmt: skip
    r.raise_for_status()
    startup = time.monotonic() - t_start
    headers = b"Content-Type: application/json\r\nX-API-Key: " + keys[SUP].encode() + b"\r\n"
    port = int(base.rsplit(":", 1)[1])
    signer = config.credentials.participant(SUP).signer() if signing == "required" else _NoSigner()
    warm = build_bodies(WARM_UP, f"{base}/dip-channel/IF-031", signer, prefix="warm")
    bodies = build_bodies(n, f"{base}/dip-channel/IF-031", signer)
    control = {"X-Sim-Control-Key": config.control_key}
    # Not measured: the first messages compile the interface's schema and open the push connection.
    asyncio.run(load(port, "/dip-channel/IF-031", warm, headers, concurrency))
    requests.post(f"{base}/_sim/idle", headers=control, params={"timeout": 60}, timeout=70)
    cpu_before = cpu_seconds(sim.pid)
    sent, l0, l1 = asyncio.run(load(port, "/dip-channel/IF-031", bodies, headers, concurrency, rate))
    accepted = {sur: t for sur, t, status in sent if status == 201}
    requests.post(f"{base}/_sim/idle", headers=control, params={"timeout": 60}, timeout=70)
    cpu = cpu_seconds(sim.pid) - cpu_before
    totals = requests.get(f"{base}/_sim/deliveries", headers=control, params={"limit": 1}, timeout=30).json()["totals"]
    s_stop.set()
    got = s_res.get(timeout=30)
    sink.join(10)
    sim.terminate()
    sim.wait(10)
    shutil.rmtree(workdir, ignore_errors=True)
    arrivals = got["arrivals"]
    latencies = [(arrivals[s] - t) * 1000 for s, t in accepted.items() if s in arrivals]
    last = max(arrivals.values()) if arrivals else l1
    return {
        "n": n,
        "accepted": len(accepted),
        "refused": len(sent) - len(accepted),
        "delivered": len(latencies),
        "lost": len(accepted) - len(latencies),
        "duplicates": got["duplicates"],  # of the measured and the warm-up messages
        "pushes": got["requests"],
        "send_rate": len(accepted) / (l1 - l0),
        "end_to_end_rate": len(latencies) / (last - l0),
        "p50_ms": pct(latencies, 50) if latencies else float("nan"),
        "p99_ms": pct(latencies, 99) if latencies else float("nan"),
        "max_ms": max(latencies) if latencies else float("nan"),
        "floor_rate": len(floor) / (f1 - f0),
        "startup_s": startup,
        "journal_delivered": totals.get("delivered", 0),
        "cpu_ms": cpu * 1000 / max(len(accepted), 1),  # nan where /proc is not there
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=6000, help="messages per run (default 6000)")
    ap.add_argument("--concurrency", type=int, default=32, help="concurrent senders (default 32)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--rate",
        type=float,
        default=1500.0,
        help="paced run at this many msg/s for the latency figures (0: saturation only; default 1500)",
    )
    ap.add_argument("--version", default=None, help="catalogue version to validate against (default: local IR's)")
    ap.add_argument(
        "--signing",
        choices=("required", "off"),
        default="required",
        help="required (default, as a run and the DIP): every message signed and verified; off: the cost without",
    )
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from mhhs_sit.catalogue import load_catalogue

    version = args.version or load_catalogue().resolve_version("IR8.2")
    print(
        f"simulator benchmark: {args.n} IF-031 messages, {args.concurrency} senders, validation {version}, "
        f"signing {args.signing}"
    )
    report(
        "saturation (senders as fast as answers come back)",
        [one_run(args.n, args.concurrency, version, signing=args.signing) for _ in range(args.repeat)],
    )
    if args.rate:
        report(f"paced at {args.rate:g} msg/s (latency from each message's due time)", [
            one_run(args.n, args.concurrency, version, args.rate, args.signing) for _ in range(args.repeat)
        ])  # fmt: skip


def report(title: str, runs: list[dict[str, float]]) -> None:
    print(title)
    for r in runs:
        print(
            f"  accepted {r['accepted']}/{r['n']} refused {r['refused']} delivered {r['delivered']} "
            f"lost {r['lost']} duplicates {r['duplicates']} (journal: {r['journal_delivered']} delivered, "
            f"{r['pushes']} pushes)"
        )
        print(
            f"  send→accept {r['send_rate']:.0f} msg/s; send→delivered {r['end_to_end_rate']:.0f} msg/s; "
            f"latency send→delivery p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms max {r['max_ms']:.1f} ms"
        )
        print(
            f"  raw loopback HTTP floor (same client): {r['floor_rate']:.0f} req/s → simulator end to end is "
            f"{r['end_to_end_rate'] / r['floor_rate']:.2f}x the floor; simulator process start to ready "
            f"{r['startup_s']:.2f} s"
        )
        batch = (r["n"] + WARM_UP) / max(r["pushes"], 1)
        print(
            f"  simulator CPU {r['cpu_ms']:.3f} ms per message (accept, validate, verify, journal, sign and push; "
            f"~{batch:.0f} messages per push): one core's worth at that batching is {1000 / r['cpu_ms']:.0f} msg/s"
        )
    if len(runs) > 1:
        med = statistics.median(r["end_to_end_rate"] for r in runs)
        p50 = statistics.median(r["p50_ms"] for r in runs)
        p99 = statistics.median(r["p99_ms"] for r in runs)
        print(f"  median of {len(runs)}: {med:.0f} msg/s end to end, p50 {p50:.1f} ms, p99 {p99:.1f} ms")


if __name__ == "__main__":
    main()
