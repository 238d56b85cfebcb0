"""One load run: Locust headless in processes of its own, its CSV read back into ``Figures``.

The job file holds what the locustfile needs but no secret (the API key travels in the child's
environment). Kept as the case's evidence: the final figures (written by the locustfile when Locust
quits), Locust's HTML report and its per-second history CSV. Locust's other CSV files are left out:
they are written on a timer and miss the last second of a run. Whether the
environment failed (nothing answered, or it answered 5xx) is told apart from a slow or refusing
product by the failures Locust recorded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mhhs_sit.errors import EnvironmentBroken
from mhhs_sit.execution.load.thresholds import Figures

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
FIGURES_FILE = "figures.json"  # written by the locustfile when Locust quits
_ENVIRONMENT_FAILURES = ("ConnectionRefused", "ConnectionReset", "timed out", "Timeout", "HTTP 5", "RemoteDisconnected")


@dataclass(frozen=True)
class LoadPlan:
    """How hard and how long: Locust users, their spawn rate, an overall target rate, the duration."""

    users: int
    spawn_rate: float
    duration_s: int
    rate: float | None = None  # messages per second over all users; None: as fast as they can
    workers: int = 0  # Locust worker processes on this machine (0: one process)

    def locust_args(self) -> list[str]:
        args = ["-u", str(self.users), "-r", f"{self.spawn_rate:g}", "-t", f"{self.duration_s}s"]
        return args + (["--processes", str(self.workers)] if self.workers > 0 else [])


@dataclass(frozen=True)
class LoadJob:
    """What the locustfile sends: one message template to one interface, as one participant."""

    url: str
    interface: str
    template: Mapping[str, object]
    api_key: str | None = None
    sign: tuple[str, str] | None = None  # (certificate, key) files
    tls: tuple[str, str] | None = None  # client (certificate, key) files for mutual TLS
    ca: str | None = None


@dataclass(frozen=True)
class LoadOutcome:
    figures: Figures
    failures: tuple[tuple[str, int], ...]  # (error, occurrences), most frequent first
    reports: tuple[Path, ...]  # Locust's CSV and HTML files

    @property
    def environment_failed(self) -> bool:
        """Most failures are the environment's (no connection, timeouts, 5xx), not the product's."""
        env = sum(n for error, n in self.failures if any(mark in error for mark in _ENVIRONMENT_FAILURES))
        return self.figures.sent > 0 and env * 2 > self.figures.sent


def run_load(job: LoadJob, plan: LoadPlan, out_dir: Path) -> LoadOutcome:
    """Run Locust for ``plan``; EnvironmentBroken when it cannot run or measured nothing."""
    out_dir.mkdir(parents=True, exist_ok=True)
    job_file = out_dir / "job.json"
    job_file.write_text(json.dumps(_job_document(job, plan, out_dir)), encoding="utf-8")
    prefix = out_dir / "locust"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", *plan.locust_args(),
        "--csv", str(prefix), "--html", str(out_dir / "locust-report.html"), "--only-summary",
        "--loglevel", "WARNING", "--exit-code-on-error", "0", "--master-bind-host", "127.0.0.1",
    ]  # fmt: skip
    env = {**os.environ, "MHHS_SIT_LOAD_JOB": str(job_file)}
    if job.api_key:
        env["MHHS_SIT_LOAD_API_KEY"] = job.api_key
    _run(command, env, plan.duration_s + 60, out_dir)
    figures, failures = _figures(out_dir / FIGURES_FILE)
    kept = (
        out_dir / FIGURES_FILE,
        out_dir / "locust-report.html",
        Path(f"{prefix}_stats_history.csv"),
        out_dir / "locust.log",
    )
    reports = tuple(p for p in kept if p.is_file() and p.stat().st_size)
    return LoadOutcome(figures, failures, reports)


def _job_document(job: LoadJob, plan: LoadPlan, out_dir: Path) -> dict[str, object]:
    return {
        "url": job.url.rstrip("/"),
        "path": f"/dip-channel/{job.interface}",
        "interface": job.interface,
        "template": job.template,
        "rate_per_user": plan.rate / plan.users if plan.rate else None,
        "sign_cert": job.sign[0] if job.sign else None,
        "sign_key": job.sign[1] if job.sign else None,
        "client_cert": job.tls[0] if job.tls else None,
        "client_key": job.tls[1] if job.tls else None,
        "ca": job.ca,
        "figures": str(out_dir / FIGURES_FILE),
    }


def _run(command: list[str], env: dict[str, str], timeout: float, out_dir: Path) -> None:
    """Locust and its workers in a process group of their own, stopped whatever happens here."""
    log = out_dir / "locust.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
        hint = " (install it: pip install 'mhhs-sit[load]')" if "No module named locust" in tail else ""
        raise EnvironmentBroken(f"Locust could not run{hint}: exit {code}: {tail.strip()}")


def _figures(path: Path) -> tuple[Figures, tuple[tuple[str, int], ...]]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        figures = Figures(
            sent=int(found["sent"]),
            failed=int(found["failed"]),
            throughput=float(found["throughput"]),
            p50=float(found["p50"]),
            p95=float(found["p95"]),
            p99=float(found["p99"]),
            max=float(found["max"]),
        )
        errors = tuple((str(e), int(n)) for e, n in found["errors"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EnvironmentBroken(f"Locust left no readable figures ({path.name}: {exc})") from exc
    if not figures.sent:
        raise EnvironmentBroken("the load run sent nothing in its duration (see locust.log in the evidence)")
    return figures, errors
