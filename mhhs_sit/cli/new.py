"""``mhhs-sit new step`` and ``new scenario``: a ``send`` step scaffolded from the catalogue, ready
to paste, and a runnable scenario skeleton of one process for one cohort."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mhhs_sit.cli.common import guarded, project_of
from mhhs_sit.errors import ConfigError


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
    _register_scenario(kinds)


def _register_scenario(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from mhhs_sit.cli.processes import process_list  # not new_scenario: it loads the simulator's rules

    scenario = kinds.add_parser(
        "scenario",
        help="a runnable scenario skeleton of one process for one cohort",
        description="Write a scenario file for one process: the send step that starts it (every required field "
        "valid for the cohort's roles) and an expect for each message the simulated roles answer with, each naming "
        "the rules file that sends it. It passes validate and runs against the local simulator as written. The "
        "cohort must play the role that starts the process and simulate the roles that answer it.",
        epilog=process_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scenario.add_argument("--process", required=True, metavar="PROCESS", help="one of the processes listed below")
    scenario.add_argument("--cohort", required=True, metavar="COHORT", help="the cohort to write it for, e.g. C1")
    scenario.add_argument("--out", required=True, metavar="FILE", help="the scenario file to write (its name: the id)")
    scenario.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    scenario.add_argument("--ir", metavar="VERSION", help="interface spec version (default: the environment's)")
    scenario.add_argument("--env", metavar="NAME", help="environment whose spec version applies (default: ini)")
    scenario.set_defaults(func=guarded(cmd_new_scenario, lambda _: "mhhs-sit new scenario"))


def cmd_new_step(args: argparse.Namespace) -> int:
    from mhhs_sit.definitions.scaffold import send_step

    sys.stdout.write(send_step(args.interface, args.event, args.role, args.ir))
    return 0


def cmd_new_scenario(args: argparse.Namespace) -> int:
    from mhhs_sit.cli.new_scenario import check_cohort, process_named, skeleton
    from mhhs_sit.cli.schema import shipped

    process = process_named(args.process)
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ConfigError(f"--out: {out} exists; pass --force to overwrite it")
    project = project_of(args)
    cohorts, problems = project.cohorts
    if args.cohort not in cohorts:
        raise ConfigError(f"--cohort: no cohort {args.cohort}; " + ("; ".join(p.render() for p in problems) or ""))
    check_cohort(process, cohorts[args.cohort], cohorts)
    version, _ = project.version
    text = skeleton(process, cohorts[args.cohort], out, version or "", shipped("scenario"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}: '{process.name}' for cohort {args.cohort}; check it with mhhs-sit validate {out}")
    return 0
