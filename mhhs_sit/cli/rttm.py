"""``mhhs-sit rttm`` (the traceability matrix of a cycle) and ``mhhs-sit cycle`` (its history)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mhhs_sit.cli.common import guarded, project_of
from mhhs_sit.core.gcpause import paused_gc
from mhhs_sit.errors import ConfigError, Problem, render_problems
from mhhs_sit.project import Project
from mhhs_sit.rttm.model import COVERED, UNLOADED, Rttm
from mhhs_sit.rttm.render import FORMATS
from mhhs_sit.store import DEFAULT_STORE, ENV_VAR

if TYPE_CHECKING:
    from mhhs_sit.definitions.model import Cohort
    from mhhs_sit.definitions.requirements import Requirement
    from mhhs_sit.rttm.build import CaseInfo
    from mhhs_sit.rttm.reliance import Reliance
    from mhhs_sit.store.rows import StoredResult, StoredRun
    from mhhs_sit.store.store import ResultsStore

_RTTM_EPILOG = """\
One row per requirement × covering case, and a row for every requirement no case covers; a status
column per cohort (the latest outcome in the cycle: a later run that did not reach a case does not
erase an earlier outcome), the case's history, the latest run and its evidence, and a verdict:
covered, failing, not executed, definition error (file) (the case's scenario file could not be
loaded, so it never ran) or uncovered.

Qualification variant: --participant MPID (or --roles LDSO) keeps only the requirements that
apply to that participant's roles, and only the cohorts it is in; a requirement is covered only by
cases that check at or from those roles (expect at: the role, a delivery to its participant
checked, a message from it checked), never by a case merely run in a cohort holding the role.

Placing reliance (qualification variant): --reliance FILE names requirements evidenced by an
earlier evidence pack or run results.json, each pinned by its sha256 and its stage (PIT, QT); they
show as "covered by reliance", counted apart from coverage by a case (docs/qualification.md).
--qualification-stage says which stage this session's own cases are (default QT).

exit status: 0 written, 1 the requirements catalogue has problems, 2 unusable store or options
"""


def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="PATH|URL",
        help=f"results store: SQLite file or postgresql:// URL (default: ${ENV_VAR} or {DEFAULT_STORE})",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "rttm",
        help="the Requirements-to-Test Traceability Matrix of a cycle (xlsx, csv, json, html)",
        description="Trace every requirement to the cases that cover it and their latest status per "
        "cohort across the runs of a cycle.",
        epilog=_RTTM_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--cycle", help="the cycle (as given to a run's --cycle); default: every run in the store")
    p.add_argument("--format", default="xlsx", help=f"comma-separated: {', '.join(FORMATS)} (default: xlsx)")
    p.add_argument("--out", metavar="PATH", help="output directory, or a file name for one format (default: results/)")
    p.add_argument("--participant", metavar="MPID|DIP_ID|NAME", help="qualification RTTM for one participant")
    p.add_argument("--roles", action="append", metavar="ROLE", help="only requirements for these roles (repeatable)")
    p.add_argument("--cohort", action="append", metavar="COHORT", help="only these cohorts' columns (repeatable)")
    add_qualification_options(p)
    p.add_argument(
        "--require-covered",
        action="store_true",
        help="exit 1, listing them, when a requirement in scope is not covered (a gate for a cycle or CI)",
    )
    _definition_options(p)
    _store_option(p)
    p.set_defaults(func=guarded(cmd_rttm, lambda _: "mhhs-sit rttm"))

    p = subparsers.add_parser(
        "cycle",
        help="a cycle's runs and the latest status of each case × cohort, with its history",
        description="Without --cycle: the cycles in the store. With --cycle: its runs, then every case × "
        "cohort with its deciding status and history (oldest first).",
    )
    p.add_argument("--cycle", help="the cycle to show")
    p.add_argument("--status", action="append", help="only cases whose latest status is one of these (repeatable)")
    _store_option(p)
    p.set_defaults(func=guarded(cmd_cycle, lambda _: "mhhs-sit cycle"))


def add_qualification_options(p: argparse.ArgumentParser) -> None:
    """The qualification evidence's options (``rttm --roles`` and ``qualify``): reliance and stage."""
    p.add_argument(
        "--reliance",
        metavar="FILE",
        help="YAML naming requirements evidenced by an earlier evidence pack or results.json (by sha256)",
    )
    p.add_argument(
        "--reliance-key",
        metavar="PUBLIC_KEY.pem",
        help="Ed25519 public key the relied-on evidence packs must be signed with (default: integrity only)",
    )
    p.add_argument(
        "--qualification-stage",
        default="QT",
        metavar="PIT|QT",
        help="the qualification stage this session's cases are evidence of (default: QT)",
    )


