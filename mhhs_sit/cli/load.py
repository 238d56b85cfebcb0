"""``mhhs-sit load``: a run of the Non-Functional stage's load cases, with Locust's workers chosen.

The same options as "mhhs-sit run" (the run's results, RTTM and report), with the stage
defaulting to sit-non-functional and --locust-workers N for Locust worker processes on this
machine: each load step then runs one Locust master and N workers, on loopback.
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def cmd_load(args: argparse.Namespace) -> int:
    from mhhs_sit.cli.app import cmd_run
    from mhhs_sit.execution.steps.load import WORKERS_VARIABLE

    if not args.stage and not args.paths:
        args.stage = ["sit-non-functional"]
    if args.locust_workers is not None:
        os.environ[WORKERS_VARIABLE] = str(args.locust_workers)
    return cmd_run(args)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of processes, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one process) or more, not {value}")
    return value


def register(sub: Any) -> None:  # argparse's _SubParsersAction is private
    from mhhs_sit.cli.app import add_run_arguments

    p = sub.add_parser(
        "load",
        help="run the Non-Functional load cases (Locust) and write results",
        description=__doc__.split("\n\n")[1].replace("\n", " ") + " Extra pytest arguments go after --.",
    )
    add_run_arguments(p)
    p.add_argument(
        "--locust-workers",
        type=_workers,
        metavar="N",
        help="Locust worker processes on this machine for every load step (default: the step's workers:, else 0)",
    )
    p.set_defaults(func=cmd_load)
