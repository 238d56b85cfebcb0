"""What the terminal shows of a run: the header naming its environment, and the broken summary.

Broken cases (environment problems) and definition errors (the test file is wrong: found when a
case ran, or a scenario file that could not be loaded) are listed apart from failures (product
defects), each with the one line that says why, so a tester sees at a glance what to fix in the
environment and what in the scenarios. The words are the ones results.json, the store and the
reports use.
"""

from __future__ import annotations

import pytest

from mhhs_sit import __version__
from mhhs_sit.collection.session import SessionState
from mhhs_sit.definitions.scenario_files import is_scenario_file_id
from mhhs_sit.results.run import BROKEN, DEFINITION
from mhhs_sit.store.rerun import UNLOADED_FILE

Word = tuple[str, str, tuple[str, dict[str, bool]]]
DEFINITION_WORD: Word = ("definition error", "D", ("DEFINITION ERROR", {"red": True}))
BROKEN_WORD: Word = ("broken", "B", ("BROKEN", {"yellow": True}))


def outcome_word(report: pytest.TestReport) -> Word | None:
    """The terminal's category, letter and word for a case that did not pass as pytest would say.

    A crashed xdist worker's report (``when`` is ``???``) is broken, as results.json records it."""
    if not report.failed:
        return None
    if report.when == "call" and DEFINITION in report.user_properties:
        return DEFINITION_WORD
    if report.when == "call" and BROKEN in report.user_properties:
        return BROKEN_WORD
    when: str = report.when  # xdist's crash report says "???", which pytest's type does not admit
    if when == "???" and (".yaml::" in report.nodeid or ".yml::" in report.nodeid):
        return BROKEN_WORD
    return None


def selected_cohorts(state: SessionState) -> tuple[str, ...]:
    """The cohorts this run runs: those ``--cohort`` names (that exist), else every cohort. What the
    header, results.json, the store, Allure's environment and the completion report all say."""
    wanted = state.selection.cohorts
    return tuple(sorted(c for c in state.cohorts if not wanted or c in wanted))


def header_lines(state: SessionState) -> list[str]:
    """The environment, cohorts, run id and seed; the cycle and the re-run, when there are."""
    env = state.environment
    env_text = f"{env.name} (tag {env.environment_tag}, IR {env.ir or 'unset'}, stubs {env.stubs})" if env else "?"
    lines = [
        f"mhhs-sit {__version__}: environment {env_text}, cohorts {', '.join(selected_cohorts(state)) or 'none'}, "
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
            f"({sum(1 for k in selection.rerun_latest if not k.startswith(UNLOADED_FILE))} case × cohort results known)"
        )
    return lines


def plural_words(terminal: pytest.TerminalReporter) -> None:
    """The summary line says "2 definition errors", as it says "2 errors": pytest leaves a word of a
    plugin's category as it is, so the line it builds is amended here (the counts are pytest's)."""
    build = terminal.build_summary_stats_line

    def amended() -> tuple[list[tuple[str, dict[str, bool]]], str]:
        parts, colour = build()
        unloaded = len(terminal.stats.get(DEFINITION_WORD[0], []))
        if unloaded and terminal.config.option.collectonly:  # that line counts pytest's errors only
            parts.append((f"{unloaded} {DEFINITION_WORD[0]}", {"red": True}))
        return [(_plural(text), markup) for text, markup in parts], colour

    terminal.build_summary_stats_line = amended  # type: ignore[method-assign]


def _plural(part: str) -> str:
    count, _, word = part.partition(" ")
    return f"{part}s" if word == DEFINITION_WORD[0] and count != "1" else part


def unloaded_as_definition_errors(terminal: pytest.TerminalReporter) -> None:
    """A scenario file that could not be loaded is a definition error, as results.json and the reports
    record it: its collection report moves from pytest's errors to the definition errors before the
    summary is written, so it is shown under DEFINITION ERRORS and counted as "1 definition error"."""
    errors = terminal.stats.get("error", [])
    files = [r for r in errors if isinstance(r, pytest.CollectReport) and is_scenario_file_id(r.nodeid)]
    if not files:
        return
    kept = [r for r in errors if not any(r is f for f in files)]
    if kept:
        terminal.stats["error"] = kept
    else:
        del terminal.stats["error"]
    terminal.stats.setdefault(DEFINITION_WORD[0], []).extend(files)
    recolour = getattr(terminal, "_set_main_color", None)  # the summary line's colour and words follow
    if callable(recolour):
        recolour()


def broken_summary(terminal: pytest.TerminalReporter) -> None:
    """Every broken case and definition error in full, then one line each."""
    _section(terminal, "broken", "BROKEN (environment problems, not product defects)", "BROKEN", yellow=True)
    _section(terminal, "definition error", "DEFINITION ERRORS (the test files are wrong, not the product)",
             "DEFINITION ERROR", red=True)  # fmt: skip


def _section(terminal: pytest.TerminalReporter, key: str, title: str, word: str, **colour: bool) -> None:
    reports = terminal.stats.get(key, [])
    if not reports:
        return
    terminal.write_sep("=", title, **colour)
    for rep in reports:
        terminal.write_sep("_", rep.head_line or rep.nodeid, **colour)
        terminal.line(rep.longreprtext)
    terminal.write_sep("-", f"{word.lower()} summary", **colour)
    for rep in reports:
        # a file that could not be loaded: its first line is the first problem, file:line first
        why = rep.longreprtext.strip().split("\n", 1)[0][:160] if isinstance(rep, pytest.CollectReport) else None
        terminal.line(f"{word} {rep.nodeid} - {why or first_reason(rep.longreprtext)}")


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
