"""What a step kind is to the loader, and the registry of kinds it is handed.

A kind lives in one module (the runner's are under ``mhhs_sit/execution/steps/``) that says, for
its YAML key: the schema of its body, the checks that need context (file:line), its title in
reports, the role it acts as and whether it receives messages, and how its message is checked
against the catalogue. The loader knows no kind by name: it asks the registry it is given, so a
new kind is one module and one line of registration, and nothing here imports the runner.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc
from mhhs_sit.definitions.schema_check import FileSchema
from mhhs_sit.definitions.schemas import scenario_schema
from mhhs_sit.errors import Problem

if TYPE_CHECKING:
    from mhhs_sit.catalogue.model import Change
    from mhhs_sit.definitions.template_names import Shape

SaveSource = Literal["message", "response"]
"""Where a sibling ``save:`` path resolves: a DIP message (by block, ``S0.eventCode``) or a response."""

STANDALONE_SAVE = "save"
"""The one key that is both a step's sibling (``save:`` next to an action) and a kind of its own."""


@dataclass(frozen=True)
class StepContext:
    """What a step's load-time checks can see: where its body is, and what the case has so far.

    A kind's verdict on a body is worked out once per file for each distinct body, ``received`` and
    ``save`` (``step_verdicts.py``): its checks use ``path`` and ``doc`` only to locate problems
    (``problem``), so that they can be located again at each step repeating the body."""

    doc: YamlDoc
    path: tuple[PathPart, ...]  # the body, e.g. ``cases[0].steps[1].send``
    roles: Sequence[str]  # the scenario's roles
    received: bool  # an earlier step of the case receives a message
    save: Mapping[object, object] = field(default_factory=dict)  # the step's sibling ``save:`` (name: path)

    def problem(self, sub: Sequence[PathPart], message: str, *, key: bool = False) -> Problem:
        return self.doc.problem([*self.path, *sub], message, key=key)


@dataclass(frozen=True)
class SpecVersion:
    """The interface catalogue messages are checked against: a version, or an official DIP spec."""

    version: str
    dip_spec: str | None = None


class StepKind(Protocol):
    """The load-time half of a step kind (the runner adds how it subscribes and runs)."""

    @property
    def key(self) -> str:
        """The YAML key that names the kind in a step."""
        ...

    @property
    def schema(self) -> Mapping[str, object]:
        """The JSON Schema of the step's body (structure only)."""
        ...

    @property
    def saves_from(self) -> SaveSource: ...

    def check(self, body: object, at: StepContext) -> list[Problem]:
        """Problems the schema cannot see (roles, paths, operators), located under ``at``."""
        ...

    def title(self, body: object) -> str:
        """A one-line title for a step that has no ``name``."""
        ...

    def acts_as(self, body: object) -> str | None:
        """The role whose participant the step acts as (a case "drives" that role)."""
        ...

    def receives(self, body: object) -> bool:
        """Whether the step takes in a message a later ``reply_to: previous`` can answer."""
        ...

    def listens_at(self, body: object) -> str | None:
        """The role whose deliveries the step observes (the framework must play that role)."""
        ...

    def binds_cohort(self, body: object) -> bool:
        """Whether the step relies on, or changes, what every case of the cohort shares (webhooks
        that point at one worker, simulator faults): its case then runs on the cohort's one worker."""
        ...

    def exclusive(self, body: object) -> bool:
        """Whether the step changes what other cases see while it is in force (a simulator fault):
        its case then runs with no other case in flight (``--mhhs-concurrency``)."""
        ...

    def moves_market_time(self, body: object) -> bool:
        """Whether the step moves the simulator's one clock, which every worker's cases see: its
        case then runs while no case of any worker runs (``execution/market_time.py``)."""
        ...

    def catalogue_problems(self, body: object, at: StepContext, spec: SpecVersion) -> list[Problem]:
        """Problems of the message the step would send, against the catalogue (collection time)."""
        ...

    def saved_shapes(self, body: object, at: StepContext, spec: SpecVersion) -> Mapping[str, Shape]:
        """What the values its sibling ``save:`` names hold, where the catalogue says (else unknown)."""
        ...

    def affected_by(self, body: object, save: Mapping[str, str], change: Change) -> bool:
        """Whether a catalogue change (an interim release) reaches what the step writes or reads."""
        ...


class BaseStepKind:
    """Defaults for a kind that acts as no role, receives nothing and sends no DIP message."""

    key: str
    schema: Mapping[str, object]
    saves_from: SaveSource = "response"

    def check(self, body: object, at: StepContext) -> list[Problem]:
        return []

    def title(self, body: object) -> str:
        return f"{self.key} {body}" if isinstance(body, str | int | float) else self.key

    def acts_as(self, body: object) -> str | None:
        return None

    def receives(self, body: object) -> bool:
        return False

    def listens_at(self, body: object) -> str | None:
        return None

    def binds_cohort(self, body: object) -> bool:
        return False

    def moves_market_time(self, body: object) -> bool:
        return False

    def exclusive(self, body: object) -> bool:
        return False

    def catalogue_problems(self, body: object, at: StepContext, spec: SpecVersion) -> list[Problem]:
        return []

    def saved_shapes(self, body: object, at: StepContext, spec: SpecVersion) -> Mapping[str, Shape]:
        return {}

    def affected_by(self, body: object, save: Mapping[str, str], change: Change) -> bool:
        return False


K_co = TypeVar("K_co", bound=StepKind, covariant=True)


class StepRegistry(Generic[K_co]):
    """The kinds a project's scenarios may use, by YAML key; handed to the loader by its caller."""

    def __init__(self, kinds: Iterable[K_co]):
        self._kinds: dict[str, K_co] = {}
        for kind in kinds:
            if kind.key in self._kinds or kind.key == "name":
                raise ValueError(f"step kind {kind.key!r} is registered twice (or shadows a step key)")
            self._kinds[kind.key] = kind

    def __getitem__(self, key: str) -> K_co:
        return self._kinds[key]

    def __contains__(self, key: object) -> bool:
        return key in self._kinds

    def __iter__(self) -> Iterator[K_co]:
        return iter(self._kinds.values())

    @cached_property  # a registry does not change once made; asked for at every key of every step
    def keys(self) -> tuple[str, ...]:
        return tuple(self._kinds)

    @cached_property
    def actions(self) -> tuple[str, ...]:
        """The kinds a step names as its one action (all but a standalone ``save``)."""
        return tuple(k for k in self._kinds if k != STANDALONE_SAVE)

    @cached_property
    def scenario_schema(self) -> FileSchema:
        """The scenario file's schema with these kinds' step bodies, compiled on first use."""
        return FileSchema(scenario_schema({kind.key: kind.schema for kind in self._kinds.values()}))

    @cached_property
    def fingerprint(self) -> bytes:
        """Changes whenever a kind's module changes, so a parse cache never hides a new check."""
        h = hashlib.sha256()
        for key, kind in sorted(self._kinds.items()):
            h.update(f"{key}={type(kind).__module__}.{type(kind).__qualname__}".encode())
            source = getattr(sys.modules.get(type(kind).__module__), "__file__", None)
            if source:
                h.update(Path(source).read_bytes())
        return h.digest()
