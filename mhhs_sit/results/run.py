"""The run's results: one record per collected item, whatever happened to it.

Built in the process that reports (the controller under xdist) from pytest's reports, so every
collected case appears — passed, failed, broken, skipped, or *not run* when the session ended
before it (``-x``, an interrupt, a crashed worker) — and written as ``results.json``, the input
of the completion report, the RTTM and the evidence pack.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mhhs_sit import __version__
from mhhs_sit.results.outcome import UNSUCCESSFUL, Category, Status

CASE_META = "mhhs_case"  # user property: what the case is (set at collection)
CASE_RUN = "mhhs_run"  # user property: what happened when it ran (set on the call report)
BROKEN = ("mhhs_outcome", Status.BROKEN.value)
_NAME = re.compile(r"^(?P<case>.+)\[(?P<cohort>[^\[\]]+)\]$")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def parse_utc(text: str | None) -> dt.datetime | None:
    """An ISO time, in UTC when it names a zone (naive when it does not); None if it is not one."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(dt.UTC) if when.tzinfo is not None else when


@dataclass(frozen=True)
class FailingStep:
    number: int
    title: str
    kind: str
    location: str
    detail: str

    def text(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"step {self.number} {self.kind}: {self.title}{where}"


def failing_step(steps: Any) -> FailingStep | None:
    """The first failed or broken step of a case's recorded steps."""
    for s in steps if isinstance(steps, list) else ():
        if isinstance(s, dict) and s.get("status") in UNSUCCESSFUL:
            return FailingStep(
                number=int(s.get("n") or 0),
                title=str(s.get("title") or ""),
                kind=str(s.get("kind") or ""),
                location=str(s.get("location") or ""),
                detail=str(s.get("detail") or ""),
            )
    return None


def git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@dataclass
class RunResults:
    run_id: str
    started: str = field(default_factory=utc_now)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # nodeid -> record

    def expect(self, nodeid: str, meta: dict[str, Any] | None = None) -> None:
        """A collected item: it is *not run* until a report says otherwise."""
        record = self.items.setdefault(nodeid, {"nodeid": nodeid, "status": Status.NOT_RUN.value})
        if meta:
            record.update(meta)
        elif "case" not in record:
            m = _NAME.match(nodeid.split("::")[-1])
            if m:
                record.update(case=m.group("case"), cohort=m.group("cohort"))

    def collection_error(self, nodeid: str, text: str) -> None:
        """A scenario file that could not be collected: its cases cannot be listed, the file can."""
        lines = [line for line in text.strip().splitlines() if line.strip()]
        self.items[nodeid] = {
            "nodeid": nodeid,
            "case": nodeid,
            "cohort": "",
            "status": Status.ERROR.value,
            "category": Category.TEST_DEFINITION.value,
            "message": "\n".join(lines[:40])[:4000] or "the file could not be collected",
            "location": nodeid,
        }

    def add(self, report: Any) -> bool:
        """Take one report; True when it settled the item's outcome (worth recording at once)."""
        props = dict(getattr(report, "user_properties", []) or [])
        if CASE_META not in props and "::" not in report.nodeid:
            return False
        self.expect(report.nodeid, json.loads(props[CASE_META]) if CASE_META in props else None)
        record = self.items[report.nodeid]
        if CASE_RUN in props:
            record.update(json.loads(props[CASE_RUN]))
        broken = props.get(BROKEN[0]) == BROKEN[1]
        if report.when == "setup" and report.skipped:
            record["status"] = Status.SKIPPED.value
            record["message"] = _skip_reason(report)
        elif report.when == "call":
            record["status"] = Status.BROKEN.value if broken else report.outcome
            record["duration_s"] = round(report.duration, 4)
        elif report.failed:  # an error in setup or teardown, or a crashed worker
            record["status"] = Status.BROKEN.value
            record.setdefault("category", Category.ENVIRONMENT.value)
            record.setdefault("message", str(report.longreprtext).strip().splitlines()[-1:][0][:300]
                              if report.longreprtext else "error outside the case")  # fmt: skip
        else:
            return False
        return True

    def document(self, **run: Any) -> dict[str, Any]:
        cases = sorted(self.items.values(), key=lambda r: r["nodeid"])
        return {
            "run_id": self.run_id,
            "framework_version": __version__,
            "started": self.started,
            "finished": utc_now(),
            **run,
            "totals": dict(Counter(c["status"] for c in cases)),
            "cases": cases,
        }

    def write(self, path: Path, **run: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.document(**run), indent=2, default=str))
        tmp.replace(path)


def _skip_reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
