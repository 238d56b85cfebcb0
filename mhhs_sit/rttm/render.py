"""One entry point for every RTTM format."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mhhs_sit.core.atomic import atomic_path
from mhhs_sit.core.gcpause import paused_gc
from mhhs_sit.errors import ConfigError
from mhhs_sit.rttm.model import Rttm

FORMATS = ("xlsx", "csv", "json", "html")


@paused_gc()
def write(rttm: Rttm, fmt: str, path: Path) -> Path:
    """``rttm`` as ``fmt`` at ``path``, written under a temporary name and renamed once complete; its
    evidence links are relative to ``path``'s directory, so they survive packing and moving."""
    from mhhs_sit.rttm import render_html, render_tabular, render_xlsx

    if fmt not in FORMATS:
        raise ConfigError(f"unknown RTTM format {fmt!r}: use one of {', '.join(FORMATS)}")
    rttm = dataclasses.replace(rttm, links_from=str(Path(path).resolve().parent))  # links relative to the file
    render_tabular.link_target.cache_clear()  # whether a run folder has its report yet: looked at anew
    with atomic_path(path) as tmp:
        if fmt == "xlsx":
            render_xlsx.write_xlsx(rttm, tmp)
        elif fmt == "csv":
            render_tabular.write_csv(rttm, tmp)
        elif fmt == "json":
            render_tabular.write_json(rttm, tmp)
        else:
            tmp.write_text(render_html.render_html(rttm), encoding="utf-8")
    return path
