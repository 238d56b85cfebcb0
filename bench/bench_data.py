"""Benchmark synthetic test data against its peers, measured in the same run. Prints figures only.

    python bench/bench_data.py [--count 1000000] [--peer-count 100000] [--no-rss]

Peers: the ``mpan`` package's random MPAN generator (``pip install mpan``; no uniqueness) and
per-record Faker ``en_GB`` addresses. Aims: >= 2,000,000 valid unique MPAN cores/s and >= 200,000
full metering-point records/s on one core, with memory flat as the count grows (the peak RSS of
writing 100k and 1M records to CSV, each in a fresh process).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata

from mhhs_sit.cli.data import register
from mhhs_sit.data import is_valid_mpan_core
from mhhs_sit.data.addresses import address_book
from mhhs_sit.data.distributors import DNO_IDS
from mhhs_sit.data.filecheck import check_file
from mhhs_sit.data.generate import iter_core_chunks, iter_record_chunks, write_csv, write_jsonl
from mhhs_sit.data.points import Parties
from mhhs_sit.data.render import RowMaker
from mhhs_sit.data.sequence import make_stream

PARTIES = Parties("SUPA", {"MSS": "MSSA", "SDS": "SDSA", "MSA": "MSAA", "ADS": "ADSA"})


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - start


def line(label: str, n: int, seconds: float, note: str = "") -> float:
    rate = n / seconds if seconds else float("inf")
    print(f"  {label:<44} {n:>10,} in {seconds:7.2f} s = {rate:>12,.0f}/s  {note}")
    return rate


def peak_rss_mib_of_generate(count: int) -> float:
    """Peak RSS of a fresh process that writes ``count`` metering points to CSV."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip())


def rss_child(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        parser = argparse.ArgumentParser()
        register(parser.add_subparsers())
        args = parser.parse_args(["data", "generate", "--cohort", "C3", "--count", str(count), "--out", f"{tmp}/x.csv"])
        args.func(args)
    print(peak_rss_mib())


def peak_rss_mib() -> float:
    """This process's peak RSS. On Linux VmHWM, because ru_maxrss survives exec and would
    report the (large) benchmark process that forked this one."""
    try:
        with open("/proc/self/status") as fh:
            for text in fh:
                if text.startswith("VmHWM:"):
                    return int(text.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_cores(count: int) -> float:
    print(f"MPAN cores (cohort C3, seed 0, DNOs 10-23), {count:,}:")
    stream = make_stream(3, DNO_IDS, 0)
    n, seconds = timed(lambda: sum(len(c) for c in iter_core_chunks(stream, count)))
    # The timed loop keeps nothing; make the same cores again to check them, untimed.
    cores = [c for chunk in iter_core_chunks(stream, count) for c in chunk]
    unique = len(set(cores)) == len(cores) == count
    valid = all(map(is_valid_mpan_core, cores))
    rate = line("mhhs_sit.data (generate)", n, seconds, f"unique={unique} valid={valid}")
    _, check_s = timed(lambda: sum(map(is_valid_mpan_core, cores)))
    line("mhhs_sit.data is_valid_mpan_core", len(cores), check_s)
    return rate


def bench_mpan_package(count: int, ours: list[str]) -> float | None:
    try:
        import mpan
        from mpan.generation.helpers import generate
    except ImportError:
        print("  mpan package not installed: pip install mpan (peer figures skipped)")
        return None
    version = metadata.version("mpan")
    n, seconds = timed(lambda: sum(1 for _ in range(count) if generate()))
    rate = line(f"mpan {version} generation.helpers.generate()", n, seconds, "random, may repeat")
    sample = ours[:count]
    _, check_s = timed(lambda: sum(map(mpan.is_valid, sample)))
    line("mpan is_valid()", len(sample), check_s)
    return rate


def bench_faker(count: int) -> float:
    from faker import Faker

    fake = Faker("en_GB")
    fake.seed_instance(0)
    n, seconds = timed(lambda: sum(1 for _ in range(count) if fake.address()))
    return line("Faker en_GB address(), per record", n, seconds)


def bench_records(count: int) -> dict[str, float]:
    print(f"Metering points (cohort C3, seed 0, DNOs 10-23), {count:,}:")
    _, build_s = timed(lambda: len(address_book(0).streets))
    print(f"  address pools built once (Faker en_GB)     {build_s:7.2f} s")
    stream = make_stream(3, DNO_IDS, 0)
    maker = RowMaker(address_book(0), PARTIES)
    rates = {}
    n, seconds = timed(lambda: sum(len(c) for c in iter_record_chunks(stream, count, maker)))
    rates["tuples"] = line("records as tuples (in memory)", n, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        for name, write in (("csv", write_csv), ("jsonl", write_jsonl)):
            path = os.path.join(tmp, f"points.{name}")

            def run(path: str = path, write: Callable = write) -> int:
                with open(path, "w", encoding="utf-8", newline="", buffering=1 << 20) as fh:
                    return write(fh, stream, count, maker)

            n, seconds = timed(run)
            size = os.path.getsize(path) / 2**20
            rates[name] = line(f"records to {name.upper()} file", n, seconds, f"{size:,.0f} MiB")
    return rates


def bench_cli(count: int) -> None:
    print(f"CLI end to end, {count:,} metering points:")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/c3.csv"
        argv = ["data", "generate", "--cohort", "C3", "--count", str(count), "--out", out]
        args = parser.parse_args(argv)
        _, seconds = timed(lambda: args.func(args))
        line("mhhs-sit data generate --format csv", count, seconds, "incl. address pools")
        start = time.perf_counter()
        report = check_file(out)
        seconds = time.perf_counter() - start
        line("mhhs-sit data check", report.rows, seconds, f"problems={len(report.problems)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--count", type=int, default=1_000_000, help="cores and records per run")
    p.add_argument("--peer-count", type=int, default=100_000, help="mpan-package MPANs to make")
    p.add_argument("--faker-count", type=int, default=20_000, help="Faker addresses to make")
    p.add_argument("--no-rss", action="store_true", help="skip the peak-RSS subprocesses")
    p.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI run")
    p.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.rss_child is not None:
        rss_child(args.rss_child)
        return
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); one core used\n")
    ours = bench_cores(args.count)
    sample = [c for chunk in iter_core_chunks(make_stream(3, DNO_IDS, 0), args.peer_count)
              for c in chunk]  # fmt: skip
    peer = bench_mpan_package(args.peer_count, sample)
    faker = bench_faker(args.faker_count)
    print()
    rates = bench_records(args.count)
    print()
    if not args.no_cli:
        bench_cli(args.count)
        print()
    print("Ratios (same run):")
    if peer:
        print(f"  MPAN cores vs mpan package generate():   {ours / peer:8.1f} x")
    print(f"  CSV records vs per-record Faker address: {rates['csv'] / faker:8.1f} x")
    print(f"  tuple records vs per-record Faker:       {rates['tuples'] / faker:8.1f} x")
    print(f"  aims: cores >= 2,000,000/s: {'met' if ours >= 2e6 else 'NOT met'}; "
          f"CSV records >= 200,000/s: {'met' if rates['csv'] >= 2e5 else 'NOT met'}")  # fmt: skip
    if not args.no_rss:
        print("\nPeak RSS of `data generate` to CSV in a fresh process:")
        small = peak_rss_mib_of_generate(100_000)
        large = peak_rss_mib_of_generate(1_000_000)
        print(f"  100,000 records: {small:6.1f} MiB\n  1,000,000 records: {large:4.1f} MiB"
              f"  ({large / small:.2f} x for 10 x the records)")  # fmt: skip


if __name__ == "__main__":
    main()
