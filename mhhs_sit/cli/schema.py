"""``mhhs-sit schema KIND``: the JSON Schema of one kind of file, for editors and other tools.

Printed from the very definitions ``validate`` checks with (the scenario schema is the step
registry's, with every kind's body; the rules schema the simulator loader's key sets; the
requirements schema the catalogue loader's fields and spellings), so it cannot drift from them. An editor using
yaml-language-server (VS Code's YAML extension and others) completes keys and flags structural
mistakes with it: a ``# yaml-language-server: $schema=FILE`` first line points at a saved copy (the
package ships one per kind, ``mhhs_sit/schemas/``, which the example files' first lines name).
Context checks (roles, templates, catalogue paths) still need ``mhhs-sit validate``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from pathlib import Path

import mhhs_sit.schemas
from mhhs_sit.core import atomic

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _scenario() -> Mapping[str, object]:
    from mhhs_sit.execution.steps import STEP_KINDS

    return STEP_KINDS.scenario_schema.schema


def _cohort() -> Mapping[str, object]:
    from mhhs_sit.definitions.schemas import COHORT

    return COHORT


def _environment() -> Mapping[str, object]:
    from mhhs_sit.definitions.schemas import ENVIRONMENT

    return ENVIRONMENT


def _rules() -> Mapping[str, object]:
    from mhhs_sit.cli.rules_schema import rules_schema

    return rules_schema()


def _requirements() -> Mapping[str, object]:
    from mhhs_sit.definitions.requirements import file_schema

    return file_schema()


KINDS: Mapping[str, tuple[Callable[[], Mapping[str, object]], str]] = {
    "scenario": (_scenario, "an mhhs-sit scenario file (test_themes/**/*.yaml)"),
    "cohort": (_cohort, "an mhhs-sit cohort file (cohorts/*.yaml)"),
    "environment": (_environment, "an mhhs-sit environment file (environments/*.yaml)"),
    "rules": (_rules, "a participant simulator rules file (stubs/rules/*.yaml)"),
    "requirements": (_requirements, "a requirements catalogue file (test_data/requirements/*.yaml)"),
}


def schema_of(kind: str) -> dict[str, object]:
    """The kind's schema as a standalone JSON Schema document."""
    make, title = KINDS[kind]
    return {"$schema": DIALECT, "title": title, **make()}


def shipped(kind: str) -> Path:
    """Where the package ships the kind's schema (what the example files' modelines point at)."""
    return Path(mhhs_sit.schemas.__file__).parent / f"{kind}.schema.json"


def schema_text(kind: str) -> str:
    return json.dumps(schema_of(kind), indent=2) + "\n"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of a kind of file (for editors)",
        description="Print the JSON Schema (2020-12) of scenario, cohort, environment, simulator rules or "
        "requirements catalogue files, generated from the definitions validate and the loaders use.",
    )
    p.add_argument("kind", choices=sorted(KINDS), help="the kind of file")
    p.add_argument("--out", metavar="FILE", help="write the schema to FILE instead of printing it")
    p.set_defaults(func=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    if args.out:
        atomic.write_text(Path(args.out), schema_text(args.kind))
        print(f"{args.kind} schema written to {args.out}")
    else:
        print(schema_text(args.kind), end="")
    return 0
