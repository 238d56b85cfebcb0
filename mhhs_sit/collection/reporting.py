"""What the terminal shows of a run: the header naming its environment, and the broken summary.

Broken cases (environment problems) are listed apart from failures (product defects), each with
the one line that says why, so a tester sees at a glance what to fix in the environment.
"""

from __future__ import annotations

import pytest

from mhhs_sit import __version__
from mhhs_sit.collection.session import SessionState


def header_lines(state: SessionState) -> list[str]:
    """The environment, cohorts, run id and seed; the cycle and the re-run, when there are."""
    env = state.environment
    env_text = f"{env.name} (tag {env.environment_tag}, IR {env.ir or 'unset'}, stubs {env.stubs})" if env else "?"
    lines = [
        f"mhhs-sit {__version__}: environment {env_text}, cohorts {', '.join(sorted(state.cohorts)) or 'none'}, "
        f"run {state.run_id}, data seed {state.seed}"
    ]
    cycle = state.config.getoption("mhhs_cycle", None)
    if cycle:
        sprint = state.config.getoption("mhhs_sprint", None)
        lines.append(f"cycle {cycle}" + (f", sprint {sprint}" if sprint else ""))
    selection = state.selection
    if selection.rerun_latest is not None:
        lines.append(
            f"re-running the cases whose latest status in cycle {cycle} is {' or '.join(sorted(selection.rerun))} "
            f"({len(selection.rerun_latest)} case × cohort results known)"
        )
    return lines


def broken_summary(terminal: pytest.TerminalReporter) -> None:
    """Every broken case in full, then one line each."""
    broken = terminal.stats.get("broken", [])
    if not broken:
        return
    terminal.section("BROKEN (environment problems, not product defects)", yellow=True)
    for rep in broken:
        terminal.write_sep("_", rep.head_line or rep.nodeid, yellow=True)
        terminal.line(rep.longreprtext)
    terminal.write_sep("-", "broken summary", yellow=True)
    for rep in broken:
        terminal.line(f"BROKEN {rep.nodeid} - {first_reason(rep.longreprtext)}")


def first_reason(text: str) -> str:
    """The first line that says why (the step's message), for the one-line summary."""
    lines = text.splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    if errors:  # a Python traceback: its last error line says what went wrong
        return errors[-1][:160]
    for line in lines[1:]:
        stripped = line.strip()
        if stripped and stripped[0] not in "✓✗!-?" and not stripped.startswith(("at ", "data:", "classified")):
            return stripped.removeprefix("before the first step: ")[:160]
    return lines[0][:160] if lines else ""
