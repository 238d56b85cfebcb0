"""Under injected faults the verdict stays honest: over fault seeds 0-99 of an environment with every
inbound and outbound fault kind at high rates, a small cycle has no product defect. Each case passes
or is broken with a reason that names the fault; a send recovered through MSG1006 carries the
original transaction from the simulator's journal, so a later check of it passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mhhs_sit.definitions.faults import INBOUND_KINDS, OUTBOUND_KINDS
from tests.helpers import FAST_ADDOPTS, FIXTURES, write

FIXTURE = Path(__file__).parent / "fixtures" / "fault_sweep"
SEEDS = range(100)
AT_ONCE = 6  # the runs mostly wait (timeouts, delays), so a few at a time share two cores well


def _project(root: Path, seed: int, environment: str) -> Path:
    dest = root / f"seed-{seed:02d}"
    shutil.copytree(FIXTURES / "cohorts", dest / "cohorts")
    shutil.copytree(FIXTURE / "test_themes", dest / "test_themes")
    write(dest, "environments/sweep.yaml", environment.replace("fault_seed: 0", f"fault_seed: {seed}"))
    (dest / "pytest.ini").write_text(f"[pytest]\nmhhs_env = sweep\naddopts = {FAST_ADDOPTS}\n")
    return dest


def _run(dest: Path) -> list[dict[str, object]]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cohort", "C1"]
    command += ["--mhhs-results", "out/results.json", "-W", "ignore"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(command, cwd=dest, env=env, capture_output=True, text=True, timeout=180, check=False)
    results = dest / "out" / "results.json"
    assert results.exists(), done.stdout[-3000:] + done.stderr[-2000:]
    cases: list[dict[str, object]] = json.loads(results.read_text())["cases"]
    return cases


def test_the_fault_sweep_environment_has_every_fault_kind():
    text = (FIXTURE / "environment.yaml").read_text()
    assert all(f"kind: {kind}," in text for kind in INBOUND_KINDS + OUTBOUND_KINDS)


def test_no_seed_of_a_faulty_environment_gives_a_product_defect(tmp_path):
    environment = (FIXTURE / "environment.yaml").read_text()
    projects = [_project(tmp_path, seed, environment) for seed in SEEDS]
    start = time.monotonic()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        runs = dict(zip(SEEDS, pool.map(_run, projects), strict=True))
    elapsed = time.monotonic() - start
    wrong = []
    for seed, cases in runs.items():
        for case in cases:
            status, message = case["status"], str(case.get("message") or "")
            if status == "broken" and "fault " not in message:
                wrong.append(f"seed {seed} {case['case']}: broken without naming a fault: {message[-400:]}")
            elif status not in ("passed", "broken"):
                wrong.append(f"seed {seed} {case['case']}: {status}: {message[-400:]}")
    assert not wrong, "\n".join(wrong)
    outcomes = [c["status"] for cases in runs.values() for c in cases]
    # the faults bite and the recoveries work: both outcomes occur across the sweep
    assert outcomes.count("passed") > 50 and outcomes.count("broken") > 10, outcomes
    print(f"fault sweep: {len(SEEDS)} seeds, {len(outcomes)} cases, {elapsed:.0f}s")
