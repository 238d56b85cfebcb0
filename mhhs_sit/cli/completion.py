"""``mhhs-sit completion-report``: the exit verdict of a cycle, as HTML and Markdown.

The exit code is the verdict (0 met, 1 not met, 2 unusable input), so a CI pipeline can gate a
stage on it and still publish the report either way.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mhhs_sit.cli.common import guarded
from mhhs_sit.core import atomic
from mhhs_sit.errors import ConfigError
from mhhs_sit.evidence.completion import CompletionReport, build_report
from mhhs_sit.evidence.completion_render import render_html, render_markdown
from mhhs_sit.evidence.criteria import BUILTIN, load_criteria
from mhhs_sit.evidence.outcomes import load_cycle
from mhhs_sit.project import Project

DEFAULT_CRITERIA = Path("test_data/exit-criteria.yaml")
FORMATS = {"html": "completion-report.html", "md": "completion-report.md", "markdown": "completion-report.md"}

_EPILOG = """\
Several results.json (a cycle's runs) are combined: for each case and cohort the latest run (by
its finish time) counts. A directory stands for the results.json inside it.

exit status: 0 exit criteria met, 1 not met, 2 unusable results or criteria file
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "completion-report",
        help="the test completion report and exit-criteria verdict (HTML and Markdown)",
        description="Combine a cycle's results.json files, evaluate the exit criteria and write "
        "completion-report.html and completion-report.md.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results", nargs="+", metavar="RESULTS_JSON", help="results.json of each run (or its directory)")
    p.add_argument(
        "--criteria",
        metavar="FILE",
        help=f"exit criteria YAML (default: {DEFAULT_CRITERIA} if present, else the built-in defaults)",
    )
    p.add_argument("--out", metavar="DIR", help="where to write the report (default: beside the first results.json)")
    p.add_argument("--format", default="html,md", help="comma-separated: html, md (default: html,md)")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    return guarded(_run, lambda _: "mhhs-sit completion-report")(args)


def _run(args: argparse.Namespace) -> int:
    formats = _formats(args.format)
    paths = [_results_path(Path(p)) for p in args.results]
    criteria = load_criteria(criteria_path(args.criteria))
    ids, source = catalogue_ids(Project.discover())
    report = build_report(load_cycle(paths), criteria, catalogue=ids, catalogue_source=source)
    written = _write(report, formats, Path(args.out) if args.out else paths[0].parent)
    print(report.summary())
    for o in report.outcomes:
        print(f"  {'PASS' if o.met else 'FAIL'} {o.criterion.id} {o.criterion.title}: {o.measured}")
    if criteria.source == BUILTIN:
        print(f"  (criteria: {BUILTIN}; no {DEFAULT_CRITERIA} here and no --criteria)")
    for target in written:
        print(f"completion report: {target}")
    return 0 if report.met else 1


def _write(report: CompletionReport, formats: list[str], out: Path) -> list[Path]:
    """Each asked-for rendering in ``out``; ``ConfigError`` if it cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for fmt in formats:
            target = out / FORMATS[fmt]
            atomic.write_text(target, render_html(report) if fmt == "html" else render_markdown(report))
            written.append(target)
    except OSError as exc:
        raise ConfigError(f"cannot write the report in {out}: {exc}") from None
    return written


def _formats(text: str) -> list[str]:
    wanted = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise ConfigError(f"--format {text!r}: expected html, md or both (html,md)")
    return list(dict.fromkeys("md" if f == "markdown" else f for f in wanted))


def _results_path(path: Path) -> Path:
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise ConfigError(f"{path}: no such results file")
    return path


def criteria_path(given: str | None) -> Path | None:
    if given:
        path = Path(given)
        if not path.is_file():
            raise ConfigError(f"--criteria {given}: no such file")
        return path
    return DEFAULT_CRITERIA if DEFAULT_CRITERIA.is_file() else None


def catalogue_ids(project: Project) -> tuple[tuple[str, ...], str | None]:
    """The requirements catalogue's ids and where they come from: the coverage denominator the RTTM
    uses too. None when there is no usable catalogue (the report then counts what the cases reference)."""
    requirements = project.path("mhhs_requirements")
    if not requirements.exists():
        return (), None
    catalogue, problems = project.requirements
    if problems or not catalogue:
        return (), None
    return tuple(catalogue), os.path.relpath(requirements, project.root)
