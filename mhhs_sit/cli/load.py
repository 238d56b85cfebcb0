"""``mhhs-sit load``: a run of the Non-Functional stage's load cases, with Locust's workers chosen.

The same options as "mhhs-sit run" (the run's results, RTTM and report), with the stage
defaulting to sit-non-functional and --locust-workers N for Locust worker processes on this
machine: each load step then runs one Locust master and N workers, on loopback. Over hosts, one
machine runs the cases with --locust-expect-workers N (each load step's master waits for N remote
workers, listening on --locust-bind) and every other runs the same cases with --locust-master
HOST[:PORT] (each load step's workers attach to that master; the master's run judges).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from mhhs_sit.execution.load.distribution import DEFAULT_PORT, WORKERS_VARIABLE, Address, Spread


def cmd_load(args: argparse.Namespace) -> int:
    from mhhs_sit.cli.app import cmd_run

    problem = spread_problem(args)
    if problem:
        args.load_parser.error(problem)  # exits 2 with the usage, as argparse's own errors do
    if not args.stage and not args.paths:
        args.stage = ["sit-non-functional"]
    if args.locust_workers is not None:
        os.environ[WORKERS_VARIABLE] = str(args.locust_workers)
    spread = Spread(master=args.locust_master, expect=args.locust_expect_workers or 0, bind=args.locust_bind)
    os.environ.update(spread.environment())
    return cmd_run(args)


def spread_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the Locust options taken together, as a usage error says it."""
    if args.locust_master and args.locust_expect_workers:
        return "--locust-master and --locust-expect-workers: a host runs either the master or workers attached to one"
    if args.locust_expect_workers and args.locust_workers:
        return (
            "--locust-expect-workers counts every worker, this machine's too: drop --locust-workers and run "
            "them as `mhhs-sit load --locust-master 127.0.0.1` beside it"
        )
    if args.locust_bind and not args.locust_expect_workers:
        return "--locust-bind is where a master awaiting --locust-expect-workers listens: give that too"
    return None


def _count(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number of processes, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        return value

    return parse


def _address(text: str) -> Address:
    try:
        return Address.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: Any) -> None:  # argparse's _SubParsersAction is private
    from mhhs_sit.cli.app import add_run_arguments

    p = sub.add_parser(
        "load",
        help="run the Non-Functional load cases (Locust) and write results",
        description=" ".join(__doc__.split("\n\n")[1].split()) + " Extra pytest arguments go after --.",
    )
    add_run_arguments(p)
    p.add_argument(
        "--locust-workers",
        type=_count(0),
        metavar="N",
        help="Locust worker processes on this machine for every load step (default: the step's workers:, else 0)",
    )
    p.add_argument(
        "--locust-master",
        type=_address,
        metavar="HOST[:PORT]",
        help=f"run each load step's workers attached to the Locust master there (port {DEFAULT_PORT} by default)",
    )
    p.add_argument(
        "--locust-expect-workers",
        type=_count(1),
        metavar="N",
        help="each load step's master waits for N workers from other hosts (mhhs-sit load --locust-master) first",
    )
    p.add_argument(
        "--locust-bind",
        type=_address,
        metavar="HOST[:PORT]",
        help=f"where that master listens for its workers (default: every interface, port {DEFAULT_PORT})",
    )
    p.set_defaults(func=cmd_load, load_parser=p)
