"""The evidence writer process: every file lands, even when the test process is killed, and a
writer that dies hands over to in-process writing without losing a file or hiding it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from mhhs_sit.evidence.allure_writer import ResultWriter


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_files_handed_over_are_written_even_if_the_test_process_is_killed(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, signal
        from mhhs_sit.evidence.allure_writer import ResultWriter
        writer = ResultWriter()
        for n in range(300):
            writer.submit({str(tmp_path)!r} + f"/{{n}}-result.json", {{"n": n, "pad": "x" * 2000}})
        print(writer._sink.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit: only the pipe holds the files
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    sink_pid = int(done.stdout.strip())
    assert wait_for(lambda: len(list(tmp_path.glob("*-result.json"))) == 300)
    assert json.loads((tmp_path / "299-result.json").read_text())["n"] == 299
    assert wait_for(lambda: not os.path.exists(f"/proc/{sink_pid}") or _zombie(sink_pid))  # it ends at end of input


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_a_writer_process_that_dies_hands_over_and_says_so(tmp_path):
    writer = ResultWriter()
    for n in range(50):
        writer.submit(tmp_path / f"{n}-result.json", {"n": n})
    assert writer._sink is not None  # started with the first file
    os.kill(writer._sink.pid, signal.SIGKILL)
    assert wait_for(lambda: _zombie(writer._sink.pid))
    for n in range(50, 100):
        writer.submit(tmp_path / f"{n}-result.json", {"n": n})  # the first of these meets the broken pipe
    problems = writer.close()
    files = {int(p.name.split("-")[0]): json.loads(p.read_text()) for p in tmp_path.glob("*-result.json")}
    assert sorted(files) == list(range(100)) and all(body == {"n": n} for n, body in files.items())  # whole
    assert any("evidence writer process stopped" in p for p in problems)
    assert any("were written by the test process" in p for p in problems)  # the ones the sink never wrote


def test_two_files_of_a_case_go_in_one_write_and_land_byte_for_byte(tmp_path):
    writer = ResultWriter()
    blobs = {tmp_path / "a-attachment.json": b'{"x":"\\u00e9"}', tmp_path / "a-result.json": '{"é":1}'.encode()}
    writer.submit_files(list(blobs.items()))
    assert writer.close() == []
    assert {p: p.read_bytes() for p in blobs} == blobs


def test_a_file_that_exists_already_is_reported_not_overwritten(tmp_path):
    (tmp_path / "dup-result.json").write_text("original")
    writer = ResultWriter()
    writer.submit(tmp_path / "dup-result.json", {"new": True})
    writer.submit(tmp_path / "ok-result.json", {"new": True})
    problems = writer.close()
    assert (tmp_path / "dup-result.json").read_text() == "original"
    assert json.loads((tmp_path / "ok-result.json").read_text()) == {"new": True}
    assert len(problems) == 1 and problems[0].startswith("dup-result.json:")
