"""Writes evidence files for a test process, from frames on its standard input; and ``SinkProcess``,
the test process's end of the pipe.

Run as a script by ``SinkProcess`` (standard library only, started with ``-S``, so it is up in
milliseconds). Creating a file costs a test process far more than writing its bytes:
from a thread, each of the open, write and close calls gives up the interpreter lock and must win
it back from the thread running the cases; on a busy disk each call can also wait. Here those calls
happen in another process, on another core; the test process only writes each file's bytes into a
pipe. The pipe also keeps what was sent: if the test process is killed, this one still writes every
file it was given, then exits at end of input.

Frame: two little-endian unsigned 32-bit lengths (path, content), the path (UTF-8), the content.
A file that cannot be written is named on standard error, one line each; the exit status is 0
unless the input ended inside a frame.
"""

from __future__ import annotations

import collections
import contextlib
import os
import select
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

HEADER = struct.Struct("<II")
READ_BYTES = 1024 * 1024
PAUSE_S = 0.1  # the longest pause between drains of the pipe while nothing comes
BURST_S = 0.02  # the shortest: what queues meanwhile is created in one burst; the most close() waits
CLOSE_TIMEOUT_S = 300.0  # at the end the sink writes what is still queued: thousands of files on a slow disk
# Files sent but perhaps not yet written are kept this far back (bytes), to be written here should the
# sink die: more than the pipe can hold (64 KiB by default on Linux) plus what the sink has read ahead.
KEEP_BYTES = 4 * 1024 * 1024


def write_file(path: str, data: bytes) -> None:
    """Written under a temporary name (a dot first, ``.tmp`` last: neither Allure nor a pack takes it)
    then linked to its final name, so a writer killed mid-file leaves no half result there. A link, not
    a rename: every name is a fresh uuid, so an existing file means something is wrong, and it is
    kept. No fsync: the link is what a kill cannot split, and a flush a file costs more than a case."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.link(tmp, path)
    finally:
        os.unlink(tmp)


def main() -> int:
    fd = sys.stdin.fileno()
    pending = bytearray()
    while True:
        chunk = os.read(fd, READ_BYTES)  # what has queued, up to 1 MiB; blocks only when nothing has
        if not chunk:
            break
        pending += chunk
        used = _write_frames(pending)
        del pending[:used]
        # Let the next files queue up, then create them together: on the CI machine a file created
        # on its own, after the process sat idle, cost 5-10 times the system time of one created in
        # a burst (0.25-0.45 ms against 0.05 ms). After a short pause, wait only while nothing has
        # come: the end of input (the run is over, its close() waiting) is seen at once, not a
        # whole pause later.
        time.sleep(BURST_S)
        select.select([fd], [], [], PAUSE_S - BURST_S)
    if pending:
        sys.stderr.write(f"input ended inside a frame ({len(pending)} bytes of it)\n")
        return 1
    return 0


def _write_frames(buffer: bytearray) -> int:
    """Writes every complete frame at the start of ``buffer``; the number of bytes they took."""
    at, size = 0, len(buffer)
    while size - at >= HEADER.size:
        path_len, data_len = HEADER.unpack_from(buffer, at)
        end = at + HEADER.size + path_len + data_len
        if end > size:
            break
        start = at + HEADER.size
        path = bytes(buffer[start : start + path_len]).decode("utf-8", "surrogateescape")
        try:
            write_file(path, bytes(buffer[start + path_len : end]))
        except OSError as exc:
            sys.stderr.write(f"{os.path.basename(path)}: {exc}\n")
            sys.stderr.flush()
        at = end
    return at


PIPE_BYTES = 1024 * 1024  # Linux's default ceiling for a pipe an unprivileged process may ask for


def _widen(pipe: object) -> None:
    """A 1 MiB pipe instead of 64 KiB: about 350 cases' files. When the disk stalls the sink for a
    moment (a journal commit, writeback), the test process carries on instead of waiting on a full
    pipe. Where the size cannot be changed, the default stands."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, OSError, ValueError):
        pass


class SinkProcess:
    """Starts the sink and sends it files; ``close`` waits until it has written them all.

    If the sink dies, every file it may not have written (the last ``KEEP_BYTES`` sent) is written
    here, missing or short ones only, and the problem is returned from ``send``'s caller's ``close``:
    evidence is never lost quietly.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []
        # a file, not a pipe: a full pipe would block the sink; closed in close()
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115
        self._recent: collections.deque[tuple[bytes, bytes]] = collections.deque()
        self._recent_bytes = 0
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-S", "-E", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
            bufsize=0,  # each file goes into the pipe at once: nothing waits in this process's buffers
        )
        _widen(self._process.stdin)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def send(self, files: Sequence[tuple[str | os.PathLike[str], bytes]]) -> bool:
        """All of ``files`` in one write. False once the sink is gone: the caller writes them itself."""
        if self._process is None:
            return False
        parts: list[bytes] = []
        for path, blob in files:
            raw_path = os.fsencode(path)
            parts += (HEADER.pack(len(raw_path), len(blob)), raw_path, blob)
            self._keep(raw_path, blob)
        frames = memoryview(b"".join(parts))
        pipe = self._process.stdin
        try:
            while frames:
                frames = frames[pipe.write(frames) :]  # type: ignore[union-attr]
            return True
        except (OSError, ValueError) as exc:
            self.problems.append(f"evidence writer process stopped ({exc}); later files written in-process")
            self.close()  # writes what it may have lost, these files included
            return True

    def _keep(self, raw_path: bytes, blob: bytes) -> None:
        self._recent.append((raw_path, blob))
        self._recent_bytes += len(blob)
        while self._recent_bytes - len(self._recent[0][1]) >= KEEP_BYTES:
            self._recent_bytes -= len(self._recent.popleft()[1])

    def close(self) -> list[str]:
        process, self._process = self._process, None
        if process is None:
            return self.problems
        with contextlib.suppress(OSError):
            process.stdin.close()  # type: ignore[union-attr]
        try:
            code = process.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
            self.problems.append(f"evidence writer process still busy after {CLOSE_TIMEOUT_S:.0f} s: stopped")
        self._errors.seek(0)
        said = [line for line in self._errors.read().decode("utf-8", "replace").splitlines() if line.strip()]
        self._errors.close()
        self.problems += said
        if code != 0:
            rewritten = self._rewrite_recent()
            self.problems.append(
                f"evidence writer process ended with status {code}; {rewritten} files it had not written "
                "were written by the test process"
            )
        self._recent.clear()
        return self.problems

    def _rewrite_recent(self) -> int:
        count = 0
        for raw_path, blob in self._recent:
            try:
                if os.path.getsize(raw_path) == len(blob):
                    continue
            except OSError:
                pass
            try:
                write_file(os.fsdecode(raw_path), blob)  # absent: the link is what a dead writer never made
                count += 1
            except OSError as exc:
                self.problems.append(f"{os.path.basename(os.fsdecode(raw_path))}: {exc}")
        return count


if __name__ == "__main__":
    sys.exit(main())
