"""``mhhs-sit new step``: a ``send`` step scaffolded from the catalogue, ready to paste."""

from __future__ import annotations

import argparse
import sys

from mhhs_sit.cli.common import guarded


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("new", help="scaffold scenario content from the interface catalogue")
    kinds = parser.add_subparsers(dest="new_kind", metavar="KIND", required=True)
    step = kinds.add_parser(
        "step",
        help="a send step with exactly its event's blocks, every required field filled in",
        description="Print a send step for an interface and event with exactly the blocks the event has: "
        "mpan: where it has an M0, under common: the other common blocks it requires (R0, R1, M1), custom: "
        "where it has a CustomBlock; every required field with a value its schema accepts (templates for DIP "
        "ids, MPIDs, the MPAN and dates) and a comment naming its format. Paste it under a case's steps: and "
        "give the case data: mpan: {draw: mpan}. An interface only the DIP sends is refused (exit 2).",
    )
    step.add_argument("--interface", required=True, help="an interface id such as IF-031")
    step.add_argument("--event", required=True, help="an event code of that interface, such as DSApp")
    step.add_argument("--as", dest="role", metavar="ROLE", help="the sending role (default: the only sender)")
    step.add_argument("--ir", metavar="VERSION", help="interface spec version (default: the newest)")
    step.set_defaults(func=guarded(cmd_new_step, lambda _: "mhhs-sit new step"))


def cmd_new_step(args: argparse.Namespace) -> int:
    from mhhs_sit.definitions.scaffold import send_step

    sys.stdout.write(send_step(args.interface, args.event, args.role, args.ir))
    return 0
