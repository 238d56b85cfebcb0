"""YAML documents that remember where every value came from.

The happy path is one pass of PyYAML's C parser: while constructing, the loader notes the line
and column of every mapping and refuses duplicate keys (which PyYAML would silently collapse, a
classic source of "my step never ran"). Only when something is wrong is the file composed again
into a node tree, to locate any YAML path precisely.

Every user's file is read here (scenarios, cohorts, environments, requirements, criteria, the
simulator's rules), so this is where hostile input is bounded: a file larger than
:data:`MAX_FILE_BYTES`, a value nested deeper than :data:`MAX_DEPTH`, or aliases that expand the
document past :data:`MAX_EXPANDED_NODES` (the "billion laughs": a few KB that every later walk of
the data would expand to gigabytes) is a problem at the file and line that cause it, found on the
node tree before any data is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mhhs_sit.core import yamlevents
from mhhs_sit.errors import Problem

try:  # the C parser is ~10x faster; PyYAML wheels ship it
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - only on a PyYAML built without libyaml
    _Base = yaml.SafeLoader

PathPart = str | int
MAX_FILE_BYTES = 32 << 20  # ten times a 10,000-case scenario file
MAX_DEPTH = 64  # nesting of mappings and sequences; a scenario needs about 12
MAX_EXPANDED_NODES = 5_000_000  # nodes once every alias is expanded; a 10,000-case file has ~600,000


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_SPECIAL_KEYS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
_MISSING = object()


class YamlLimitError(yaml.MarkedYAMLError):
    """A document over one of the limits above, marked where it goes over."""


def format_path(path: Sequence[PathPart]) -> str:
    """``["cases", 0, "steps", 2, "send"]`` -> ``cases[0].steps[2].send``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _TrackingLoader(_Base):  # type: ignore[valid-type,misc]
    """Notes where each mapping starts and which keys repeat, at construction time."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.positions: dict[int, tuple[int, int]] = {}
        self.duplicates: list[tuple[object, int, int, int]] = []  # key, line, col, first line

    def get_single_data(self) -> object:
        """The document's data, built only once its node tree is known to be within the limits."""
        node = self.get_single_node()
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.construct_document(node)
        check_limits(node)
        self._built: dict[int, object] = {}
        try:
            return self._value(node)
        finally:
            self._built = {}

    def _value(self, node: yaml.Node) -> object:
        """PyYAML's safe construction of ``node``, with a fast path for the plain strings, lists and
        mappings that make up nearly all of a scenario (half the parse time, for 10,000 cases).
        Anything else (numbers, dates, sets, !!binary) goes through PyYAML's own constructors."""
        kind = type(node)
        if kind is yaml.ScalarNode:
            return node.value if node.tag == _STR else self.construct_object(node)
        built = self._built.get(id(node), _MISSING)
        if built is not _MISSING:  # an alias: the same object, as PyYAML gives it
            return built
        if kind is yaml.SequenceNode and node.tag == _SEQ:
            items: list[object] = []
            self._built[id(node)] = items
            items.extend(self._value(child) for child in node.value)  # depth bounded by check_limits
            return items
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node)
        return self.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode) -> dict[object, object]:
        data: dict[object, object] = {}
        self._built[id(node)] = data
        seen: dict[object, int] = {}
        flatten = False
        for key_node, _ in node.value:  # before merge keys are flattened into the node
            key = key_node.value
            flatten = flatten or key_node.tag in _SPECIAL_KEYS
            if not isinstance(key, str):  # a list or mapping as a key: refused as unhashable below
                continue
            if key in seen and key != "<<":
                mark = key_node.start_mark
                self.duplicates.append((key, mark.line + 1, mark.column + 1, seen[key]))
            else:
                seen[key] = key_node.start_mark.line + 1
        if flatten:
            self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self._value(key_node)
            try:
                data[key] = self._value(value_node)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
        self.positions[id(data)] = (node.start_mark.line + 1, node.start_mark.column + 1)
        return data


