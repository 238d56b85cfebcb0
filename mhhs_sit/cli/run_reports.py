"""The reports a run, or a whole cycle, ends with: the Allure report, the completion report and the
RTTM, each written beside the results. A missing tool or an unreadable part is said once and
leaves the other reports written; it never fails the run."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from mhhs_sit.core import atomic
from mhhs_sit.core.gcpause import paused_gc
from mhhs_sit.errors import MhhsSitError
from mhhs_sit.project import Project
from mhhs_sit.rttm.reliance import Reliance

# A run folder's reports link each other, the Allure report and the results by relative links,
# which hold once the folder is packed (evidence pack) or moved.
RELATED_TO_COMPLETION = (("RTTM", "rttm.html"), ("Allure report", "report/index.html"), ("results", "results.json"))
RELATED_TO_RTTM = (("Completion report", "completion-report.html"), ("Allure report", "report/index.html"))


def allure_report(results: Path, out: Path, project: Project, *, wanted: bool | None) -> list[str]:
    """The Allure HTML report of ``results`` in ``out/report``: ``wanted`` None builds it when
    Allure is found (and says how to install it when not), True installs Allure if needed."""
    from mhhs_sit.evidence.report import INSTALL_HINT, build_report, find_allure, install

    if wanted is False:
        return []
    tool = find_allure(project.root)
    if tool is None and wanted:
        try:
            print("installing Allure 3 from the npm registry ...", flush=True)
            tool = install()
        except MhhsSitError as exc:
            print(f"mhhs-sit: no Allure report: {exc}", file=sys.stderr)
    if tool is None:
        if wanted is None:
            print(f"mhhs-sit: no Allure report. {INSTALL_HINT}")
        return []
    try:
        build_report(results, out / "report", tool=tool)
    except MhhsSitError as exc:
        print(f"mhhs-sit: no Allure report: {exc}", file=sys.stderr)
        return []
    return ["report/index.html"]


def completion_report(
    out: Path,
    paths: Sequence[Path],
    covers: str | None,
    project: Project,
    *,
    participant: str | None = None,
    qualification: tuple[str, tuple[Reliance, ...]] | None = None,
) -> list[str]:
    """The completion report of the runs whose ``results.json`` are ``paths``, in ``out``; of a
    qualification session (``participant``), naming it, its stage and the reliance it placed."""
    from mhhs_sit.cli.completion import catalogue_ids, criteria_path
    from mhhs_sit.evidence.completion import build_report as completion
    from mhhs_sit.evidence.completion_render import render_html, render_markdown
    from mhhs_sit.evidence.criteria import load_criteria
    from mhhs_sit.evidence.outcomes import load_cycle

    try:
        ids, source = catalogue_ids(project)
        summary = completion(
            load_cycle(paths), load_criteria(criteria_path(None)), covers=covers, catalogue=ids, catalogue_source=source
        )
        summary = dataclasses.replace(summary, related=RELATED_TO_COMPLETION, participant=participant)
        if qualification is not None:
            stage, reliance = qualification
            shown = tuple(f"{r.requirement}: {r.shown}" for r in reliance)
            summary = dataclasses.replace(summary, qualification_stage=stage, reliance=shown)
        atomic.write_text(out / "completion-report.html", render_html(summary))
        atomic.write_text(out / "completion-report.md", render_markdown(summary))
    except MhhsSitError as exc:
        print(f"mhhs-sit: no completion report: {exc}", file=sys.stderr)
        return []
    print(f"\n{summary.summary()}")
    return ["completion-report.html/.md"]


@paused_gc()
def rttm_report(
    out: Path,
    store_spec: str | None,
    cycle: str | None,
    project: Project,
    *,
    run_ids: Sequence[str] | None = None,
    roles: list[str] | None = None,
    participant: str | None = None,
    qualification: tuple[str, tuple[Reliance, ...]] | None = None,
) -> list[str]:
    """The RTTM (xlsx and html) of ``cycle`` or of just ``run_ids`` in ``out``, when there is a
    catalogue and a store."""
    from mhhs_sit.cli.rttm import open_store, rttm_for
    from mhhs_sit.rttm.render import write
    from mhhs_sit.rttm.render_tabular import denominator_line

    if not project.path("mhhs_requirements").exists():
        return []
    try:
        store = open_store(store_spec, project)
        try:
            rttm, warnings = rttm_for(
                store,
                cycle,
                project=project,
                run_ids=run_ids,
                roles=roles,
                participant=participant,
                qualification=qualification,
            )
            rttm = dataclasses.replace(rttm, related=RELATED_TO_RTTM)
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
    print(f"RTTM ({rttm.scope}): {rttm.covered} of {total} requirements covered. {denominator_line(rttm)}")
    return ["rttm.xlsx/.html"]
