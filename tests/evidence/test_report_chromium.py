"""The Allure report built by ``mhhs-sit report``, opened in headless Chromium.

Needs Debian's ``chromium`` and Allure (``mhhs-sit report --install``); without them the test
is skipped, unless ``MHHS_SIT_REQUIRE_TOOLS=1`` (as in CI), where a missing tool is a failure.
"""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

import pytest

from mhhs_sit.evidence.report import find_allure
from tests.helpers import copy_project


def need(tool, what):
    if tool:
        return tool
    if os.environ.get("MHHS_SIT_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} is required here (MHHS_SIT_REQUIRE_TOOLS=1) but was not found")
    pytest.skip(f"{what} is not installed")


def rendered_text(url):
    """The page's visible text after its JavaScript has run."""
    chromium = need(shutil.which("chromium") or shutil.which("chromium-browser"), "chromium")
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             "--virtual-time-budget=8000", "--dump-dom", url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    dom = re.sub(r"<(script|style)\b.*?</\1>", "", out.stdout, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    need(find_allure(), "Allure (mhhs-sit report --install)")
    project = copy_project(tmp_path_factory.mktemp("project"))
    done = subprocess.run([sys.executable, "-m", "mhhs_sit.cli.app", "run", "--out", "run", "--no-subdir"],
                          cwd=project, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]
    return project / "run"


def test_the_report_shows_cases_labels_steps_and_attachments(run_dir):
    from mhhs_sit.cli.app import main

    assert main(["report", str(run_dir), "--multi-file", "--out", str(run_dir / "served")]) == 0
    site = run_dir / "served"
    assert "googletagmanager" not in (site / "index.html").read_text()
    ids = {
        json.loads(p.read_text())["name"]: json.loads(p.read_text())["id"]
        for p in site.glob("data/test-results/*.json")
    }
    target = next(i for name, i in ids.items() if name.startswith("SITFT-03-001-TC01 [C1]"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = rendered_text(f"http://127.0.0.1:{server.server_address[1]}/index.html#{target}")
    finally:
        server.shutdown()
        server.server_close()
    for shown in ("SIT Functional", "Theme 3", "SITFT-03-001-TC01 [C1] Data service accepts", "Passed", "Critical",
                  "cohort", "C1", "IF-035", "1. SUP sends IF-031 [DSApp]", "messages and polls"):  # fmt: skip
        assert shown in page, f"{shown!r} is not shown on the test page"


def test_the_single_file_report_opens_from_disk(run_dir):
    from mhhs_sit.cli.app import main

    assert main(["report", str(run_dir)]) == 0
    index = run_dir / "report" / "index.html"
    page = rendered_text(index.as_uri())
    for shown in ("MHHS SIT evidence", "Total 16", "Passed 16", "environment local", "ir IR8.2", "SIT Functional 16"):
        assert shown in page, f"{shown!r} is not shown on the overview"