def check_limits(root: yaml.Node) -> None:
    """``YamlLimitError`` at the node nested deeper than :data:`MAX_DEPTH`, at the smallest value
    expanding through aliases to more than :data:`MAX_EXPANDED_NODES` nodes, or at an alias that
    refers to a value containing it. One pass over the distinct nodes: an alias costs the size
    already computed for its target, so a bomb is refused at once."""
    _measure(root, 1, {})


_LOOP = (-1, -1)


def _measure(node: yaml.Node, depth: int, seen: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(expanded nodes, height) of a collection node; recursion is bounded by MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise YamlLimitError(None, None, _LIMITS.depth_message, node.start_mark)
    key = id(node)
    known = seen.get(key)
    if known is _LOOP:
        raise YamlLimitError(None, None, _LIMITS.loop_message, node.start_mark)
    if known is not None and depth + known[1] <= MAX_DEPTH + 1:
        return known
    seen[key] = _LOOP
    children = (n for pair in node.value for n in pair) if isinstance(node, yaml.MappingNode) else node.value
    size, height = 1, 1
    for child in children:
        if isinstance(child, yaml.ScalarNode):
            size += 1
            height = max(height, 2)
            continue
        try:
            child_size, child_height = _measure(child, depth + 1, seen)
        except YamlLimitError as exc:  # found inside an alias's target: say where the alias is used
            mark = exc.problem_mark
            if mark is not None and not node.start_mark.index <= mark.index <= node.end_mark.index:
                exc.problem_mark = node.start_mark
            raise
        size += child_size
        height = max(height, child_height + 1)
    if size > MAX_EXPANDED_NODES:
        raise YamlLimitError(None, None, _LIMITS.expanded_message, node.start_mark)
    seen[key] = (size, height)
    return size, height


@dataclass
class YamlDoc:
    """One parsed YAML file: its data, where its mappings start, and its problems."""

    file: str
    data: Any  # whatever the file holds: each loader above narrows it as it checks the structure
    text: str | None = None
    positions: dict[int, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    _root: yaml.Node | None = None

    @property
    def root(self) -> yaml.Node | None:
        """The node tree, composed on first use (only when a problem must be located)."""
        if self._root is None and self.text is not None:
            try:
                self._root = yaml.compose(self.text, Loader=_Base)
            except yaml.YAMLError:
                self._root = None
        return self._root

    def line_of(self, value: object) -> tuple[int, int]:
        """Where a mapping of this document starts (cheap: recorded while parsing)."""
        return self.positions.get(id(value), (0, 0))

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
                for k, _ in reversed(parent.value):
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
        return _mapping_child(node, part)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        items: list[yaml.Node] = node.value
        return items[part] if 0 <= part < len(items) else None
    return None


def _mapping_child(node: yaml.MappingNode, part: PathPart) -> yaml.Node | None:
    pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
    for k, v in reversed(pairs):  # the last occurrence wins, as YAML does
        if k.value == part or (isinstance(part, int) and k.value == str(part)):
            return v
    for k, v in pairs:  # keys brought in by a merge key (<<: *anchor)
        if k.value == "<<":
            merged: list[yaml.Node] = v.value if isinstance(v, yaml.SequenceNode) else [v]
            for m in merged:
                found = _child(m, part)
                if found is not None:
                    return found
    return None


def load_yaml(path: Path, *, display: str | None = None) -> YamlDoc:
    """Parse one file; syntax errors and duplicate keys become problems, never exceptions."""
    name = display or str(path)
    try:
        large = too_large(name, path.stat().st_size)
        if large is not None:
            return YamlDoc(name, None, problems=[large])
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return YamlDoc(name, None, problems=[Problem(name, 0, 0, "", f"cannot read file: {exc}")])
    return parse_yaml(text, name)


def too_large(name: str, size: int) -> Problem | None:
    """The problem of a file of ``size`` bytes over :data:`MAX_FILE_BYTES`: checked before reading it."""
    if size <= MAX_FILE_BYTES:
        return None
    return Problem(name, 1, 1, "", (
        f"the file is {size / (1 << 20):.1f} MB, larger than the {MAX_FILE_BYTES >> 20} MB a YAML file may be: "
        "split it into several files"
    ))  # fmt: skip


def parse_yaml(text: str, name: str) -> YamlDoc:
    large = too_large(name, len(text))
    if large is not None:
        return YamlDoc(name, None, problems=[large])
    try:
        built = _built(text)
    except yaml.MarkedYAMLError as exc:
        return YamlDoc(name, None, problems=[_syntax_problem(exc, text, name)])
    except yaml.YAMLError as exc:
        return YamlDoc(name, None, problems=[Problem(name, 0, 0, "", f"YAML: {exc}")])
    doc = YamlDoc(name, built.data, text, built.positions)
    for key, line, col, first in built.duplicates:
        doc.problems.append(
            Problem(
                name,
                line,
                col,
                format_path(_path_to(doc.root, line, col, [])),
                f"key '{key}' appears twice in this mapping (first on line {first}); YAML keeps only "
                "the last one, so remove or rename one",
            )
        )
    return doc


_LIMITS = yamlevents.Limits(
    depth=MAX_DEPTH,
    expanded=MAX_EXPANDED_NODES,
    error=YamlLimitError,
    depth_message=f"values are nested more than {MAX_DEPTH} levels deep here: flatten the structure",
    expanded_message=f"this value expands through its aliases (*name) to more than {MAX_EXPANDED_NODES:,} "
    "values, which nothing can process (an alias bomb?): use fewer or smaller aliases",
    loop_message="an alias refers to a value that contains it (a loop): expand it by hand",
)


def _built(text: str) -> yamlevents.Built:
    """The data from the parser's events (``yamlevents``); a file using what that leaves to PyYAML
    (explicit tags, merge keys...) through the node tree and ``_TrackingLoader``."""
    loader = _Base(text)
    try:
        return yamlevents.build(loader, _LIMITS)
    except yamlevents.Unsupported:
        pass
    finally:
        loader.dispose()
    tracking = _TrackingLoader(text)
    try:
        data = tracking.get_single_data()
    finally:
        tracking.dispose()
    return yamlevents.Built(data, tracking.positions, tracking.duplicates)


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, name: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    what = _what(exc, mark)
    lines = text.splitlines()
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    if isinstance(exc, YamlLimitError):
        return Problem(name, line, col, "", f"YAML limit: {what}")
    return Problem(name, line, col, "", f"YAML syntax: {what}{_syntax_hint(source_line, what)}")


def _what(exc: yaml.MarkedYAMLError, mark: yaml.Mark | None) -> str:
    """PyYAML's account of the error, with where the construct it was reading began."""
    what = exc.problem or "invalid YAML"
    context = exc.context_mark
    if exc.context and context is not None and mark is not None and context.line != mark.line:
        return f"{what} ({exc.context} started on line {context.line + 1}, column {context.column + 1})"
    if exc.context:
        return f"{exc.context}, {what}"
    return what


def _syntax_hint(source_line: str, what: str) -> str:
    """The likely cause of the two syntax errors people meet most: a tab, or a flow collection."""
    indent = source_line[: len(source_line) - len(source_line.lstrip())]
    if "\t" in indent or "tab" in what:
        return " (this line is indented with a tab; YAML allows only spaces)"
    if "flow" in what:
        return " (inside { } or [ ], quote any value that contains [ ] { } , or :)"
    return ""


def _path_to(node: yaml.Node | None, line: int, col: int, path: list[PathPart]) -> list[PathPart]:
    """The YAML path of the key that starts at (line, col): only used to report a problem."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if (k.start_mark.line + 1, k.start_mark.column + 1) == (line, col):
                return [*path, k.value]
            if v.start_mark.line + 1 <= line <= v.end_mark.line + 1:
                found = _path_to(v, line, col, [*path, k.value])
                if found:
                    return found
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            if v.start_mark.line + 1 <= line <= v.end_mark.line + 1:
                found = _path_to(v, line, col, [*path, i])
                if found:
                    return found
    return []
