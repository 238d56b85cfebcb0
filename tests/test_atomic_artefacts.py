"""Reports are written under a temporary name and renamed: a writer killed with SIGKILL at any
point leaves the final name absent or complete, never empty or half-written; and `evidence pack`
refuses a run folder whose artefacts are empty or unreadable, naming each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from mhhs_sit.core import atomic
from mhhs_sit.errors import ConfigError
from mhhs_sit.evidence.pack import pack, unreadable_artefact
from tests.helpers import REPO

WRITER = """
import sys
from pathlib import Path
from tests.rttm.sample import large_rttm
from mhhs_sit.rttm.render import write
rttm = large_rttm(rows=3000)
out = Path(sys.argv[1])
print("ready", flush=True)
while True:
    for fmt in ("xlsx", "html"):
        write(rttm, fmt, out / f"rttm.{fmt}")
"""


def _kill_writer(out, delay=0.0, *, after_complete=False):
    """Start a writer, kill it ``delay`` s after it is ready (or once a first workbook is complete:
    on a loaded machine a fixed delay may land before any write has finished), then check that every
    file under a final name is whole."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    time.sleep(delay)
    deadline = time.monotonic() + 120
    while after_complete and not (out / "rttm.xlsx").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    for name in ("rttm.xlsx", "rttm.html"):
        path = out / name
        if path.exists():  # a file under the final name is always whole
            assert unreadable_artefact(name, path) is None, (delay, name)


def test_a_writer_killed_at_any_point_leaves_no_partial_file_under_the_final_name(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for delay in (0.05, 0.2, 0.45, 0.8, 1.3):  # several points inside and between the writes
        _kill_writer(out, delay)
    _kill_writer(out, 0.05, after_complete=True)  # a kill in the next write, over a complete workbook
    # some kills landed mid-write (their temporary files are left, as SIGKILL runs no clean-up) ...
    assert list(out.glob(".rttm.*.tmp.*")), "no kill landed inside a write: lengthen the work"
    assert (out / "rttm.xlsx").exists()  # ... and some after a complete one
    with zipfile.ZipFile(out / "rttm.xlsx") as book:
        assert book.testzip() is None


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = atomic.write_text(tmp_path / "results.json", '{"ok": true}')
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text('{"half')
        raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text()) == {"ok": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def _run_folder(root: Path) -> Path:
    run = root / "20260101-000000"
    run.mkdir()
    (run / "results.json").write_text('{"run_id": "r1", "cases": []}')
    (run / "completion-report.md").write_text("# Completion\n")
    return run


def test_pack_refuses_empty_and_unreadable_artefacts_and_names_each(tmp_path):
    run = _run_folder(tmp_path)
    (run / "rttm.xlsx").write_bytes(b"")
    (run / "rttm.html").write_text("<html><body><table>")  # cut off mid-write
    (run / "junit.xml").write_text("<testsuites><testsuite")
    with pytest.raises(ConfigError) as refused:
        pack(run, tmp_path / "out.zip", environ={})
    text = str(refused.value)
    assert "rttm.xlsx: empty (0 bytes)" in text
    assert "rttm.html: not a readable html file" in text and "junit.xml: not a readable xml file" in text
    assert "results.json" not in text and not (tmp_path / "out.zip").exists()


def test_a_leftover_temporary_file_is_never_packed(tmp_path):
    run = _run_folder(tmp_path)
    leftover = atomic.temporary_name(run / "rttm.xlsx")
    leftover.write_bytes(b"PK")
    assert unreadable_artefact(leftover.name, leftover) == "a temporary file of a write that never finished"
    packed = pack(run, tmp_path / "out.zip", environ={})
    with zipfile.ZipFile(packed.path) as zf:
        assert not [n for n in zf.namelist() if ".tmp" in n]


def test_pack_takes_whole_artefacts(tmp_path):
    run = _run_folder(tmp_path)
    assert pack(run, tmp_path / "out.zip", environ={}).path.exists()
