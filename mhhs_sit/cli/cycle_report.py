"""``mhhs-sit report --cycle C``: one Allure report, RTTM and completion report for a whole cycle.

The cycle's runs are in the results store, and each run row names the folder its evidence was
written to. A cycle run on several machines (``--shard K/N``) has its folders somewhere else by the
time they are merged (a CI job downloads the shards' artefacts), so ``--evidence DIR`` names where
to look as well: a run's folder is found there by the run id its ``results.json`` records, never by
its name. Every run found contributes its Allure results and its results; a run whose folder is
nowhere is named, and the reports say how many runs they cover.
"""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from mhhs_sit.cli.common import project_of
from mhhs_sit.cli.run_reports import allure_report, completion_report, rttm_report
from mhhs_sit.errors import ConfigError
from mhhs_sit.project import Project
from mhhs_sit.store.rows import StoredRun

_RUN_ID = re.compile(rb'"run_id"\s*:\s*"([^"]+)"')
_SEARCH_DEPTH = 3  # DIR/results.json, DIR/<run>/results.json, DIR/<shard>/<run>/results.json


def cmd_cycle_report(args: argparse.Namespace) -> int:
    """Build the cycle's reports into ``--out`` (default results/cycle-<C>)."""
    from mhhs_sit.cli.rttm import open_store

    project = project_of(args)
    store = open_store(args.store, project)
    try:
        runs = store.runs(args.cycle)
        shown = store.shown
    finally:
        store.close()
    if not runs:
        raise ConfigError(f"no run of cycle {args.cycle!r} in results store {shown}: see `mhhs-sit cycle`")
    found = run_folders(runs, [Path(d) for d in args.evidence or []])
    out = Path(args.out or Path("results") / f"cycle-{args.cycle}")
    for run_id, folder in found.items():
        if folder.resolve() == out.resolve():
            raise ConfigError(f"--out {out} is the evidence folder of run {run_id}: give the cycle's reports their own")
    out.mkdir(parents=True, exist_ok=True)
    _say_what_was_found(runs, found)
    made = rttm_report(out, args.store, args.cycle, project)
    if found:
        covers = f"cycle {args.cycle} ({len(found)} of {len(runs)} run{'s' if len(runs) != 1 else ''})"
        made += completion_report(out, [d / "results.json" for d in found.values()], covers, project)
        made += _cycle_allure(out, list(found.values()), project, wanted=True if args.install else None)
    print(f"\nmhhs-sit: cycle {args.cycle} reports in {out}/ ({', '.join(made) or 'none: see the messages above'})")
    return 0 if made else 2


def run_folders(runs: Sequence[StoredRun], search: Sequence[Path]) -> dict[str, Path]:
    """Each run's evidence folder that is here: where the store says, else one under ``search``
    whose results.json records the run's id. In the runs' order."""
    wanted = {r.run_id for r in runs}
    elsewhere: dict[str, Path] = {}
    for root in search:
        if not root.is_dir():
            raise ConfigError(f"--evidence {root}: no such directory")
        for results in _results_files(root, _SEARCH_DEPTH):
            run_id = recorded_run_id(results)
            if run_id in wanted:
                elsewhere.setdefault(run_id, results.parent)
    out: dict[str, Path] = {}
    for r in runs:
        recorded = Path(r.evidence) if r.evidence else None
        if recorded is not None and recorded_run_id(recorded / "results.json") == r.run_id:
            out[r.run_id] = recorded
        elif r.run_id in elsewhere:
            out[r.run_id] = elsewhere[r.run_id]
    return out


def _results_files(root: Path, depth: int) -> Iterator[Path]:
    if (root / "results.json").is_file():
        yield root / "results.json"
    if depth > 1:
        for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
            yield from _results_files(child, depth - 1)


def recorded_run_id(results: Path) -> str | None:
    """The run id a results.json records (its first key: the head of the file is enough)."""
    try:
        with results.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    found = _RUN_ID.search(head)
    return found.group(1).decode() if found else None


def _say_what_was_found(runs: Sequence[StoredRun], found: dict[str, Path]) -> None:
    print(f"cycle: {len(runs)} run{'s' if len(runs) != 1 else ''} in the store, evidence of {len(found)} here")
    for r in runs:
        where = found.get(r.run_id)
        if where is not None:
            print(f"  {r.run_id} ({r.started[:19]}, {r.state}): {where}")
        else:
            print(
                f"  {r.run_id} ({r.started[:19]}, {r.state}): its evidence folder ({r.evidence or 'none recorded'}) "
                "is not here; give --evidence DIR where the runs' folders are (the RTTM still counts its results)"
            )


def _cycle_allure(out: Path, folders: Sequence[Path], project: Project, *, wanted: bool | None) -> list[str]:
    """The runs' Allure results gathered into ``out/allure-results`` (each file's name is its own
    uuid, so runs never collide), then one report of them."""
    merged = out / "allure-results"
    if merged.exists():
        shutil.rmtree(merged)  # a previous merge's files are not this one's
    merged.mkdir(parents=True)
    copied = 0
    for folder in folders:
        source = folder / "allure-results"
        if not source.is_dir():
            continue
        for f in source.iterdir():
            if f.is_file() and not f.is_symlink():
                shutil.copy2(f, merged / f.name)
                copied += 1
    if not copied:
        print("mhhs-sit: no Allure report: none of the cycle's runs here has Allure results")
        return []
    return allure_report(merged, out, project, wanted=wanted)