def load_qualification(
    args: argparse.Namespace, project: Project, roles: Sequence[str]
) -> tuple[str, tuple[Reliance, ...]]:
    """The session's qualification stage and the reliance it places, checked (DefinitionError otherwise)."""
    from mhhs_sit.evidence.signing import load_public_key
    from mhhs_sit.rttm.reliance import check_stage, load_reliance

    stage = check_stage(args.qualification_stage or "QT")
    if not args.reliance:
        return stage, ()
    if not roles:
        raise ConfigError("--reliance goes with the qualification RTTM: give --participant or --roles")
    key = load_public_key(Path(args.reliance_key)) if args.reliance_key else None
    return stage, load_reliance(Path(args.reliance), _catalogue(project), roles, public_key=key)


def _definition_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--requirements", metavar="PATH", help="requirements catalogue (default: ini mhhs_requirements)")
    p.add_argument("--scenarios", metavar="DIR", help="scenario files (default: ini mhhs_scenarios)")
    p.add_argument("--cohorts", metavar="DIR", help="cohort files (default: ini mhhs_cohorts)")
    p.add_argument("--environments", metavar="DIR", help="environment files (default: ini mhhs_environments)")


def open_store(spec: str | None, project: Project | None = None) -> ResultsStore:
    from mhhs_sit.store.store import ResultsStore

    project = project or Project.discover()
    found = project.store_spec(spec)
    if found is None:
        raise ConfigError("the results store is switched off ('none'): give --store PATH|URL")
    return ResultsStore.open(found, project.root)


def _formats(text: str) -> list[str]:
    wanted = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise ConfigError(f"--format {text}: use one or more of {', '.join(FORMATS)}")
    return list(dict.fromkeys(wanted))


def rttm_for(
    store: ResultsStore,
    cycle: str | None,
    *,
    project: Project,
    roles: list[str] | None = None,
    participant: str | None = None,
    only_cohorts: list[str] | None = None,
    run_ids: Sequence[str] | None = None,
    qualification: tuple[str, tuple[Reliance, ...]] | None = None,
) -> tuple[Rttm, list[str]]:
    """The RTTM of a cycle (or of just ``run_ids``), and warnings a user should read (unreadable
    scenario files...). ``qualification`` (``load_qualification``) is the qualification variant's
    stage and reliance."""
    catalogue = _catalogue(project)
    runs = _cycle_runs(store, cycle)
    if run_ids is not None:
        runs = [r for r in runs if r.run_id in run_ids]
    cohorts, _ = project.cohorts
    env_name = next((r.environment for r in reversed(runs) if r.environment), None) or "local"
    env, _ = project.for_environment(env_name).environment
    infos, warnings = _defined_cases(project, cohorts, env.is_local if env else True)
    label, roles, only_cohorts = _scope(cohorts, participant, roles or [], only_cohorts or [])
    from mhhs_sit.rttm.build import STORE_FIELDS, build_rttm

    rttm = build_rttm(
        catalogue,
        infos,
        store.results(cycle, fields=STORE_FIELDS, run_ids=run_ids),
        cycle=cycle,
        runs=runs,
        roles=roles,
        participant=label,
        only_cohorts=only_cohorts,
        reliance=qualification[1] if qualification and roles else (),
        qualification_stage=qualification[0] if qualification and roles else None,
    )
    if run_ids is not None and cycle is None:
        rttm = dataclasses.replace(rttm, only_runs=tuple(run_ids))
    for req, case in rttm.unknown_requirements:
        warnings.append(f"case {case} references {req}, which is not in the requirements catalogue")
    return rttm, warnings


