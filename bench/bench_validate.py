"""Wall time, CPU time and peak memory of `mhhs-sit validate` on a generated 10,000-case file.

    .venv/bin/python bench/bench_validate.py [CASES]

The file is tests/test_validate_scale.py's: one send with its CustomBlock and one expect a
case, as a library repeats them. The goal (issue 17) is at most 2 s and 200 MB; the test suite
checks the memory, this prints all three (time is only fair on an unloaded machine: the load
average is printed with it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers import copy_project, write  # noqa: E402
from tests.test_validate_scale import _MEASURED, SID, many_cases  # noqa: E402


def main() -> int:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory(prefix="mhhs-bench-validate-") as tmp:
        root = Path(tmp)
        copy_project(root, themes=False)
        size_mb = write(root, f"test_themes/theme_03/{SID}.yaml", many_cases(cases)).stat().st_size / 1e6
        before = os.times()
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _MEASURED], cwd=root, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    match = re.search(r"peak-rss-kb (\d+)", done.stdout)
    peak = int(match.group(1)) / 1024 if match else float("nan")
    print(
        f"{cases} cases, {size_mb:.1f} MB of YAML: exit {done.returncode}, "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU, {peak:.0f} MB peak RSS (load average {os.getloadavg()[0]:.1f})"
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
