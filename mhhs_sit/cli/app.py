"""``mhhs-sit``: validate definitions, run a test cycle, and the tools around them."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mhhs_sit import __version__
from mhhs_sit.core.gcpause import paused_gc
from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.environments import environment_file_problems, find_environment, load_environment
from mhhs_sit.definitions.loader import load_scenarios
from mhhs_sit.errors import DefinitionError, MhhsSitError, Problem, render_problems


def _add_definition_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cohorts", default="cohorts", metavar="DIR", help="cohort files (default: cohorts)")
    p.add_argument(
        "--environments", default="environments", metavar="DIR", help="environment files (default: environments)"
    )
    p.add_argument("--env", default="local", metavar="NAME", help="environment to check against (default: local)")
    p.add_argument("--ir", metavar="VERSION", help="interface spec version to validate against (e.g. IR8.2, 2.1.0)")
    p.add_argument("--dip-spec", metavar="PATH", help="validate messages against this official DIP spec instead")
    p.add_argument(
        "--requirements",
        default="test_data/requirements",
        metavar="PATH",
        help="requirements catalogue scenario requirement ids are checked against (default: test_data/requirements)",
    )


def cmd_validate(args: argparse.Namespace) -> int:
    """Every problem in every file, in one block; exit 1 if there is any."""
    root = Path.cwd()
    paths = [Path(p) for p in args.paths] or [Path("test_themes")]
    missing = [p for p in paths if not p.exists()]
    problems: list[Problem] = [Problem(str(p), 0, 0, "", "no such file or directory") for p in missing]
    cohorts, cohort_problems = load_cohorts(Path(args.cohorts), root)
    problems += cohort_problems
    env, env_problems = load_environment(args.env, Path(args.environments), root, environ=os.environ)
    problems += env_problems
    version, version_problems = _resolve_version(args.ir or (env.ir if env else None))
    problems += version_problems
    dip_spec = args.dip_spec
    if dip_spec:
        from mhhs_sit.catalogue.dipspec import load_dip_spec

        try:
            load_dip_spec(dip_spec)
        except MhhsSitError as exc:
            problems.append(Problem("--dip-spec", 0, 0, "", str(exc)))
            dip_spec = None
    scenarios, found = load_scenarios([p for p in paths if p.exists()], root, version=version, dip_spec=dip_spec)
    problems += found
    from mhhs_sit.definitions.requirements import load_requirements, unknown_references

    catalogue_path = Path(args.requirements)
    catalogue, catalogue_problems = load_requirements(catalogue_path, root)
    problems += catalogue_problems
    if catalogue:
        for sc in scenarios:
            problems += unknown_references(sc, catalogue, root / sc.location.file)
    problems += environment_file_problems(
        Path(args.environments), root, skip=find_environment(args.env, Path(args.environments))
    )
    if env is not None and env.is_local:
        problems += simulator_rule_problems()
    if problems:
        print(render_problems(problems), file=sys.stdout)
        return 1
    against = f"the DIP spec at {dip_spec}" if dip_spec else f"spec version {version}"
    cases = sum(len(s.cases) for s in scenarios)
    local = env is not None and env.is_local
    items = 0
    orphans = []
    for sc in scenarios:
        for case in sc.cases:
            n = sum(1 for c in cohorts.values() if c.ineligibility(sc, case, local=local) is None)
            items += n
            if n == 0:
                orphans.append(f"{case.id} ({case.location})")
    checked = (
        f"{len(catalogue)} requirements checked against {catalogue_path}"
        if catalogue
        else f"requirements not checked: no catalogue at {catalogue_path}"
    )
    print(
        f"OK: {len(scenarios)} scenarios, {cases} cases, {len(cohorts)} cohorts, {items} runnable items "
        f"in environment '{env.name if env else args.env}', messages checked against {against}; {checked}"
    )
    if orphans:
        print(f"note: {len(orphans)} case(s) have no eligible cohort and will be reported as skipped:")
        for o in orphans:
            print(f"  {o}")
    return 0


def simulator_rule_problems(directory: Path | None = None) -> list[Problem]:
    """The participant simulators' rule files (stubs/rules), which a local environment runs."""
    from mhhs_stubs.responders import RULES_DIR, load_rules

    try:
        load_rules(directory or RULES_DIR)
    except DefinitionError as exc:
        return list(exc.problems)
    return []


def _resolve_version(wanted: str | None) -> tuple[str | None, list[Problem]]:
    """The catalogue version to check payloads against (the latest when nothing says otherwise)."""
    from mhhs_sit.catalogue import load_catalogue

    cat = load_catalogue()
    try:
        return (cat.resolve_version(wanted) if wanted else cat.default_version), []
    except MhhsSitError as exc:
        return None, [Problem("--ir", 0, 0, "", str(exc))]


