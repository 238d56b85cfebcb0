"""A YAML document's data built straight from the C parser's events, bounded as it is built.

PyYAML composes the whole node tree before constructing anything: for a 10,000-case scenario
file that is ~650,000 nodes, each with two marks and a Python call to the tag resolver, 4 s and
300 MB before the first value exists, while the parser's events alone take 0.5 s. This builds
the same data from the events: plain scalars resolved once per distinct spelling, each mapping's
position and repeated keys noted, and the limits of ``yamlsrc`` (nesting depth, expansion through
aliases, alias loops) checked on the way, each raised at the same mark as the node-tree check.

A merge key of one mapping (``<<: *base``) is flattened as PyYAML does. Anything rarer (a list
of mappings to merge, whose order PyYAML's versions disagree on; an explicit tag; a key that is a
collection; an undefined alias; more than one document) raises ``Unsupported``: the caller builds
that file the node-tree way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

_STR, _MERGE, _VALUE = "tag:yaml.org,2002:str", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"
_PLAIN = (True, False)
_MERGE_KEY = object()  # a plain ``<<`` key: its value is merged into the mapping
_UNKNOWN = object()  # a plain scalar's spelling not resolved yet


class Unsupported(Exception):
    """The document uses something this builder leaves to PyYAML's own construction."""


@dataclass
class Limits:
    depth: int
    expanded: int
    error: type[yaml.MarkedYAMLError]
    depth_message: str
    expanded_message: str
    loop_message: str


@dataclass(slots=True)
class _Open:
    """A collection being built: its value, where it starts, and its size and height so far."""

    value: list[Any] | dict[Any, Any]
    mark: Any  # a yaml Mark: the C parser's or PyYAML's
    anchor: str | None
    seen: dict[str, int]  # a mapping's keys as written -> line
    size: int = 1
    height: int = 1  # levels of collections, itself included
    key: Any = None  # a mapping's key waiting for its value
    has_key: bool = False
    merged: dict[Any, Any] | None = None  # what its ``<<`` key brings in


@dataclass
class Built:
    data: Any
    positions: dict[int, tuple[int, int]]
    duplicates: list[tuple[object, int, int, int]]


class _Builder:
    def __init__(self, loader: Any, limits: Limits) -> None:
        self.loader, self.limits = loader, limits
        self.stack: list[_Open] = []
        self.anchors: dict[str, tuple[Any, int, int]] = {}  # anchor -> (value, size, height)
        self.open_anchors: dict[str, _Open] = {}
        self.scalars: dict[str, Any] = {}  # a plain scalar's spelling -> its value
        self.built = Built(None, {}, [])
        self.done = False

    def scalar(self, event: Any) -> None:
        """A scalar (the fast path of ``build`` takes the common ones: ``_known_scalar``)."""
        tag = event.tag
        if tag is not None and tag != "!":
            raise Unsupported("an explicit tag")
        value: Any = event.value
        if event.implicit[0]:  # plain: what it says depends on its spelling (null, true, 12, 2024-01-01 ...)
            value = self.resolved(value, event)
        elif event.implicit != (False, True) and event.implicit != (True, True):
            raise Unsupported("a non-specific tag")
        if value is _MERGE_KEY and not (self.stack and isinstance(self.stack[-1].value, dict)
                                        and not self.stack[-1].has_key):  # fmt: skip
            raise Unsupported("a merge tag that is not a key")
        self._add(value, 1, 0, event, raw=event.value)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1, 0)

    def resolved(self, text: str, event: Any) -> Any:
        """A plain scalar's value, by its spelling (resolved once per spelling)."""
        if text in self.scalars:
            return self.scalars[text]
        tag = self.loader.resolve(yaml.ScalarNode, text, _PLAIN)
        if tag == _VALUE:
            raise Unsupported("a value key")
        value: Any
        if tag == _MERGE:
            value = _MERGE_KEY
        elif tag == _STR:
            value = text
        else:
            node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, event.style)
            value = self.loader.construct_object(node)
        self.scalars[text] = value
        return value

    def start(self, event: Any, value: list[Any] | dict[Any, Any]) -> None:
        stack = self.stack
        if event.tag is not None and event.tag != "!":
            raise Unsupported("an explicit tag")
        if stack and not stack[-1].has_key and type(stack[-1].value) is dict:
            raise Unsupported("a collection as a key")
        mark = event.start_mark
        if len(stack) >= self.limits.depth:
            raise self.limits.error(None, None, self.limits.depth_message, mark)
        opened = _Open(value, mark, event.anchor, {})
        if type(value) is dict:
            self.built.positions[id(value)] = (mark.line + 1, mark.column + 1)
        if event.anchor is not None:
            self.open_anchors[event.anchor] = opened
        stack.append(opened)

    def end(self) -> None:
        closed = self.stack.pop()
        if closed.merged is not None:
            _merged(closed)
        size = closed.size
        if size > self.limits.expanded:
            raise self.limits.error(None, None, self.limits.expanded_message, closed.mark)
        if closed.anchor is not None:
            self.open_anchors.pop(closed.anchor, None)
            self.anchors[closed.anchor] = (closed.value, size, closed.height)
        parent = self.stack[-1] if self.stack else None
        if parent is None or not (type(parent.value) is list or (parent.has_key and parent.key is not _MERGE_KEY)):
            self._add(closed.value, size, closed.height, None)  # the root, a key, a merge
            return
        parent.size += size  # the common cases of _add: an item of a list, a mapping's value
        if parent.height <= closed.height:
            parent.height = closed.height + 1
        if type(parent.value) is list:
            parent.value.append(closed.value)
        else:
            parent.value[parent.key] = closed.value
            parent.has_key = False

    def alias(self, event: Any) -> None:
        anchor = str(event.anchor)
        opened = self.open_anchors.get(anchor)
        if opened is not None:
            raise self.limits.error(None, None, self.limits.loop_message, opened.mark)
        if anchor not in self.anchors:
            raise Unsupported("an undefined alias")
        value, size, height = self.anchors[anchor]
        if height and len(self.stack) + height > self.limits.depth:  # too deep where it is used
            raise self.limits.error(None, None, self.limits.depth_message, self.stack[-1].mark)
        if self.stack and isinstance(self.stack[-1].value, dict) and not self.stack[-1].has_key and height:
            raise Unsupported("a collection as a key")
        self._add(value, size, height, event)

    def _add(self, value: Any, size: int, height: int, event: Any, raw: str | None = None) -> None:
        if not self.stack:
            if self.done:
                raise Unsupported("more than one document")
            self.built.data, self.done = value, True
            return
        parent = self.stack[-1]
        parent.size += size
        parent.height = max(parent.height, height + 1)
        if isinstance(parent.value, list):
            parent.value.append(value)
        elif not parent.has_key:
            self._key(parent, value, event, raw)
        elif parent.key is _MERGE_KEY:
            if not isinstance(value, dict) or parent.merged is not None:
                raise Unsupported("a merge of a list or of something other than a mapping, or two merges")
            parent.merged, parent.has_key = value, False
        else:
            parent.value[parent.key] = value
            parent.has_key = False

    def _key(self, parent: _Open, key: Any, event: Any, raw: str | None) -> None:
        try:
            hash(key)
        except TypeError:
            raise Unsupported("an unhashable key") from None
        if raw is not None and event is not None and key is not _MERGE_KEY:  # repeated keys, as written
            line = event.start_mark.line + 1
            if raw in parent.seen:
                self.built.duplicates.append((raw, line, event.start_mark.column + 1, parent.seen[raw]))
            else:
                parent.seen[raw] = line
        parent.key, parent.has_key = key, True


