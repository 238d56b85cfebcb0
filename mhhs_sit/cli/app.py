"""``mhhs-sit``: validate definitions, run a test cycle, and the tools around them."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mhhs_sit import __version__
from mhhs_sit.cli import validate
from mhhs_sit.cli.common import project_of
from mhhs_sit.cli.run_reports import allure_report, completion_report, rttm_report
from mhhs_sit.errors import ConfigError, MhhsSitError
from mhhs_sit.project import Project, simulator_rule_problems

if TYPE_CHECKING:
    from mhhs_sit.collection.recorder import RunFlow

__all__ = ["build_parser", "main", "simulator_rule_problems"]


# pytest's fixed arguments for a cycle's run: the cache and start-up-costly plugins off; a scenario
# file that cannot be read is reported (and recorded) while the others still run.
_RUN_ARGS = (
    "-p",
    "no:cacheprovider",
    "-rfE",
    "--continue-on-collection-errors",
    "-p",
    "no:faker",
    "-p",
    "no:anyio",
    "-p",
    "no:hypothesispytest",
)
# `mhhs-sit run` options handed to pytest as they are: (pytest flag, argument name); repeatable ones first.
_REPEATED = (("--stage", "stage"), ("--theme", "theme"), ("--cohort", "cohort"), ("--rerun", "rerun"))
_SINGLE = (
    ("--mhhs-env", "env"),
    ("--ir", "ir"),
    ("--mhhs-seed", "seed"),
    ("--cycle", "cycle"),
    ("--mhhs-shard", "shard"),
    ("--sprint", "sprint"),
    ("--mhhs-store", "store"),
    ("-n", "workers"),
    ("-m", "markers"),
    ("-k", "keyword"),
)


def cmd_run(args: argparse.Namespace) -> int:
    """A test cycle: pytest over the scenarios with results, JUnit XML and Allure results."""
    import pytest

    project = project_of(args)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) / stamp if not args.no_subdir else Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from mhhs_sit.collection.recorder import RunFlow

    flow = RunFlow()
    rc = int(pytest.main(pytest_args(args, project, out), plugins=[flow]))
    made = [name for name in ("results.json", "junit.xml", "allure-results/") if (out / name.rstrip("/")).exists()]
    with _finishing(flow):
        made += _after_run(out, args, project, flow.run_id)
    print(f"\nmhhs-sit: results in {out}/ ({', '.join(made) or 'nothing: see the errors above'})")
    return rc


@contextmanager
def _finishing(flow: RunFlow) -> Iterator[None]:
    """The run's heartbeat while its reports are written, then *finished* in the store: a run
    killed while writing them stays unfinished (and soon reads *interrupted*), never finished
    with a report missing or cut."""
    if flow.run_id is None or flow.store_url is None:  # no store, or the session was interrupted
        yield
        return
    from mhhs_sit.store.heartbeat import Heartbeat
    from mhhs_sit.store.store import ResultsStore

    try:
        store = ResultsStore(flow.store_url)
    except MhhsSitError as exc:
        print(f"mhhs-sit: results store not written: {exc}", file=sys.stderr)
        yield
        return
    try:
        with Heartbeat(store, flow.run_id):
            yield
        store.set_state(flow.run_id, "finished")
    except MhhsSitError as exc:
        print(f"mhhs-sit: results store not written: {exc}", file=sys.stderr)
    finally:
        store.close()


def pytest_args(args: argparse.Namespace, project: Project, out: Path) -> list[str]:
    """The pytest command line of ``mhhs-sit run``; unset options leave pytest to the ini settings."""
    paths = args.paths or [os.path.relpath(d) for d in project.scenario_dirs]
    argv = [
        *paths,
        *_RUN_ARGS,
        f"--junitxml={out / 'junit.xml'}",
        f"--alluredir={out / 'allure-results'}",
        f"--mhhs-results={out / 'results.json'}",
    ]
    argv += _passed_options(args)
    passed: list[str] = args.pytest_args
    return argv + passed


def _passed_options(args: argparse.Namespace) -> list[str]:
    """The options ``mhhs-sit run`` hands to the plugin as they are; --dip-spec with '=', so pytest
    does not take a separate path for a test path."""
    argv = [arg for flag, name in _REPEATED for value in getattr(args, name) or [] for arg in (flag, value)]
    argv += [
        arg for flag, name in _SINGLE if getattr(args, name) is not None for arg in (flag, str(getattr(args, name)))
    ]
    return argv + ([f"--dip-spec={args.dip_spec}"] if args.dip_spec else [])


def _after_run(out: Path, args: argparse.Namespace, project: Project, run_id: str | None) -> list[str]:
    """The reports a run ends with; a missing tool is said once, never fails the run."""
    if not (out / "results.json").is_file():
        return []
    made = _run_completion(out, args, project)
    made += _run_rttm(out, args, project, run_id)
    return made + allure_report(out / "allure-results", out, project, wanted=args.report)


def _run_completion(out: Path, args: argparse.Namespace, project: Project) -> list[str]:
    """The completion report of this run, or of its ``--cycle`` (every run of it whose results.json
    is still where the store says), beside the run's results."""
    paths, covers = _completion_scope(out, args, project)
    return completion_report(
        out, paths, covers, project, participant=args.completion_participant, qualification=args.qualification
    )