def cmd_run(args: argparse.Namespace) -> int:
    """A test cycle: pytest over the scenarios with results, JUnit XML and Allure results."""
    import pytest

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) / stamp if not args.no_subdir else Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    argv: list[str] = [
        *(args.paths or ["test_themes"]),
        "--mhhs-env",
        args.env,
        "-p",
        "no:cacheprovider",
        f"--junitxml={out / 'junit.xml'}",
        f"--alluredir={out / 'allure-results'}",
        f"--mhhs-results={out / 'results.json'}",
        "-rfE",
        # a scenario file that cannot be read is reported (and recorded); the others still run
        "--continue-on-collection-errors",
        "-p",
        "no:faker",
        "-p",
        "no:anyio",
        "-p",
        "no:hypothesispytest",
    ]
    for opt, values in (("--stage", args.stage), ("--theme", args.theme), ("--cohort", args.cohort)):
        for v in values or []:
            argv += [opt, v]
    if args.ir:
        argv += ["--ir", args.ir]
    if args.dip_spec:
        argv += [f"--dip-spec={args.dip_spec}"]
    if args.seed is not None:
        argv += ["--mhhs-seed", str(args.seed)]
    for opt, value in (("--cycle", args.cycle), ("--sprint", args.sprint), ("--mhhs-store", args.store)):
        if value:
            argv += [opt, value]
    for status in args.rerun or []:
        argv += ["--rerun", status]
    if args.workers:
        argv += ["-n", str(args.workers)]
    if args.markers:
        argv += ["-m", args.markers]
    if args.keyword:
        argv += ["-k", args.keyword]
    argv += args.pytest_args
    rc = int(pytest.main(argv))
    made = [name for name in ("results.json", "junit.xml", "allure-results/") if (out / name.rstrip("/")).exists()]
    made += _after_run(out, args)
    print(f"\nmhhs-sit: results in {out}/ ({', '.join(made) or 'nothing: see the errors above'})")
    return rc


def _after_run(out: Path, args: argparse.Namespace) -> list[str]:
    """The reports a run ends with; a missing tool is said once, never fails the run."""
    made: list[str] = []
    if not (out / "results.json").is_file():
        return made
    from mhhs_sit.cli.completion import criteria_path
    from mhhs_sit.evidence.completion import build_report as completion
    from mhhs_sit.evidence.completion_render import render_html, render_markdown
    from mhhs_sit.evidence.criteria import load_criteria
    from mhhs_sit.evidence.outcomes import load_cycle
    from mhhs_sit.evidence.report import INSTALL_HINT, build_report, find_allure, install

    try:
        summary = completion(load_cycle([out / "results.json"]), load_criteria(criteria_path(None)))
        (out / "completion-report.html").write_text(render_html(summary), encoding="utf-8")
        (out / "completion-report.md").write_text(render_markdown(summary), encoding="utf-8")
        made.append("completion-report.html/.md")
        print(f"\n{summary.summary()}")
    except MhhsSitError as exc:
        print(f"mhhs-sit: no completion report: {exc}", file=sys.stderr)

    made += _run_rttm(out, args)

    if args.report is not False:
        tool = find_allure(Path.cwd())
        if tool is None and args.report:
            try:
                print("installing Allure 3 from the npm registry ...", flush=True)
                tool = install()
            except MhhsSitError as exc:
                print(f"mhhs-sit: no Allure report: {exc}", file=sys.stderr)
        if tool is None:
            if args.report is None:
                print(f"mhhs-sit: no Allure report. {INSTALL_HINT}")
        else:
            try:
                build_report(out / "allure-results", out / "report", tool=tool)
                made.append("report/index.html")
            except MhhsSitError as exc:
                print(f"mhhs-sit: no Allure report: {exc}", file=sys.stderr)
    return made


@paused_gc()
def _run_rttm(out: Path, args: argparse.Namespace) -> list[str]:
    """The cycle's RTTM beside the run's results, when there is a catalogue and a store."""
    from mhhs_sit.cli.rttm import open_store, rttm_for
    from mhhs_sit.rttm.render import write

    catalogue = Path("test_data/requirements")
    if not catalogue.exists():
        return []
    try:
        store = open_store(args.store)
        try:
            rttm, warnings = rttm_for(
                store,
                args.cycle,
                requirements=catalogue,
                scenarios=Path("test_themes"),
                cohorts_dir=Path("cohorts"),
                environments=Path("environments"),
            )
        finally:
            store.close()
        for fmt in ("xlsx", "html"):
            write(rttm, fmt, out / f"rttm.{fmt}")
    except MhhsSitError as exc:
        print(f"mhhs-sit: no RTTM: {str(exc).splitlines()[0]}", file=sys.stderr)
        return []
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    total = len(rttm.requirement_verdicts)
    scope = f"cycle {args.cycle}" if args.cycle else "every run in the store"
    print(f"RTTM ({scope}): {rttm.covered} of {total} requirements covered")
    return ["rttm.xlsx/.html"]


