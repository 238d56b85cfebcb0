"""A whole qualification session against a reference system under test, in one command.

    python examples/qualify_reference.py --role LDSO [--wrong] [-- QUALIFY OPTIONS...]

Starts ``mhhs-sit qualify`` for the role, reads what it prints (DIP URL, API key, the DIP's
certificate), starts the reference system of ``examples/`` with exactly that, and waits for the
session to end; its exit code is qualify's. What a participant does by hand (docs/qualification.md),
done end to end: a demonstration, and CI's way of putting the qualification cases in a cycle's
RTTM (``-- --cycle CI --store ...``). ``--wrong`` runs the reference's failing variant.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class Reference:
    """A reference system under test: its script, role, participant and run options."""

    script: Path
    role: str
    participant: str
    dip_id: str
    name: str  # its certificate and key files: <name>.pem, <name>.key
    key_env: str
    options: tuple[str, ...] = ()


REFERENCES = {
    "LDSO": Reference(
        HERE / "reference_ldso" / "ldso.py", "LDSO", "EELC", "2500000101", "ldso", "MHHS_LDSO_API_KEY",
        ("--distributor", "10"),
    ),
    "SDS": Reference(HERE / "reference_sds" / "sds.py", "SDS", "SDSA", "1400000101", "sds", "MHHS_SDS_API_KEY"),
}  # fmt: skip


@dataclass
class Session:
    code: int
    qualify_output: list[str]
    system_output: str


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    out: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line.rstrip("\n"))
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return out


def _until(lines: queue.Queue[str | None], seen: list[str], done: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not (seen and seen[-1].strip().startswith(done)):
        line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        if line is None:
            raise RuntimeError("mhhs-sit qualify ended before it printed the configuration:\n" + "\n".join(seen))
        seen.append(line)


@contextmanager
def _process(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def qualify(
    ref: Reference,
    workdir: Path,
    qualify_args: Sequence[str] = (),
    system_args: Sequence[str] = (),
    *,
    project: Path = HERE.parent,
    echo: bool = False,
) -> Session:
    """qualify in one process, the reference system in another, started with what qualify prints."""
    keys = workdir / f"{ref.name}-keys"
    make_cert = [sys.executable, str(ref.script), "make-cert", "--dip-id", ref.dip_id, "--out", str(keys)]
    subprocess.run(make_cert, check=True, capture_output=True)
    cmd = [sys.executable, "-m", "mhhs_sit.cli.app", "qualify", "--role", ref.role, "--participant", ref.participant]
    cmd += ["--participant-cert", str(keys / f"{ref.name}.pem"), *qualify_args]
    with _process(cmd, project, ENV) as q:
        lines, seen = _lines(q), []
        _until(lines, seen, "for IF-", timeout=60)
        if echo:
            print("\n".join(seen), flush=True)
        said = {line[:15].strip(): line[15:].strip() for line in seen if line.startswith("  ")}
        dip_cert = next(line.split()[-1] for line in seen if "DIP's certificate" in line)
        run = [sys.executable, str(ref.script), "run", "--dip-url", said["DIP URL"], "--dip-id", ref.dip_id]
        run += [*ref.options, "--cert", str(keys / f"{ref.name}.pem"), "--key", str(keys / f"{ref.name}.key")]
        run += ["--dip-cert", dip_cert, *system_args]
        with _process(run, project, {**ENV, ref.key_env: said["X-API-Key"]}) as system:
            system_lines = _lines(system)
            while (line := lines.get()) is not None:
                seen.append(line)
                if echo:
                    print(line, flush=True)
            code = q.wait(timeout=30)
            system.terminate()
            system.wait(timeout=10)
            system_out = "\n".join(line for line in iter(system_lines.get, None) if line)
    return Session(code, seen, system_out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--role", choices=sorted(REFERENCES), required=True, help="the reference system to qualify")
    parser.add_argument("--wrong", action="store_true", help="run the reference's failing variant")
    parser.add_argument(
        "qualify_args", nargs="*", help="after --: options for mhhs-sit qualify (--cycle, --store, --out...)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mhhs-qualify-reference-") as work:
        session = qualify(
            REFERENCES[args.role], Path(work), args.qualify_args, ["--wrong"] if args.wrong else [], echo=True
        )
    return session.code


if __name__ == "__main__":
    sys.exit(main())