def _completion_scope(out: Path, args: argparse.Namespace, project: Project) -> tuple[list[Path], str | None]:
    own = out / "results.json"
    if not args.cycle:
        return [own], None
    from mhhs_sit.cli.rttm import open_store

    try:
        store = open_store(args.store, project)
    except MhhsSitError:
        return [own], f"this run only (the store of cycle {args.cycle} cannot be read)"
    try:
        dirs = [Path(r.evidence) for r in store.runs(args.cycle) if r.evidence]
    finally:
        store.close()
    paths = [d / "results.json" for d in dirs if (d / "results.json").is_file() and d.resolve() != out.resolve()]
    paths.append(own)
    return paths, f"cycle {args.cycle} ({len(paths)} run{'s' if len(paths) != 1 else ''})"


def _run_rttm(out: Path, args: argparse.Namespace, project: Project, run_id: str | None) -> list[str]:
    """The RTTM of this run (or of its ``--cycle``) beside the run's results, when there is a
    catalogue and a store: never of every run in the store, which the run's own reports would
    contradict."""
    if run_id is None and not args.cycle:
        return []
    only = None if args.cycle else [str(run_id)]
    return rttm_report(
        out,
        args.store,
        args.cycle,
        project,
        run_ids=only,
        roles=args.rttm_roles,
        participant=args.rttm_participant,
        qualification=args.qualification,
    )