def _scope(
    cohorts: dict[str, Cohort], participant: str | None, roles: list[str], only_cohorts: list[str]
) -> tuple[str | None, list[str], list[str]]:
    """The participant's label, and the roles and cohorts it adds to those asked for (none without one)."""
    if not participant:
        return None, roles, only_cohorts
    label, found_roles, found_cohorts = _participant(cohorts, participant)
    return label, sorted(set(roles) | found_roles), sorted(set(only_cohorts) | found_cohorts)


def _catalogue(project: Project) -> dict[str, Requirement]:
    catalogue, problems = project.requirements
    if problems:
        raise RequirementsProblems(problems)
    if not catalogue:
        requirements = project.path("mhhs_requirements")
        raise ConfigError(f"no requirements catalogue at {requirements}: an RTTM needs one (see test_data/README.md)")
    return catalogue


def _cycle_runs(store: ResultsStore, cycle: str | None) -> list[StoredRun]:
    runs = store.runs(cycle)
    if cycle is not None and not runs:
        known = ", ".join(sorted(c.cycle for c in store.cycles() if c.cycle)) or "none"
        raise ConfigError(f"no run of cycle {cycle!r} in results store {store.shown} (cycles there: {known})")
    return runs


def _defined_cases(project: Project, cohorts: dict[str, Cohort], local: bool) -> tuple[dict[str, CaseInfo], list[str]]:
    """The cases the scenarios define, the unloadable files' as definition errors (file), and a warning
    per such file."""
    from mhhs_sit.definitions.scenario_files import load_scenarios
    from mhhs_sit.execution.steps import STEP_KINDS
    from mhhs_sit.rttm.build import case_infos, problem_files, unreadable_cases

    root = project.root
    scenarios = [d for d in project.scenario_dirs if d.exists()]
    scenario_list, scenario_problems = load_scenarios(
        scenarios, STEP_KINDS, root, cache_dir=project.cache_dir
    )  # the cache a run keeps: unchanged files are not parsed and checked again
    infos = case_infos(scenario_list, cohorts, local=local, kinds=STEP_KINDS)
    warnings = []
    for file, reason in problem_files(scenario_problems).items():
        warnings.append(f"cannot load {file} (a definition error); its cases show as '{UNLOADED}': {reason}")
        for info in unreadable_cases(root / file, file, reason):
            infos.setdefault(info.case, info)
    return infos, warnings


class RequirementsProblems(ConfigError):
    def __init__(self, problems: list[Problem]):
        super().__init__(render_problems(problems))
        self.problems = problems


def _participant(cohorts: dict[str, Cohort], wanted: str) -> tuple[str, set[str], set[str]]:
    roles: set[str] = set()
    in_cohorts: set[str] = set()
    names = set()
    for cid, cohort in cohorts.items():
        for role, p in cohort.participants.items():
            if wanted.lower() in {p.mpid.lower(), p.dip_id.lower(), (p.name or "").lower()}:
                roles.add(role)
                in_cohorts.add(cid)
                names.add(f"{p.name or p.mpid} ({p.mpid})")
    if not roles:
        known = sorted({p.mpid for c in cohorts.values() for p in c.participants.values()})
        raise ConfigError(f"--participant {wanted}: in no cohort file (MPIDs there: {', '.join(known) or 'none'})")
    return f"{', '.join(sorted(names))} as {', '.join(sorted(roles))}", roles, in_cohorts


@paused_gc()  # read, build and render as one: no collector pass over the cycle between them
def cmd_rttm(args: argparse.Namespace) -> int:
    from mhhs_sit.rttm.render import write

    formats = _formats(args.format)
    project = project_of(args)
    roles = _split(args.roles)
    if args.participant:
        cohorts, _ = project.cohorts
        roles = _scope(cohorts, args.participant, roles, [])[1]
    qualification = load_qualification(args, project, roles)
    store = open_store(args.store, project)
    try:
        rttm, warnings = rttm_for(
            store,
            args.cycle,
            project=project,
            roles=_split(args.roles),
            participant=args.participant,
            only_cohorts=_split(args.cohort),
            qualification=qualification,
        )
    except RequirementsProblems as exc:
        print(render_problems(exc.problems))
        return 1
    finally:
        store.close()
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    out = Path(args.out or "results")
    stem = "rttm-" + (args.cycle or "all") + (f"-{args.participant}" if args.participant else "")
    for fmt in formats:
        single = len(formats) == 1 and out.suffix.lower() == f".{fmt}"
        path = out if single else out / f"{_safe(stem)}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"wrote {write(rttm, fmt, path)}")
    total = len(rttm.requirement_verdicts)
    pct = f"{100 * rttm.covered / total:.1f}%" if total else "n/a"
    relied = f", {rttm.relied_on} of them by reliance" if rttm.qualification else ""
    print(f"{total} requirements, {rttm.covered} covered ({pct}){relied}, {len(rttm.rows)} rows, {len(rttm.runs)} runs")
    print(combined_runs(rttm))
    short = {r: v for r, v in sorted(rttm.requirement_verdicts.items()) if v not in COVERED}
    if args.require_covered and short:
        print(f"NOT COVERED: {len(short)} of {total} requirements:")
        for req, verdict in short.items():
            print(f"  {req}: {verdict}")
        return 1
    return 0


