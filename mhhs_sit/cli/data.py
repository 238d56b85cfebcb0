"""``mhhs-sit data generate`` and ``mhhs-sit data check``: test data for participants' systems."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mhhs_sit.core import atomic
from mhhs_sit.data.addresses import address_book
from mhhs_sit.data.distributors import DNO_IDS
from mhhs_sit.data.filecheck import check_file, check_string
from mhhs_sit.data.generate import FORMATS, check_count, write_csv, write_jsonl
from mhhs_sit.data.partition import SEED_SLOTS, cohort_index_for
from mhhs_sit.data.points import Parties
from mhhs_sit.data.render import RowMaker
from mhhs_sit.data.sequence import make_stream
from mhhs_sit.errors import ConfigError

_GENERATE_EPILOG = """\
The same cohort, seed, distributors and count always give the same file. Different cohorts,
different seeds and different workers never share an MPAN: the cohort's data slot and the seed
are digits 3-4 and 5-6 of every MPAN core, and every check digit is 1-9, so any single mistyped
digit makes the MPAN invalid.

examples:
  mhhs-sit data generate --cohort C3 --count 10000 --format csv --out c3.csv
  mhhs-sit data generate --cohort C3 --count 50000 --distributor 12 --supplier SUPA \\
      --agent MSS=MSSA --agent SDS=SDSA --format json --out c3.jsonl
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``data`` with its ``generate`` and ``check`` subcommands."""
    data = subparsers.add_parser(
        "data",
        help="generate or check synthetic test data (MPANs, metering points)",
        description="Synthetic test data: valid, unique MPANs and metering points per cohort.",
    )
    sub = data.add_subparsers(dest="data_command", metavar="{generate,check}", required=True)

    gen = sub.add_parser(
        "generate",
        help="write a cohort's metering points for loading into participants' systems",
        description="Write a cohort's metering points (the registered data its tests draw).",
        epilog=_GENERATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument("--cohort", required=True, help="cohort id, e.g. C3 or MVC")
    gen.add_argument(
        "--cohort-index",
        type=int,
        metavar="N",
        help="data slot 50-99, needed for cohorts other than MVC (slot 0) and C1-C49 (slot N)",
    )
    gen.add_argument("--count", type=int, required=True, help="number of metering points")
    gen.add_argument(
        "--format",
        choices=FORMATS,
        default="csv",
        help="csv: a header and one row per point; json: JSON Lines, one object per line (default: csv)",
    )
    gen.add_argument("--out", default="-", metavar="FILE", help="file to write; - for stdout")
    gen.add_argument(
        "--seed",
        type=int,
        default=0,
        help=f"data seed 0-{SEED_SLOTS - 1}; each seed owns its own MPANs (default: 0)",
    )
    gen.add_argument(
        "--distributor",
        action="append",
        dest="distributors",
        metavar="ID",
        help="distributor id (10-38) of the cohort's LDSO; repeatable (default: the 14 DNOs 10-23)",
    )
    gen.add_argument("--worker", type=int, default=0, help="this worker's number (default: 0)")
    gen.add_argument("--workers", type=int, default=1, help="number of workers (default: 1)")
    gen.add_argument("--supplier", metavar="MPID", help="the cohort's supplier MPID")
    gen.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="ROLE=MPID",
        help="an appointed agent, e.g. MSS=ABCD (roles MSS SDS MSA ADS UMSO UMSDS); repeatable",
    )
    gen.add_argument(
        "--unregistered",
        action="store_true",
        help="write the cohort's never-registered MPANs instead (for registration scenarios)",
    )
    gen.set_defaults(func=generate_command)

    chk = sub.add_parser(
        "check",
        help="validate a data file; report each bad row with its line number",
        description="Validate a CSV or JSON Lines metering-point file: every bad row is reported "
        "with its line number and the reason, duplicated MPANs with both line numbers. "
        "Exit status 1 if anything is wrong.",
    )
    chk.add_argument("file", metavar="FILE", help="the file to check; - for standard input")
    chk.add_argument(
        "--format",
        choices=FORMATS,
        help="override the format (default: from the extension, else from the content)",
    )
    chk.set_defaults(func=check_command)


def _agents(pairs: list[str]) -> dict[str, str]:
    agents: dict[str, str] = {}
    for pair in pairs:
        role, sep, mpid = pair.partition("=")
        if not sep:
            raise ConfigError(f"--agent {pair!r} must look like ROLE=MPID, e.g. MSS=ABCD")
        agents[role.strip().upper()] = mpid.strip()
    return agents


def generate_command(args: argparse.Namespace) -> int:
    """Write the file; raises ConfigError for unusable options."""
    started = time.perf_counter()
    slot = cohort_index_for(args.cohort, args.cohort_index)
    stream = make_stream(
        slot,
        args.distributors or DNO_IDS,
        args.seed,
        registered=not args.unregistered,
        worker=args.worker,
        workers=args.workers,
    )
    check_count(stream, args.count)
    parties = Parties(args.supplier, _agents(args.agent))
    maker = RowMaker(address_book(args.seed), parties)
    write = write_csv if args.format == "csv" else write_jsonl
    if args.out == "-":
        written = write(sys.stdout, stream, args.count, maker)
    else:
        try:
            with (
                atomic.atomic_path(Path(args.out)) as tmp,
                tmp.open("w", encoding="utf-8", newline="", buffering=1 << 20) as out,
            ):
                written = write(out, stream, args.count, maker)
        except OSError as exc:
            raise ConfigError(f"cannot write {args.out}: {exc}") from None
    elapsed = time.perf_counter() - started
    print(
        f"wrote {written:,} metering points for cohort {args.cohort} (data slot {slot}, seed "
        f"{args.seed}, distributors {','.join(b.distributor_id for b in stream.blocks)}) to "
        f"{args.out} in {elapsed:.1f} s",
        file=sys.stderr,
    )
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def check_command(args: argparse.Namespace) -> int:
    """Print every problem; 0 if the file is clean, 1 otherwise."""
    if args.file == "-":
        report = check_string(sys.stdin.read(), "<stdin>", args.format)
    else:
        report = check_file(args.file, args.format)
    for problem in report.problems:
        print(problem.render())
    name = "<stdin>" if args.file == "-" else args.file
    if report.ok:
        print(f"{name}: {_count(report.rows, 'row')}, all valid")
        return 0
    bad_lines = len({p.line for p in report.problems})
    print(
        f"{name}: {_count(report.rows, 'row')}, {_count(len(report.problems), 'problem')} on "
        f"{_count(bad_lines, 'line')}"
    )
    return 1