def cmd_report(args: argparse.Namespace) -> int:
    """The Allure HTML report of a run directory (or an allure-results directory), built offline;
    with ``--cycle``, the cycle's Allure report, RTTM and completion report (cli/cycle_report.py)."""
    from mhhs_sit.evidence.report import INSTALL_HINT, build_report, find_allure, install

    if bool(args.results) == bool(args.cycle):
        raise ConfigError("give a run directory (mhhs-sit report RESULTS) or --cycle C, not both or neither")
    if args.cycle:
        from mhhs_sit.cli.cycle_report import cmd_cycle_report

        return cmd_cycle_report(args)
    if args.evidence:
        raise ConfigError("--evidence goes with --cycle: it says where the cycle's run folders are")
    source = Path(args.results)
    results = source / "allure-results" if (source / "allure-results").is_dir() else source
    out = Path(args.out) if args.out else (source if results != source else source.parent) / "report"
    tool = find_allure(Project.discover().root)
    if tool is None and args.install:
        print("installing Allure 3 from the npm registry ...", flush=True)
        tool = install()
    if tool is None:
        print(f"mhhs-sit report: {INSTALL_HINT}", file=sys.stderr)
        return 2
    index = build_report(results, out, tool=tool, single_file=not args.multi_file)
    print(f"Allure {tool.major} report: {index}" + ("" if args.multi_file else " (opens from disk)"))
    return 0


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The options of a run (``mhhs-sit run`` and the commands that are runs of a kind, ``load``)."""
    p.add_argument("paths", nargs="*", help="scenario files or directories (default: ini mhhs_scenarios)")
    p.add_argument("--env", help="environment name or file (default: ini mhhs_env, else local)")
    p.add_argument("--stage", action="append", help="only these stages (repeatable)")
    p.add_argument("--theme", action="append", help="only these themes (repeatable)")
    p.add_argument("--cohort", action="append", help="only these cohorts (repeatable)")
    p.add_argument("--ir", help="interface spec version (IR8.2, 2.1.0, ...)")
    p.add_argument("--dip-spec", metavar="PATH", help="validate messages against this official DIP spec")
    p.add_argument("--seed", type=int, help="test data seed (0-99; default random)")
    p.add_argument("-n", "--workers", type=int, help="run on N xdist workers (a cohort stays on one)")
    p.add_argument("-m", dest="markers", help="pytest marker expression over tags, e.g. 'smoke and not simulator'")
    p.add_argument("-k", dest="keyword", help="pytest keyword expression, e.g. 'SITFT-03 and C1'")
    p.add_argument("--cycle", help="the test cycle this run belongs to (e.g. C2): the store and RTTM combine its runs")
    p.add_argument("--sprint", help="the sprint label of this run")
    p.add_argument(
        "--shard",
        metavar="K/N",
        help="run the K-th of N disjoint parts of --cycle (N machines run the whole cycle into one store)",
    )
    p.add_argument(
        "--rerun",
        action="append",
        metavar="STATUS",
        help="only the cases whose latest status in --cycle is failed, broken, definition-error, not-run or skipped "
        "(repeatable)",
    )
    p.add_argument("--store", metavar="PATH|URL", help="results store: SQLite file or postgresql:// URL")
    p.add_argument("--out", default="results", help="results directory (default: results/<timestamp>)")
    p.add_argument("--no-subdir", action="store_true", help="write into --out itself, not a timestamped subdirectory")
    p.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="build the Allure HTML report (--report installs Allure 3 with npm if needed; default: build it "
        "when Allure is found)",
    )
    # a qualification session (``qualify``) narrows the run's RTTM to the system under test
    # (and gives its stage and reliance, and the participant its completion report names)
    p.set_defaults(
        pytest_args=[], rttm_roles=None, rttm_participant=None, qualification=None, completion_participant=None
    )


_OWN_COMMANDS = ("validate", "run", "report")  # registered here: no other command's module is needed for them


def build_parser(*, only_own: bool = False) -> argparse.ArgumentParser:
    """Every command's parser; ``only_own``: only those defined in this module (``mhhs-sit
    validate`` need not import the other commands' modules, a tenth of a second of start-up)."""
    parser = argparse.ArgumentParser(
        prog="mhhs-sit",
        description="MHHS System Integration and Qualification Testing: YAML scenarios by theme and "
        "cohort against SIT-A/SIT-B or local simulators.",
    )
    parser.add_argument("--version", action="version", version=f"mhhs-sit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    validate.register(sub)

    p = sub.add_parser(
        "run",
        help="run a test cycle (pytest) and write results",
        description="Run scenarios with pytest and write results.json, junit.xml and "
        "Allure results under --out. Extra pytest arguments go after --, e.g. -- -x --lf.",
    )
    add_run_arguments(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "report",
        help="build the Allure HTML report of a run, offline",
        description="Build the Allure report (stage > theme > scenario) from a run directory written by "
        "'mhhs-sit run' or from an allure-results directory. Uses Allure 3 (npm) or Allure 2. With --cycle: "
        "the cycle's runs from the store and their evidence folders, merged into one Allure report, RTTM and "
        "completion report (without Allure the RTTM and completion report are still written).",
    )
    p.add_argument("results", nargs="?", help="a run directory (results/<timestamp>) or an allure-results directory")
    p.add_argument(
        "--cycle",
        help="instead: one Allure report, RTTM and completion report of every run of this cycle in --store",
    )
    p.add_argument("--store", metavar="PATH|URL", help="with --cycle: the results store (default: as mhhs-sit rttm)")
    p.add_argument(
        "--evidence",
        action="append",
        metavar="DIR",
        help="with --cycle: also look here for the runs' folders, found by run id (repeatable; e.g. the "
        "shards' downloaded artefacts)",
    )
    p.add_argument("--out", help="report directory (default: <run dir>/report; with --cycle: results/cycle-<C>)")
    p.add_argument("--multi-file", action="store_true", help="a report folder to serve over HTTP instead of one file")
    p.add_argument("--install", action="store_true", help="install Allure 3 with npm if it is not found")
    p.set_defaults(func=cmd_report)
    if not only_own:
        _register_others(sub)
    return parser


def _register_others(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for module in (
        "mhhs_sit.cli.data",
        "mhhs_sit.cli.catalogue",
        "mhhs_sit.cli.evidence",
        "mhhs_sit.cli.completion",
        "mhhs_sit.cli.rttm",
        "mhhs_sit.cli.requirements",
        "mhhs_sit.cli.stubs",
        "mhhs_sit.cli.load",
        "mhhs_sit.cli.schema",
        "mhhs_sit.cli.new",
        "mhhs_sit.cli.reference",
        "mhhs_sit.cli.qualify",
    ):
        try:
            register = __import__(module, fromlist=["register"]).register
        except (ImportError, AttributeError):
            continue
        register(sub)


def split_pytest_args(given: list[str]) -> tuple[list[str], list[str]]:
    """The command's own arguments, and those after ``--`` for pytest: options may follow the
    scenario paths (``run test_themes/x.yaml --out o``) without being taken for pytest's."""
    if "--" not in given:
        return given, []
    at = given.index("--")
    return given[:at], given[at + 1 :]


def main(argv: Sequence[str] | None = None) -> int:
    own, extra = split_pytest_args(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser(only_own=bool(own) and own[0] in _OWN_COMMANDS)
    args = parser.parse_args(own)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if extra:
        if not hasattr(args, "pytest_args"):
            parser.error(f"'mhhs-sit {args.command}' passes nothing to pytest: remove '-- {' '.join(extra)}'")
        args.pytest_args = extra
    try:
        return int(args.func(args))
    except MhhsSitError as exc:
        print(f"mhhs-sit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into head, less ...: stop quietly
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
