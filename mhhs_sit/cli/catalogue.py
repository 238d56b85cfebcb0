"""``mhhs-sit catalogue list | show IF-nnn | diff A B | lint --dip-spec PATH`` (and compare, generate, scenarios).

:func:`register` adds the commands to the main parser; each handler returns an exit code:
0 for success, 1 when ``lint`` finds examples that contradict their schemas, 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mhhs_sit import catalogue as interface_catalogue  # its load_catalogue (and jsonschema) resolved on first use
from mhhs_sit.catalogue.messageschema import bracketed
from mhhs_sit.catalogue.model import Change
from mhhs_sit.cli.catalogue_spec import add_commands
from mhhs_sit.cli.common import guarded, readable_scenarios
from mhhs_sit.cli.scenario_pages import add_command as add_scenarios_command
from mhhs_sit.definitions.impact import affected
from mhhs_sit.definitions.model import Scenario
from mhhs_sit.execution.steps import STEP_KINDS
from mhhs_sit.project import Project

if TYPE_CHECKING:
    from mhhs_sit.catalogue.catalogue import Catalogue
    from mhhs_sit.catalogue.model import Interface

Handler = Callable[[argparse.Namespace], int]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``catalogue`` command and its sub-commands to the main parser."""
    parser = subparsers.add_parser(
        "catalogue",
        help="the interface catalogue: list, show, diff versions, lint an official DIP spec",
        description="The interface catalogue: which interfaces exist in which version, who sends "
        "and receives them, how versions differ, and whether an official DIP spec's examples "
        "match its own schemas.",
    )
    commands = parser.add_subparsers(dest="catalogue_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="every interface with its roles and versions")
    listing.set_defaults(func=_guarded(cmd_list))

    show = commands.add_parser("show", help="one interface: roles, routing, event codes, fields")
    show.add_argument("interface", help="an interface id such as IF-031")
    show.add_argument(
        "--ir",
        "--version",  # the old spelling, kept as an alias
        dest="version",
        metavar="VERSION",
        help="interface spec version for the fields, e.g. IR8.2 or 2.1.0 (default: the newest)",
    )
    show.add_argument("--event", help="show the fields of this event code only")
    show.set_defaults(func=_guarded(cmd_show))

    diff = commands.add_parser("diff", help="what changed between two versions (IR8, 1.8.2, 2.1.0…)")
    diff.add_argument("a", metavar="FROM", help="the earlier version, e.g. IR8")
    diff.add_argument("b", metavar="TO", help="the later version, e.g. 2.1.0")
    diff.add_argument("--interface", help="only changes to this interface")
    diff.add_argument(
        "--scenarios",
        metavar="PATH",
        action="append",
        help="scenario files or directories whose affected cases are listed (default: ini mhhs_scenarios)",
    )
    diff.set_defaults(func=_guarded(cmd_diff))

    lint = commands.add_parser("lint", help="list the examples of an official DIP spec that contradict its schemas")
    lint.add_argument(
        "--dip-spec",
        required=True,
        metavar="PATH",
        help="the DIP spec's directory of YAML modules, or its SubmitEvents file",
    )
    lint.set_defaults(func=_guarded(cmd_lint))
    add_commands(commands, _guarded)
    add_scenarios_command(commands, _guarded)


def _guarded(handler: Handler) -> Handler:
    return guarded(handler, lambda args: "error")


# -- list --------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    """Every interface with its senders, recipients, number of event codes and versions."""
    cat = interface_catalogue.load_catalogue()
    print(f"Catalogue versions: {_versions_line(cat)}\n")
    rows = []
    for i in cat.interfaces:
        rows.append(
            [
                i.id + ("*" if i.source == "modelled" else ""),
                i.name,
                " ".join(sorted(i.senders)),
                _roles(i.recipients),
                str(len(i.event_codes(i.versions[-1]))),
                i.detail,
                " ".join(i.versions),
            ]
        )
    headers = ["ID", "NAME", "SENDERS", "RECIPIENTS", "EVENTS", "DETAIL", "VERSIONS"]
    print(_table(headers, rows, limits={1: 52, 2: 24, 3: 30}))
    full = sum(1 for i in cat.interfaces if i.detail == "full")
    print(
        f"\n{len(cat.interfaces)} interfaces, {full} with their custom blocks modelled in full; "
        "* = senders/recipients modelled, not published."
    )
    return 0


# -- show --------------------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:
    """One interface: names, roles, routing, event codes per version, fields of its messages."""
    cat = interface_catalogue.load_catalogue()
    interface = cat.interface(args.interface)
    version = cat.resolve_version(args.version) if args.version else interface.versions[-1]
    _print_facts(interface)
    print("\nEvent codes by version:")
    for name in cat.versions:
        codes = interface.event_codes(name)
        listed = " ".join(bracketed(c) for c in codes) if codes else "(not in this version)"
        print(f"  {cat.version(name).label:<16}{listed}")
    codes = interface.event_codes(version)
    if not codes:
        print(f"\n{interface.id} is not in version {cat.version(version).label}.")
        return 0
    if args.event:
        wanted = args.event.strip("[]")
        if wanted not in codes:
            print(
                f"error: {interface.id} has no event code {bracketed(wanted)} in version "
                f"{version}; it has {' '.join(bracketed(c) for c in codes)}",
                file=sys.stderr,
            )
            return 2
        codes = (wanted,)
    _print_blocks(cat, interface.id, codes, version)
    return 0


def _print_facts(interface: Interface) -> None:
    print(f"{interface.id}  {interface.name}")
    facts = [
        ("publication", interface.publication_id),
        ("catalogue name", interface.catalogue_name),
        ("process", interface.process),
        ("senders", " ".join(sorted(interface.senders))),
        ("recipients", " ".join(sorted(interface.recipients))),
        ("always", " ".join(sorted(interface.always)) or "-"),
        ("routing", " ".join(sorted(interface.routing))),
        ("schema version", interface.schema_version),
        ("source", interface.source),
        ("detail", interface.detail),
    ]
    if interface.notes:
        facts.append(("notes", interface.notes))
    for label, value in facts:
        print(f"  {label:<16}{value}")


def _print_blocks(cat: Catalogue, interface_id: str, codes: Sequence[str], version: str) -> None:
    """The common blocks (again only for an event code whose differ), then each custom block."""
    shown: object = None
    for code in codes:
        schema = cat.schema(interface_id, code, version=version)
        common = schema["properties"]["CommonBlock"]
        if shown is None:
            print(f"\nCommon blocks in {cat.version(version).label} (* = required):")
        elif _blocks_of(common) != _blocks_of(shown):
            print(f"\nCommon blocks of {bracketed(code)} (* = required):")
        if shown is None or _blocks_of(common) != _blocks_of(shown):
            _print_fields(common, "  ")
            shown = common
        print(f"\nCustomBlock of {bracketed(code)}:")
        if "CustomBlock" in schema["properties"]:
            _print_fields(schema["properties"]["CustomBlock"], "  ")
        else:
            print("  (none: messages of this event code carry no CustomBlock)")


def _blocks_of(common: Any) -> tuple[object, object]:
    return sorted(common.get("properties", {})), sorted(common.get("required", []))


def _print_fields(schema: dict[str, Any], indent: str) -> None:
    """The fields under ``schema`` as an indented tree: name, * when required, expected form."""
    if schema.get("x-detail") == "envelope-only":
        print(f"{indent}(not modelled: any object is accepted)")
        return
    required = set(schema.get("required", ()))
    for name, sub in (schema.get("properties") or {}).items():
        star = "*" if name in required else " "
        node, kind = _field_kind(sub)
        extra = "  [modelled]" if sub.get("x-source") == "modelled" else ""
        print(f"{indent}{name}{star:<2}{'':<{max(0, 48 - len(indent) - len(name))}}{kind}{extra}")
        if "properties" in node:
            _print_fields(node, indent + "  ")


def _field_kind(sub: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(the schema of the field's value, or of a list's items; the expected form in words)."""
    items = sub.get("items") if sub.get("type") == "array" and isinstance(sub.get("items"), dict) else None
    node: dict[str, Any] = items if items is not None else sub
    if "properties" in node:
        return node, "list of objects" if items is not None else "object"
    from mhhs_sit.catalogue.violations import expected_form

    return node, ("list of " if items is not None else "") + expected_form(node)


# -- diff --------------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    """What changed between two versions, grouped where many interfaces share a change."""
    cat = interface_catalogue.load_catalogue()
    a, b = cat.resolve_version(args.a), cat.resolve_version(args.b)
    changes = cat.diff(a, b)
    if args.interface:
        wanted = cat.interface(args.interface).id
        changes = [c for c in changes if c.interface_id == wanted]
    touched = {c.interface_id for c in changes}
    print(
        f"Changes from {cat.version(a).label} to {cat.version(b).label}: "
        f"{len(changes)} changes in {len(touched)} interfaces\n"
    )
    if not changes:
        print("No differences.")
        return 0
    _print_affected(changes, readable_scenarios(Project.discover(), args.scenarios))
    return 0


def _print_affected(changes: Sequence[Change], scenarios: list[Scenario]) -> None:
    """The grouped changes with the cases each affects, then every affected case."""
    rows = []
    for kind, where, source, text, members in _grouped(changes):
        cases = sorted({case for c in members for case in affected(c, scenarios, STEP_KINDS)})
        rows.append([kind, where, source or "-", _cases(cases), text])
    print(_table(["CHANGE", "INTERFACES", "SOURCE", "CASES AFFECTED", "DESCRIPTION"], rows, limits={1: 40, 3: 40}))
    hit = sorted({case for c in changes for case in affected(c, scenarios, STEP_KINDS)})
    print(f"\n{len(hit)} of {sum(len(s.cases) for s in scenarios)} test cases affected: {', '.join(hit) or 'none'}")


def _cases(cases: list[str]) -> str:
    if not cases:
        return "-"
    return ", ".join(cases) if len(cases) <= 2 else f"{', '.join(cases[:2])} +{len(cases) - 2}"


def _grouped(changes: Sequence[Change]) -> list[tuple[str, str, str, str, list[Change]]]:
    """One row per distinct change; the interfaces (and event codes) that share it listed."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    members: dict[tuple[str, str, str, str], list[Change]] = {}
    for c in changes:
        key: tuple[str, str, str, str] = (c.kind, c.path, c.description, c.source)
        label = c.interface_id + (
            f" {bracketed(c.event_code)}" if c.event_code and c.kind not in ("event-added", "event-removed") else ""
        )
        if c.kind in ("event-added", "event-removed"):
            key = (c.kind, c.path + str(c.event_code), c.description, c.source)
        groups.setdefault(key, []).append(label)
        members.setdefault(key, []).append(c)
    out = []
    for key, labels in groups.items():
        kind, _, text, source = key
        where = ", ".join(labels) if len(labels) <= 4 else f"{', '.join(labels[:3])} and {len(labels) - 3} more"
        out.append((kind, where, source, text, members[key]))
    return out


# -- lint --------------------------------------------------------------------------------------


def cmd_lint(args: argparse.Namespace) -> int:
    """Every example of the given DIP spec that contradicts its own schema, with path and reason."""
    from mhhs_sit.catalogue.dipspec import load_dip_spec

    spec = load_dip_spec(args.dip_spec)
    examples = spec.examples()
    findings = spec.lint_examples()
    print(
        f"DIP spec {spec.version} ({args.dip_spec}): {len(examples)} example messages checked "
        "against their interface's schema (field names matched case-insensitively)\n"
    )
    rows = [
        [f.location, f.example_name, f.interface_id, v.pointer or "/", v.message]
        for f in findings
        for v in f.violations
    ]
    if rows:
        print(_table(["WHERE", "EXAMPLE", "INTERFACE", "PATH", "REASON"], rows))
        print()
    count = sum(len(f.violations) for f in findings)
    total = f"{len(findings)} of {len(examples)} examples contradict their schemas"
    print(f"{total} ({count} violations).")
    return 1 if findings else 0


# -- formatting --------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]], limits: dict[int, int] | None = None) -> str:
    """Aligned columns; cells longer than their column's limit are cut with an ellipsis."""
    limits = limits or {}
    cut = [[_cut(cell, limits.get(i)) for i, cell in enumerate(row)] for row in rows]
    widths = [max(len(headers[i]), *(len(r[i]) for r in cut)) for i in range(len(headers))]
    lines = []
    for row in [headers, *cut]:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _cut(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _roles(roles: frozenset[str]) -> str:
    return " ".join(sorted(roles))


def _versions_line(cat: Catalogue) -> str:
    return ", ".join(cat.version(v).label + (" [default]" if v == cat.default_version else "") for v in cat.versions)
