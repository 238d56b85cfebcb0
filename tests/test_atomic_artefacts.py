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
import time
from pathlib import Path
from tests.rttm.sample import large_rttm
from mhhs_sit.rttm import render_xlsx
from mhhs_sit.rttm.render import write
if sys.argv[2:] == ["pause"]:  # the workbook written, not yet renamed: a kill lands inside the write
    whole = render_xlsx.write_xlsx
    def paused(rttm, path):
        whole(rttm, path)
        print("inside", path.name, flush=True)
        time.sleep(30)
    render_xlsx.write_xlsx = paused
rttm = large_rttm(rows=3000)
out = Path(sys.argv[1])
print("ready", flush=True)
while True:
    for fmt in ("xlsx", "html"):
        write(rttm, fmt, out / f"rttm.{fmt}")
        print("wrote", fmt, flush=True)
"""


def _kill_writer(out: Path, *, after_a_write: bool, delay: float) -> None:
    """Start the writer, let it (finish one workbook and) run ``delay`` more, then SIGKILL it."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    if after_a_write:
        assert writer.stdout.readline().strip() == "wrote xlsx"
    time.sleep(delay)
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
    for delay in (0.02, 0.1, 0.3):  # inside the first write, before any file has its final name
        _kill_writer(out, after_a_write=False, delay=delay)
    for delay in (0.0, 0.05, 0.2, 0.45):  # after a complete workbook, inside or between later writes
        _kill_writer(out, after_a_write=True, delay=delay)
    # where those kills landed depends on the machine's load; at least one after a complete workbook ...
    assert (out / "rttm.xlsx").exists()
    with zipfile.ZipFile(out / "rttm.xlsx") as book:
        assert book.testzip() is None


def test_a_kill_inside_a_write_leaves_the_temporary_file_and_the_final_name_as_it_was(tmp_path):
    """Deterministic, whatever the load: the writer says when its workbook is written but not yet
    renamed, and is killed there. Writing in place would leave the new file under the final name."""
    for previous in (None, b"PK previous"):
        out = tmp_path / ("first" if previous is None else "again")
        out.mkdir()
        if previous is not None:
            (out / "rttm.xlsx").write_bytes(previous)
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(out), "pause"], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        inside = writer.stdout.readline().split()
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        [left] = out.glob(".rttm.*.tmp.xlsx")  # SIGKILL runs no clean-up
        assert inside == ["inside", left.name] and left.stat().st_size > 0
        if previous is None:
            assert not (out / "rttm.xlsx").exists()
        else:
            assert (out / "rttm.xlsx").read_bytes() == previous


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


JUNIT_PROBE = """
import json
from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    out = Path(session.config.rootpath) / "out"
    seen = {"final": (out / "junit.xml").read_text(), "temporary": sorted(p.name for p in out.glob(".junit.*"))}
    (Path(session.config.rootpath) / "seen.json").write_text(json.dumps(seen))
"""


def test_pytests_junit_xml_is_written_under_a_temporary_name_and_renamed_when_whole(pytester):
    """While pytest's writer writes, the previous junit.xml stands; after the session the new one does."""
    pytester.makeconftest(JUNIT_PROBE)
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    (pytester.path / "out").mkdir()
    (pytester.path / "out" / "junit.xml").write_text("<testsuites>previous run</testsuites>")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--junitxml=out/junit.xml", "test_one.py")
    result.assert_outcomes(passed=1)
    seen = json.loads((pytester.path / "seen.json").read_text())
    assert seen["final"] == "<testsuites>previous run</testsuites>"  # pytest had written, but not over it
    [temporary] = seen["temporary"]
    assert temporary.startswith(".junit.") and temporary.endswith(".tmp.xml")
    assert 'tests="1"' in (pytester.path / "out" / "junit.xml").read_text()
    assert sorted(p.name for p in (pytester.path / "out").iterdir()) == ["junit.xml"]
    assert f"generated xml file: {pytester.path / 'out' / 'junit.xml'}" in result.stdout.str()


FAKE_ALLURE_2 = """#!/bin/sh
# allure generate RESULTS -o OUT --clean [--single-file]: writes half a report, then fails or finishes
mkdir -p "$4" && printf '<html><body>half' > "$4/index.html"
[ -n "$FAKE_ALLURE_FAILS" ] && exit 1
printf '</body></html>' >> "$4/index.html"
"""


def test_the_allure_report_is_moved_into_place_only_when_whole(tmp_path, monkeypatch):
    from mhhs_sit.evidence.report import AllureTool, build_report

    tool_path = tmp_path / "allure"
    tool_path.write_text(FAKE_ALLURE_2)
    tool_path.chmod(0o755)
    results, out = tmp_path / "allure-results", tmp_path / "run" / "report"
    results.mkdir()
    (results / "x-result.json").write_text("{}")
    out.mkdir(parents=True)
    (out / "index.html").write_text("<html><body>previous</body></html>")
    monkeypatch.setenv("FAKE_ALLURE_FAILS", "1")
    with pytest.raises(ConfigError, match="allure generate failed"):
        build_report(results, out, tool=AllureTool(tool_path, 2))
    assert (out / "index.html").read_text() == "<html><body>previous</body></html>"  # not the half one
    monkeypatch.delenv("FAKE_ALLURE_FAILS")
    assert build_report(results, out, tool=AllureTool(tool_path, 2)) == out / "index.html"
    assert (out / "index.html").read_text() == "<html><body>half</body></html>"
    assert sorted(p.name for p in out.parent.iterdir()) == ["report"]  # no staging directory left
