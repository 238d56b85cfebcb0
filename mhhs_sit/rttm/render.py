"""One entry point for every RTTM format."""

from __future__ import annotations

from pathlib import Path

from mhhs_sit.core.gcpause import paused_gc
from mhhs_sit.errors import ConfigError
from mhhs_sit.rttm.model import Rttm

FORMATS = ("xlsx", "csv", "json", "html")


@paused_gc()
def write(rttm: Rttm, fmt: str, path: Path) -> Path:
    from mhhs_sit.rttm import render_html, render_tabular, render_xlsx

    if fmt == "xlsx":
        return render_xlsx.write_xlsx(rttm, path)
    if fmt == "csv":
        return render_tabular.write_csv(rttm, path)
    if fmt == "json":
        return render_tabular.write_json(rttm, path)
    if fmt == "html":
        path.write_text(render_html.render_html(rttm), encoding="utf-8")
        return path
    raise ConfigError(f"unknown RTTM format {fmt!r}: use one of {', '.join(FORMATS)}")
