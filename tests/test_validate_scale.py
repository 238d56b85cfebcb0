"""validate of a 10,000-case scenario file: within 200 MB, every check still made for every case.

Each distinct CustomBlock and each distinct step body's templates are checked once and the
verdict remembered; these tests hold that a remembered verdict is still reported at every case
that repeats the mistake, at that case's own line, and that the whole file stays within bounds
(the time is measured by bench/bench_validate.py: a loaded CI machine cannot time it fairly)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import appointment_scenario, copy_project, write

SID = "SITFT-03-777"


def many_cases(count: int, *, wrong: str = "") -> str:
    """``count`` cases of one send (with its CustomBlock) and one expect, as a library repeats them."""
    one = appointment_scenario(SID, """
        - expect:
            at: SUP
            interface: IF-032
            event: DSAppInitialResp
            where: {M0.MPANCore: "{{ mpan }}"}
            within: 10s
    """)  # fmt: skip
    if wrong == "schema":  # a literal the schema refuses
        one = one.replace("contractReferenceDataService: SDS-1", "contractReferenceDataService: [12]")
    if wrong == "template":  # a template naming a field the cohort lacks
        one = one.replace('"{{ cohort.SDS.mpid }}"', '"{{ cohort.SDS.mpdi }}"')
    head, case = one.split("cases:\n", 1)
    return head + "cases:\n" + "".join(case.replace(f"{SID}-TC01", f"{SID}-TC{i:05d}") for i in range(1, count + 1))


def validate(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _MEASURED], cwd=root, capture_output=True, text=True, timeout=300, env=None
    )


_MEASURED = textwrap.dedent("""
    import re, resource, sys
    from pathlib import Path
    from mhhs_sit.cli.app import main
    code = main(["validate"])
    # VmHWM: this process's own peak (ru_maxrss also counts the parent's memory where it forked)
    status = Path("/proc/self/status")
    hwm = re.search(r"VmHWM:\\s+(\\d+)", status.read_text()) if status.exists() else None
    print("peak-rss-kb", hwm.group(1) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    sys.exit(code)
""")


@pytest.mark.parametrize(
    ("wrong", "field", "written"),
    [
        ("schema", "contractReferenceDataService", "contractReferenceDataService: [12]"),
        ("template", "proposedDataServiceMPID", "cohort.SDS.mpdi"),
    ],
)
def test_every_case_repeating_a_mistake_is_told_at_its_own_line(tmp_path, wrong, field, written):
    copy_project(tmp_path, themes=False)
    path = write(tmp_path, f"test_themes/theme_03/{SID}.yaml", many_cases(50, wrong=wrong))
    done = validate(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = path.read_text().splitlines()
    found = re.findall(
        rf"^\S+:(\d+):\d+ \[cases\[(\d+)\]\.steps\[0\]\.send\.custom\.B071\.{field}\]", done.stdout, re.M
    )
    assert sorted(int(case) for _, case in found) == list(range(50)), done.stdout[-3000:]
    assert len({line for line, _ in found}) == 50  # each at its own case's line: that case's field
    for line, case in found:
        assert written in lines[int(line) - 1]
        assert f"TC{int(case) + 1:05d}" in "\n".join(lines[: int(line)]).rsplit("- id:", 1)[1]


def test_a_10000_case_file_validates_within_200_mb(tmp_path):
    copy_project(tmp_path, themes=False)
    write(tmp_path, f"test_themes/theme_03/{SID}.yaml", many_cases(10_000))
    done = validate(tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "10000 cases" in done.stdout
    peak_mb = int(re.search(r"peak-rss-kb (\d+)", done.stdout).group(1)) / 1024
    assert peak_mb <= 200, peak_mb
