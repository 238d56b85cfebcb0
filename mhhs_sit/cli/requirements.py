"""``mhhs-sit requirements``: check, list and import the requirements catalogue."""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from mhhs_sit.cli.common import guarded, shown
from mhhs_sit.core import atomic
from mhhs_sit.definitions.model import STAGES
from mhhs_sit.definitions.requirements import FIELDS, Catalogue, Requirement, read_catalogue
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.definitions.schemas import ROLES
from mhhs_sit.errors import ConfigError, render_problems
from mhhs_sit.project import Project

DEFAULT = "the ini setting mhhs_requirements, else test_data/requirements"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "requirements",
        help="check, list or import the requirements catalogue (test_data/requirements)",
        description="The requirements scenarios trace to: YAML, CSV or .xlsx files in test_data/requirements.",
    )
    sub = p.add_subparsers(dest="requirements_command", metavar="ACTION", required=True)
    c = sub.add_parser("check", help="every problem in the catalogue with file:line; exit 1 if any")
    c.add_argument("path", nargs="?", help=f"file or directory (default: {DEFAULT})")
    c.set_defaults(func=guarded(cmd_check, lambda _: "mhhs-sit requirements check"))
    ls = sub.add_parser("list", help="the requirements, optionally for some roles or a stage")
    ls.add_argument("path", nargs="?", help=f"file or directory (default: {DEFAULT})")
    ls.add_argument(
        "--roles", action="append", metavar="ROLE", help="only requirements applying to these roles (e.g. LDSO)"
    )
    ls.add_argument("--stage", help="only requirements of this stage (or of any stage), e.g. sit-functional")
    ls.set_defaults(func=guarded(cmd_list, lambda _: "mhhs-sit requirements list"))
    im = sub.add_parser(
        "import",
        help="convert an RTTM workbook (.xlsx) or CSV into the catalogue's CSV form",
        description="Find the requirements table in a workbook (a header row naming e.g. 'Requirement ID', "
        "'Requirement', 'Test Stage', 'Priority', 'Role', below any title block) and write our CSV. Rows with "
        "a problem are reported with their row (and sheet) and left out; the exit code is then 1.",
    )
    im.add_argument("source", help="an .xlsx RTTM template or a CSV")
    im.add_argument("--sheet", metavar="NAME", help="read only this worksheet (default: every sheet with a table)")
    im.add_argument("--out", required=True, help="the CSV to write, e.g. test_data/requirements/imported.csv")
    im.set_defaults(func=guarded(cmd_import, lambda _: "mhhs-sit requirements import"))


def _where(path: str | None) -> tuple[Path, Path, str]:
    """(the catalogue, the root its problems are shown from, how it is named): ``path``, else
    where the project's ini setting mhhs_requirements says."""
    if path:
        return Path(path), Path.cwd(), path
    project = Project.discover()
    target = project.path("mhhs_requirements")
    return target, project.root, shown(project, target)


def _read(path: str | None, sheet: str | None = None) -> Catalogue:
    target, root, _ = _where(path)
    if not target.exists():
        raise ConfigError(f"{target}: no such file or directory")
    return read_catalogue(target, root, sheet=sheet)


def _summary(found: Iterable[Requirement]) -> str:
    by_source = Counter(r.source for r in found)
    return ", ".join(f"{n} {source}" for source, n in sorted(by_source.items()))


def cmd_check(args: argparse.Namespace) -> int:
    catalogue = _read(args.path)
    if catalogue.problems:
        print(render_problems(catalogue.problems))
        return 1
    found = catalogue.requirements
    print(f"OK: {len(found)} requirements in {_where(args.path)[2]} ({_summary(found.values()) or 'none'})")
    return 0


def _wanted_roles(values: list[str] | None) -> frozenset[str]:
    roles = frozenset(r.strip().upper() for v in values or [] for r in v.split(",") if r.strip())
    unknown = sorted(roles - set(ROLES))
    if unknown:
        role = unknown[0]
        raise ConfigError(f"--roles: unknown role {role!r}{suggest(role, ROLES)}; role codes are {', '.join(ROLES)}")
    return roles


def _listed(req: Requirement, roles: frozenset[str], stage: str | None) -> bool:
    """Whether ``req`` applies to one of ``roles`` (if any) and to ``stage`` (if given)."""
    return (not roles or req.applies_to(roles)) and (not stage or req.stage in ("", stage))


def cmd_list(args: argparse.Namespace) -> int:
    roles = _wanted_roles(args.roles)
    if args.stage and args.stage not in STAGES:
        known = ", ".join(STAGES)
        raise ConfigError(f"--stage: unknown stage {args.stage!r}{suggest(args.stage, STAGES)}; one of {known}")
    catalogue = _read(args.path)
    if catalogue.problems:
        print(render_problems(catalogue.problems))
        return 1
    for req in catalogue.requirements.values():
        if not _listed(req, roles, args.stage):
            continue
        who = ",".join(req.roles) or "all"
        print(f"{req.id:<14} P{req.priority or '-'} {req.stage or 'any':<19} {who:<22} {req.title}")
    return 0


def write_csv(requirements: Iterable[Requirement], out: Path) -> None:
    """The catalogue's CSV form: the header names the fields; roles are space separated."""
    with atomic.atomic_path(out) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(FIELDS)
        for r in requirements:
            writer.writerow([r.id, r.title, r.source, r.stage, r.priority or "", " ".join(r.roles)])


def cmd_import(args: argparse.Namespace) -> int:
    source = Path(args.source)
    catalogue = _read(str(source), args.sheet)
    kept = [r for r in catalogue.requirements.values() if r.id not in catalogue.flawed]
    out = Path(args.out)
    if kept:
        write_csv(kept, out)
    problems = catalogue.problems
    if problems:
        print(render_problems(problems))
    print(f"imported {len(kept)} requirements from {source} into {out}" if kept else f"nothing imported from {source}")
    if problems:
        print(f"not imported: the rows with the {len(problems)} problem(s) above; fix them in {source}, import again")
        return 1
    return 0
