"""``mhhs-sit catalogue compare | generate --dip-spec PATH``: the catalogue against an official spec.

``compare`` lists every difference between a catalogue version and the spec, marking those the
catalogue lists as deliberate; it exits 1 when any other difference is left. ``generate``
rewrites the catalogue's generated files from the spec's facts (see docs/catalogue.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from mhhs_sit import catalogue as interface_catalogue

Handler = Callable[[argparse.Namespace], int]
SPEC_HELP = "the DIP spec's directory of YAML modules (generate) or that directory or its SubmitEvents file (compare)"


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], guard: Callable[[Handler], Handler]
) -> None:
    """Add ``compare`` and ``generate`` to the ``catalogue`` sub-commands (``guard`` wraps handlers)."""
    compare = commands.add_parser("compare", help="every difference between the catalogue and an official DIP spec")
    compare.add_argument("--dip-spec", required=True, metavar="PATH", help=SPEC_HELP)
    compare.add_argument("--version", default="2.1.0", help="the catalogue version to compare (default: 2.1.0)")
    compare.set_defaults(func=guard(cmd_compare))
    generate = commands.add_parser("generate", help="write the catalogue's generated files from an official DIP spec")
    generate.add_argument("--dip-spec", required=True, metavar="PATH", help=SPEC_HELP)
    generate.add_argument(
        "--out",
        metavar="DIR",
        help="where to write (default: the catalogue shipped in the package, mhhs_sit/catalogue/data)",
    )
    generate.set_defaults(func=guard(cmd_generate))


def cmd_compare(args: argparse.Namespace) -> int:
    from mhhs_sit.catalogue.data import DATA_DIR
    from mhhs_sit.catalogue.dipspec import load_dip_spec
    from mhhs_sit.catalogue.specdiff import compare, load_allowances, unexplained

    cat = interface_catalogue.load_catalogue()
    spec = load_dip_spec(args.dip_spec)
    differences = compare(cat, spec, args.version)
    allowances = load_allowances(DATA_DIR / "official-differences.yaml")
    left, _ = unexplained(differences, allowances)
    for d in differences:
        print(("  listed  " if d not in left else "  ") + str(d))
    label = cat.version(args.version).label
    print(
        f"\nCatalogue {label} against DIP spec {spec.version}: {len(differences)} differences, "
        f"{len(differences) - len(left)} of them listed in official-differences.yaml, {len(left)} not."
    )
    return 1 if left else 0


def cmd_generate(args: argparse.Namespace) -> int:
    from mhhs_sit.catalogue.data import DATA_DIR
    from mhhs_sit.catalogue.specgen import GenerateError, write

    out = Path(args.out) if args.out else DATA_DIR
    try:
        written = write(Path(args.dip_spec), out)
    except GenerateError as exc:
        print(f"error: {exc}")
        return 2
    print(f"{len(written)} files written to {out}")
    return 0
