"""The theme titles of each stage (``test_data/themes.yaml``): what the generated stage pages call
each theme and what process area it covers.

The programme published few theme names (SIT Functional Themes 1-7 and 9 are not public), so a
project names its own; the file is optional and a theme it does not list is shown by number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mhhs_sit.core.yamlsrc import load_yaml
from mhhs_sit.definitions.model import STAGES
from mhhs_sit.definitions.scenario_files import display_path
from mhhs_sit.errors import Problem


@dataclass(frozen=True)
class Theme:
    number: str
    title: str
    about: str = ""


@dataclass(frozen=True)
class ThemeTitles:
    """Stage -> theme number -> Theme, with each stage's note (e.g. where its numbering comes from)."""

    themes: Mapping[str, Mapping[str, Theme]]
    notes: Mapping[str, str]

    def theme(self, stage: str, number: str) -> Theme:
        return self.themes.get(stage, {}).get(number) or Theme(number, f"Theme {number}")


NONE = ThemeTitles({}, {})


def load_themes(path: Path, root: Path | None = None) -> tuple[ThemeTitles, list[Problem]]:
    """The titles in ``path``, or none when there is no such file; problems name file, line, key."""
    if not path.is_file():
        return NONE, []
    doc = load_yaml(path, display=display_path(path, root))
    if doc.problems:
        return NONE, list(doc.problems)
    stages = doc.data.get("stages") if isinstance(doc.data, dict) else None
    if not isinstance(stages, dict):
        return NONE, [doc.problem([], "expected 'stages:' mapping each stage to its themes")]
    problems: list[Problem] = []
    themes: dict[str, dict[str, Theme]] = {}
    notes: dict[str, str] = {}
    for stage, body in stages.items():
        if stage not in STAGES:
            problems.append(doc.problem(["stages", stage], f"unknown stage {stage!r}; stages are {', '.join(STAGES)}"))
            continue
        if not isinstance(body, dict) or not isinstance(body.get("themes"), dict):
            problems.append(doc.problem(["stages", stage], "expected 'note:' (optional) and 'themes:' (number: title)"))
            continue
        notes[str(stage)] = str(body.get("note") or "").strip()
        themes[str(stage)] = {}
        for number, entry in body["themes"].items():
            where = ["stages", stage, "themes", number]
            if isinstance(entry, str):
                entry = {"title": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("title"), str):
                problems.append(doc.problem(where, "expected a title, or {title: ..., about: ...}"))
                continue
            themes[str(stage)][str(number)] = Theme(str(number), entry["title"], str(entry.get("about") or "").strip())
    return ThemeTitles(themes, notes), problems
