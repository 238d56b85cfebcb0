"""YAML documents that remember where every value came from.

PyYAML's C parser composes the node tree once; the same tree gives the Python data and, only
when something is wrong, the line and column of any YAML path. Duplicate keys, which PyYAML
would silently collapse (a classic source of "my step never ran"), are reported as problems.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mhhs_sit.errors import Problem

try:  # the C parser is ~10x faster; PyYAML wheels ship it
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - only on a PyYAML built without libyaml
    _Loader = yaml.SafeLoader

PathPart = str | int


def format_path(path: Sequence[PathPart]) -> str:
    """``["cases", 0, "steps", 2, "send"]`` -> ``cases[0].steps[2].send``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class YamlDoc:
    """One parsed YAML file: its data plus the node tree for locating problems."""

    file: str
    data: Any
    root: yaml.Node | None
    problems: list[Problem] = field(default_factory=list)

    def node_at(self, path: Sequence[PathPart]) -> tuple[yaml.Node | None, bool]:
        """The deepest node along ``path``; the flag says whether the whole path was found."""
        node = self.root
        for part in path:
            child = _child(node, part)
            if child is None:
                return node, False
            node = child
        return node, True

    def position(self, path: Sequence[PathPart], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at ``path`` (or of its key when ``key``)."""
        if key and path:
            parent, found = self.node_at(path[:-1])
            if found and isinstance(parent, yaml.MappingNode):
                for k, _ in parent.value:
                    if k.value == path[-1]:
                        return k.start_mark.line + 1, k.start_mark.column + 1
        node, _ = self.node_at(path)
        if node is None:
            return 1, 1
        return node.start_mark.line + 1, node.start_mark.column + 1

    def problem(self, path: Sequence[PathPart], message: str, *, key: bool = False) -> Problem:
        line, column = self.position(path, key=key)
        return Problem(self.file, line, column, format_path(path), message)


def _child(node: yaml.Node | None, part: PathPart) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in reversed(node.value):  # the last occurrence wins, as after a merge key
            if k.value == part or (isinstance(part, int) and k.value == str(part)):
                return v
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    return None


def load_yaml(path: Path, *, display: str | None = None) -> YamlDoc:
    """Parse one file; syntax errors and duplicate keys become problems, never exceptions."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return YamlDoc(name, None, None, [Problem(name, 0, 0, "", f"cannot read file: {exc}")])
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> YamlDoc:
    loader = _Loader(text)
    duplicates: list[Problem] = []
    try:
        root = loader.get_single_node()
        # Before constructing: merge keys (``<<: *anchor``) are flattened into the nodes then.
        duplicates = list(_duplicate_keys(YamlDoc(name, None, root), root, []))
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{exc.context}, {what}"
        hint = ""
        if "\\t" in what:
            hint = " (YAML forbids tab characters for indentation)"
        elif "flow" in what:
            hint = " (inside { } or [ ], quote any value that contains [ ] { } , or :)"
        return YamlDoc(name, None, None, [Problem(name, line, col, "", f"YAML syntax: {what}{hint}")])
    except yaml.YAMLError as exc:
        return YamlDoc(name, None, None, [Problem(name, 0, 0, "", f"YAML: {exc}")])
    finally:
        loader.dispose()
    return YamlDoc(name, data, root, duplicates)


def _duplicate_keys(doc: YamlDoc, node: yaml.Node | None, path: list[PathPart]) -> Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for k, v in node.value:
            if k.value in seen:
                yield Problem(
                    doc.file,
                    k.start_mark.line + 1,
                    k.start_mark.column + 1,
                    format_path([*path, k.value]),
                    f"key '{k.value}' appears twice in this mapping (first on line "
                    f"{seen[k.value]}); YAML keeps only the last one, so remove or rename one",
                )
            else:
                seen[k.value] = k.start_mark.line + 1
            if isinstance(v, yaml.CollectionNode) and k.value != "<<":
                yield from _duplicate_keys(doc, v, [*path, k.value])
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            if isinstance(v, yaml.CollectionNode):
                yield from _duplicate_keys(doc, v, [*path, i])
