"""``mhhs-sit requirements``: check, list and import the requirements catalogue."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from mhhs_sit.cliutil import guarded
from mhhs_sit.errors import ConfigError, render_problems
from mhhs_sit.requirements import FIELDS, Requirement, load_requirements

DEFAULT = Path("test_data/requirements")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "requirements",
        help="check, list or import the requirements catalogue (test_data/requirements)",
        description="The requirements scenarios trace to: YAML, CSV or .xlsx files in test_data/requirements.",
    )
    sub = p.add_subparsers(dest="requirements_command", metavar="ACTION", required=True)
    c = sub.add_parser("check", help="every problem in the catalogue with file:line; exit 1 if any")
    c.add_argument("path", nargs="?", default=str(DEFAULT), help=f"file or directory (default: {DEFAULT})")
    c.set_defaults(func=guarded(cmd_check, lambda _: "mhhs-sit requirements check"))
    ls = sub.add_parser("list", help="the requirements, optionally for some roles or a stage")
    ls.add_argument("path", nargs="?", default=str(DEFAULT), help=f"file or directory (default: {DEFAULT})")
    ls.add_argument("--roles", action="append", metavar="ROLE", help="only requirements applying to these roles")
    ls.add_argument("--stage", help="only requirements of this stage (or of any stage)")
    ls.set_defaults(func=guarded(cmd_list, lambda _: "mhhs-sit requirements list"))
    im = sub.add_parser(
        "import",
        help="convert an RTTM workbook (.xlsx) or CSV into the catalogue's CSV form",
        description="Find the requirements table in a workbook (a header row naming e.g. 'Requirement ID', "
        "'Requirement', 'Test Stage', 'Priority', 'Role', below any title block) and write our CSV.",
    )
    im.add_argument("source", help="an .xlsx RTTM template or a CSV")
    im.add_argument("--out", required=True, help="the CSV to write, e.g. test_data/requirements/imported.csv")
    im.set_defaults(func=guarded(cmd_import, lambda _: "mhhs-sit requirements import"))


def _load(path: str) -> tuple[dict[str, Requirement], list]:
    target = Path(path)
    if not target.exists():
        raise ConfigError(f"{target}: no such file or directory")
    return load_requirements(target, Path.cwd())


def cmd_check(args: argparse.Namespace) -> int:
    found, problems = _load(args.path)
    if problems:
        print(render_problems(problems))
        return 1
    print(f"OK: {len(found)} requirements in {args.path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    found, problems = _load(args.path)
    if problems:
        print(render_problems(problems))
        return 1
    roles = frozenset(r.strip().upper() for v in args.roles or [] for r in v.split(",") if r.strip())
    for req in found.values():
        if roles and not req.applies_to(roles):
            continue
        if args.stage and req.stage not in ("", args.stage):
            continue
        who = ",".join(req.roles) or "all"
        print(f"{req.id:<14} P{req.priority or '-'} {req.stage or 'any':<19} {who:<22} {req.title}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    source = Path(args.source)
    found, problems = _load(str(source))
    if problems:
        print(render_problems(problems))
        print(f"not imported: fix the {len(problems)} problem(s) above in {source}")
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(FIELDS)
        for r in found.values():
            writer.writerow([r.id, r.title, r.source, r.stage, r.priority or "", " ".join(r.roles)])
    print(f"imported {len(found)} requirements from {source} into {out}")
    return 0