def cmd_report(args: argparse.Namespace) -> int:
    """The Allure HTML report of a run directory (or an allure-results directory), built offline."""
    from mhhs_sit.evidence.report import INSTALL_HINT, build_report, find_allure, install

    source = Path(args.results)
    results = source / "allure-results" if (source / "allure-results").is_dir() else source
    out = Path(args.out) if args.out else (source if results != source else source.parent) / "report"
    tool = find_allure(Path.cwd())
    if tool is None and args.install:
        print("installing Allure 3 from the npm registry ...", flush=True)
        tool = install()
    if tool is None:
        print(f"mhhs-sit report: {INSTALL_HINT}", file=sys.stderr)
        return 2
    index = build_report(results, out, tool=tool, single_file=not args.multi_file)
    print(f"Allure {tool.major} report: {index}" + ("" if args.multi_file else " (opens from disk)"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mhhs-sit",
        description="MHHS System Integration and Qualification Testing: YAML scenarios by theme and "
        "cohort against SIT-A/SIT-B or local simulators.",
    )
    parser.add_argument("--version", action="version", version=f"mhhs-sit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "validate",
        help="check scenario, cohort and environment files; exit 1 on any problem",
        description="Check every scenario, cohort and environment file and print every "
        "problem with file:line:column and its YAML path.",
    )
    p.add_argument("paths", nargs="*", help="scenario files or directories (default: test_themes)")
    _add_definition_options(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "run",
        help="run a test cycle (pytest) and write results",
        description="Run scenarios with pytest and write results.json, junit.xml and "
        "Allure results under --out. Extra pytest arguments go after --.",
    )
    p.add_argument("paths", nargs="*", help="scenario files or directories (default: test_themes)")
    p.add_argument("--env", default="local", help="environment name or file (default: local)")
    p.add_argument("--stage", action="append", help="only these stages (repeatable)")
    p.add_argument("--theme", action="append", help="only these themes (repeatable)")
    p.add_argument("--cohort", action="append", help="only these cohorts (repeatable)")
    p.add_argument("--ir", help="interface spec version (IR8.2, 2.1.0, ...)")
    p.add_argument("--dip-spec", metavar="PATH", help="validate messages against this official DIP spec")
    p.add_argument("--seed", type=int, help="test data seed (0-99; default random)")
    p.add_argument("-n", "--workers", type=int, help="run on N xdist workers (a cohort stays on one)")
    p.add_argument("-m", dest="markers", help="pytest marker expression over tags, e.g. 'smoke and not slow'")
    p.add_argument("-k", dest="keyword", help="pytest keyword expression, e.g. 'SITFT-03 and C1'")
    p.add_argument("--cycle", help="the test cycle this run belongs to (e.g. C2): the store and RTTM combine its runs")
    p.add_argument("--sprint", help="the sprint label of this run")
    p.add_argument(
        "--rerun",
        action="append",
        metavar="STATUS",
        help="only the cases whose latest status in --cycle is failed, broken, not-run or skipped (repeatable)",
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
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: passed to pytest")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "report",
        help="build the Allure HTML report of a run, offline",
        description="Build the Allure report (stage > theme > scenario) from a run directory written by "
        "'mhhs-sit run' or from an allure-results directory. Uses Allure 3 (npm) or Allure 2.",
    )
    p.add_argument("results", help="a run directory (results/<timestamp>) or an allure-results directory")
    p.add_argument("--out", help="report directory (default: <run dir>/report)")
    p.add_argument("--multi-file", action="store_true", help="a report folder to serve over HTTP instead of one file")
    p.add_argument("--install", action="store_true", help="install Allure 3 with npm if it is not found")
    p.set_defaults(func=cmd_report)

    for module in (
        "mhhs_sit.cli.data",
        "mhhs_sit.cli.catalogue",
        "mhhs_sit.cli.evidence",
        "mhhs_sit.cli.completion",
        "mhhs_sit.cli.rttm",
        "mhhs_sit.cli.requirements",
        "mhhs_sit.cli.stubs",
    ):
        try:
            register = __import__(module, fromlist=["register"]).register
        except (ImportError, AttributeError):
            continue
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if getattr(args, "pytest_args", None) and args.pytest_args[0] == "--":
        args.pytest_args = args.pytest_args[1:]
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
