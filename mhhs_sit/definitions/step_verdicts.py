"""A step kind's load-time verdict on one body, worked out once per distinct body in a file.

A library repeats its steps across cases (a 10,000-case file of one send and one expect a case):
what a kind says of a step (its checks, the catalogue's, the shapes of what it saves, the role it
drives and the one it observes, its title) depends only on the body as written, the scenario's
roles, whether an earlier step received a message, the sibling ``save:`` and the spec version.
Each distinct one is worked out once, against a recording document that notes each problem's
path below the step; a step that repeats it gets the same problems, located again in its own
place (its own line).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, format_path
from mhhs_sit.definitions.steps import STANDALONE_SAVE, SpecVersion, StepContext, StepKind
from mhhs_sit.definitions.template_names import Shape
from mhhs_sit.errors import Problem

_Relative = tuple[tuple[PathPart, ...], str, bool]  # (path below the step, message, points at the key)
_MEMO_MAX = 4096  # distinct step verdicts kept for one file; forgotten all at once past it


@dataclass(frozen=True)
class Verdict:
    """What a kind says of one step: its own checks' problems and the catalogue's, located."""

    problems: list[Problem]
    catalogue: list[Problem]
    shapes: Mapping[str, Shape]  # what the values it saves hold, where the catalogue says
    receives: bool
    acts_as: str | None
    listens_at: str | None
    title: str


@dataclass(frozen=True)
class _Kept:
    """A verdict with its problems below the step, to be located at each step that repeats it."""

    problems: tuple[_Relative, ...]
    catalogue: tuple[_Relative, ...]
    rest: Verdict  # its problems empty

    def at(self, doc: YamlDoc, step: Sequence[PathPart]) -> Verdict:
        def located(found: tuple[_Relative, ...]) -> list[Problem]:
            return [doc.problem([*step, *below], message, key=key) for below, message, key in found]

        rest = self.rest
        return Verdict(
            located(self.problems), located(self.catalogue), rest.shapes, rest.receives, rest.acts_as,
            rest.listens_at, rest.title,
        )  # fmt: skip


class _Recorder(YamlDoc):
    """A document that notes each problem asked of it, by its path; it locates none."""

    def __init__(self, file: str) -> None:
        super().__init__(file, None)
        self.asked: dict[int, tuple[Problem, _Relative]] = {}  # id -> the problem (kept alive) and its record

    def problem(self, path: Sequence[PathPart], message: str, *, key: bool = False) -> Problem:
        made = Problem(self.file, 0, 0, format_path(path), message)
        self.asked[id(made)] = (made, (tuple(path), message, key))
        return made

    def relative(self, problems: Sequence[Problem]) -> tuple[_Relative, ...] | None:
        """The records of ``problems``; None when a kind made one without this document."""
        found = [self.asked.get(id(p)) for p in problems]
        return tuple(f[1] for f in found if f is not None) if all(f is not None for f in found) else None


def _verdict(kind: StepKind, key: str, body: object, at: StepContext, spec: SpecVersion | None) -> Verdict:
    shapes = kind.saved_shapes(body, at, spec) if spec is not None and key != STANDALONE_SAVE else {}
    return Verdict(
        kind.check(body, at),
        kind.catalogue_problems(body, at, spec) if spec is not None else [],
        dict(shapes),
        kind.receives(body),
        kind.acts_as(body),
        kind.listens_at(body),
        kind.title(body),
    )


class Verdicts:
    """One file's verdicts, by what they depend on (its file, roles and spec are the same for all)."""

    def __init__(self, doc: YamlDoc, roles: Sequence[str], spec: SpecVersion | None) -> None:
        self.doc, self.roles, self.spec = doc, roles, spec
        self._kept: dict[tuple[object, ...], _Kept | None] = {}

    def of(
        self, kind: StepKind, step: Sequence[PathPart], key: str, body: object, received: bool,
        save: Mapping[object, object], written: str,
    ) -> Verdict:  # fmt: skip
        """The verdict on the step at ``step`` whose action is ``key: body`` (``written``: its repr)."""
        memo = (key, type(body), written, received, repr(save))
        if memo in self._kept:
            kept = self._kept[memo]
        else:
            if len(self._kept) >= _MEMO_MAX:
                self._kept.clear()
            kept = self._kept[memo] = self._recorded(kind, key, body, received, save)
        if kept is None:  # a kind made a problem without the document: asked again, in place
            at = StepContext(self.doc, (*step, key), self.roles, received, save)
            return _verdict(kind, key, body, at, self.spec)
        return kept.at(self.doc, step)

    def _recorded(
        self, kind: StepKind, key: str, body: object, received: bool, save: Mapping[object, object]
    ) -> _Kept | None:
        recorder = _Recorder(self.doc.file)
        found = _verdict(kind, key, body, StepContext(recorder, (key,), self.roles, received, save), self.spec)
        problems, catalogue = recorder.relative(found.problems), recorder.relative(found.catalogue)
        if problems is None or catalogue is None:
            return None
        rest = Verdict([], [], found.shapes, found.receives, found.acts_as, found.listens_at, found.title)
        return _Kept(problems, catalogue, rest)
