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
from dataclasses import dataclass, field
from pathlib import Path

from mhhs_sit.errors import EnvironmentBroken
from mhhs_sit.execution.load.distribution import WAIT_S, Spread
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
    spread: Spread = field(
        default_factory=Spread
    )  # over hosts: attached to a remote master, or a master awaiting workers

    def locust_args(self) -> list[str]:
        """The master's (or the lone process's) arguments; a master awaiting remote workers has none
        of its own."""
        args = ["-u", str(self.users), "-r", f"{self.spawn_rate:g}", "-t", f"{self.duration_s}s"]
        local = self.workers > 0 and not self.spread.expect
        return args + (["--processes", str(self.workers)] if local else []) + self.spread.master_args()

    def worker_args(self) -> list[str]:
        """The arguments of this host's workers attached to the remote master."""
        return self.spread.worker_args() + (["--processes", str(self.workers)] if self.workers > 0 else [])


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
        "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    wait = WAIT_S if plan.spread.expect else 0
    _run(command, _environment(job, job_file), plan.duration_s + 60 + wait, out_dir)
    figures, failures = _figures(out_dir / FIGURES_FILE)
    kept = (
        out_dir / FIGURES_FILE,
        out_dir / "locust-report.html",
        Path(f"{prefix}_stats_history.csv"),
        out_dir / "locust.log",
    )
    reports = tuple(p for p in kept if p.is_file() and p.stat().st_size)
    return LoadOutcome(figures, failures, reports)


def attach_workers(job: LoadJob, plan: LoadPlan, out_dir: Path) -> str:
    """Run this host's Locust workers attached to the remote master until it quits; what they did,
    in words. EnvironmentBroken when no master ran them in time."""
    assert plan.spread.master is not None
    out_dir.mkdir(parents=True, exist_ok=True)
    job_file = out_dir / "job.json"
    job_file.write_text(json.dumps(_job_document(job, plan, out_dir)), encoding="utf-8")
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *plan.worker_args(), "--loglevel", "WARNING"]
    timeout = WAIT_S + plan.duration_s + 60
    try:
        _run(command, _environment(job, job_file), timeout, out_dir)
    except subprocess.TimeoutExpired:
        raise EnvironmentBroken(
            f"no Locust master at {plan.spread.master} ran this load within {timeout} s "
            "(is `mhhs-sit load --locust-expect-workers N` running the same cases there?)"
        ) from None
    workers = max(1, plan.workers)
    return f"{workers} Locust worker{'s' if workers > 1 else ''} attached to {plan.spread.master}: the master judges"


def _environment(job: LoadJob, job_file: Path) -> dict[str, str]:
    env = {**os.environ, "MHHS_SIT_LOAD_JOB": str(job_file)}
    if job.api_key:
        env["MHHS_SIT_LOAD_API_KEY"] = job.api_key
    return env


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
        raise EnvironmentBroken(f"Locust could not run{_hint(tail)}: exit {code}: {tail.strip()}")


def _hint(tail: str) -> str:
    if "No module named locust" in tail:
        return " (install it: pip install 'mhhs-sit[load]')"
    if "Gave up waiting for workers" in tail:
        return f" (its remote workers did not all come within {WAIT_S} s: run `mhhs-sit load --locust-master` there)"
    return ""


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