def _merged(mapping: _Open) -> None:
    """As PyYAML flattens: the merged mapping's keys first, in its order; the mapping's own over them."""
    value = mapping.value
    assert isinstance(value, dict) and mapping.merged is not None
    own = dict(value)
    value.clear()
    value.update(mapping.merged)
    value.update(own)


def _known_scalar(event: Any, stack: list[_Open], known: dict[str, Any]) -> bool:
    """The common case, at a third of the cost: an untagged, unanchored scalar quoted or of a
    spelling already resolved (text, a number, null ...) in a list or a mapping (a key not seen
    before in it, or a value). False: not handled here."""
    if not stack or event.anchor is not None or event.tag is not None:
        return False
    text = event.value
    scalar = known.get(text, _UNKNOWN) if event.implicit[0] else text  # plain: its value depends on its spelling
    if scalar is _UNKNOWN or scalar is _MERGE_KEY:
        return False
    parent = stack[-1]
    parent.size += 1
    value = parent.value
    if type(value) is list:
        value.append(scalar)
    elif parent.has_key:
        if parent.key is _MERGE_KEY:
            raise Unsupported("a merge of a scalar")
        value[parent.key] = scalar
        parent.has_key = False
    elif text in parent.seen:  # a repeated key: noted on the slower path
        parent.size -= 1
        return False
    else:
        parent.seen[text] = event.start_mark.line + 1
        parent.key, parent.has_key = scalar, True
    return True


def build(loader: Any, limits: Limits) -> Built:
    """The data of the loader's one document (``None`` for an empty stream)."""
    builder = _Builder(loader, limits)
    stack, strings = builder.stack, builder.scalars
    scalar_event, start_mapping, start_sequence = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    for event in iter(loader.get_event, None):  # None once the stream has ended
        kind = type(event)
        if kind is scalar_event:
            if not _known_scalar(event, stack, strings):
                builder.scalar(event)
        elif kind in ends:
            builder.end()
        elif kind is start_mapping:
            builder.start(event, {})
        elif kind is start_sequence:
            builder.start(event, [])
        elif kind is yaml.AliasEvent:
            builder.alias(event)
        elif kind is yaml.DocumentStartEvent and builder.done:
            raise Unsupported("more than one document")
    return builder.built