def combined_runs(rttm: Rttm) -> str:
    """Which runs the matrix combines (of its scope), each with its start and state."""
    if not rttm.runs:
        return f"combined no runs ({rttm.scope}): the store holds none"
    listed = "; ".join(f"{r.run_id} ({r.started[:19]}, {r.state})" for r in rttm.runs)
    return f"combined {len(rttm.runs)} run{'s' if len(rttm.runs) != 1 else ''} ({rttm.scope}): {listed}"


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def cmd_cycle(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        if not args.cycle:
            _print_cycles(store)
            return 0
        runs = store.runs(args.cycle)
        rows = store.results(args.cycle, fields=("message",))
    finally:
        store.close()
    if not runs:
        raise ConfigError(f"no run of cycle {args.cycle!r} in the results store")
    _print_runs(args.cycle, runs)
    wanted = {s.replace("-", " ") for s in _split(args.status)}
    _print_histories(runs, rows, wanted)
    _print_unloaded(runs, rows, wanted)
    return 0


def _print_cycles(store: ResultsStore) -> None:
    from mhhs_sit.core.natural_order import natural_key

    cycles = store.cycles()
    if not cycles:
        print(f"no runs in results store {store.shown}")
    for c in cycles:
        sprints = ", ".join(sorted(c.sprints, key=natural_key)) or "—"
        name = c.cycle or "(no cycle)"
        print(f"{name:<16} {c.runs:>4} runs  {c.first[:16]} → {c.last[:16]}  sprints: {sprints}")


def _print_runs(cycle: str, runs: Sequence[StoredRun]) -> None:
    print(f"cycle {cycle}: {len(runs)} runs")
    for i, r in enumerate(runs, 1):
        sprint = f" sprint {r.sprint}" if r.sprint else ""
        print(f"  #{i} {r.run_id} {r.started[:19]} {r.state}{sprint} ({r.results} results)")


def _print_histories(runs: Sequence[StoredRun], rows: Sequence[StoredResult], wanted: set[str]) -> None:
    """Every case × cohort with its deciding status and each run's outcome (only ``wanted`` statuses, if any)."""
    from mhhs_sit.core.natural_order import natural_key
    from mhhs_sit.store.cycle import histories

    number = {r.run_id: i for i, r in enumerate(runs, 1)}
    print()
    for h in sorted(histories(rows).values(), key=lambda h: (natural_key(h.key.case), h.key.cohort)):
        if wanted and h.status not in wanted:
            continue
        trail = " → ".join(f"{o.status} (#{number.get(o.run_id, '?')})" for o in h.outcomes)
        print(f"  {h.status.upper():<8} {h.key.claim}  {trail}")


def _print_unloaded(runs: Sequence[StoredRun], rows: Sequence[StoredResult], wanted: set[str]) -> None:
    """The scenario files the cycle's latest runs could not load (a definition error of the file),
    until a later run loads them: their cases are in no history above."""
    from mhhs_sit.results.outcome import Status
    from mhhs_sit.store.cycle import collection_errors

    if wanted and Status.DEFINITION_ERROR.value not in wanted:
        return
    number = {r.run_id: i for i, r in enumerate(runs, 1)}
    for file, row in sorted(collection_errors(rows).items()):
        why = (row.message or "").strip().split("\n", 1)[0][:160]
        print(f"  DEFINITION ERROR (file) {file} (#{number.get(row.run_id, '?')}): {why}")
