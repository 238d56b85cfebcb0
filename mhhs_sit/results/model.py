"""The typed results model: which case in which cohort, what it is, and what became of it.

A ``CaseResult`` is frozen: the engine's mutable record is frozen into one when the case ends
(``CaseRecord.freeze``), the recorder replaces it as pytest's reports arrive, and the store, the
completion report and the RTTM read it. Its JSON form (``to_json``/``from_json``) is written once,
here, so ``results.json``, the JUnit properties, the store and the evidence readers never spell a
field or a status differently. A field that is ``None`` was not said (the JSON key is absent):
the store keeps what an earlier record said, and ``results.json`` stays as it always read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from mhhs_sit.results.outcome import LEGACY_SPELLINGS, UNSUCCESSFUL, Category, Status, settled

Json = dict[str, object]  # a JSON object as json.loads makes it and json.dumps writes it

# a dict look-up: ~20x cheaper than Status(x); an older run's spelling reads as what it now is
STATUS_BY_VALUE: Mapping[str, Status] = {s.value: s for s in Status} | LEGACY_SPELLINGS
CATEGORY_BY_VALUE: Mapping[str, Category] = {c.value: c for c in Category}


_ITEM_NAME = re.compile(r"^(?P<case>.+)\[(?P<cohort>[^\[\]]+)\]$")


class CaseKey(NamedTuple):
    """Which case in which cohort: how the store, the completion report and the RTTM key outcomes.

    A tuple, so it compares equal to (and hashes as) ``(case, cohort)``; the cohort is "" for a
    scenario file that could not be loaded."""

    case: str
    cohort: str

    @property
    def claim(self) -> str:
        """``CASE[COHORT]``: the item's name, and how ``--rerun`` selects it."""
        return f"{self.case}[{self.cohort}]"

    @classmethod
    def of_item(cls, nodeid: str) -> CaseKey | None:
        """The key an item's name (``CASE[COHORT]``, the last part of its node id) says; None for
        an item that is not a case in a cohort."""
        m = _ITEM_NAME.match(nodeid.split("::")[-1])
        return cls(m.group("case"), m.group("cohort")) if m else None


def status_of(value: object) -> Status:
    """A status as files spell it; ``ValueError`` naming the spellings for anything else."""
    found = STATUS_BY_VALUE.get(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"unknown status {value!r}; expected one of {', '.join(s.value for s in Status)}")
    return found


def unloaded_file(status: Status, nodeid: str) -> bool:
    """A scenario file that could not be loaded (bad YAML, a schema error): a definition error whose
    node id names the file itself, not a case in it (every case's node id is ``FILE::CASE[COHORT]``).

    How the store, the completion report and the RTTM tell it from a case's definition error: its
    cases never ran, and a later run that loads the file supersedes it."""
    return status is Status.DEFINITION_ERROR and "::" not in nodeid


def category_of(value: object) -> Category | None:
    """A category as files spell it, ``None`` when absent; ``ValueError`` for one this version does not know."""
    if value is None or value == "":
        return None
    found = CATEGORY_BY_VALUE.get(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"unknown category {value!r}; expected one of {', '.join(CATEGORY_BY_VALUE)}")
    return found


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step of a case as it ended."""

    number: int
    title: str
    kind: str
    status: Status
    ms: float = 0.0
    location: str = ""
    detail: str = ""

    def text(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"step {self.number} {self.kind}: {self.title}{where}"

    def to_json(self) -> Json:
        return {
            "n": self.number,
            "title": self.title,
            "kind": self.kind,
            "status": self.status.value,
            "ms": self.ms,
            "location": self.location,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, raw: object) -> StepResult | None:
        """``None`` for what is not a step this version can read (a hand-edited file): it is left out."""
        if not isinstance(raw, Mapping):
            return None
        spelled = raw.get("status")
        status = STATUS_BY_VALUE.get(spelled) if isinstance(spelled, str) else None
        if status is None:
            return None
        number, ms = raw.get("n"), raw.get("ms")
        return cls(
            number=number if isinstance(number, int) else 0,
            title=_text(raw.get("title")),
            kind=_text(raw.get("kind")),
            status=status,
            ms=float(ms) if isinstance(ms, int | float) else 0.0,
            location=_text(raw.get("location")),
            detail=_text(raw.get("detail")),
        )


@dataclass(frozen=True, slots=True)
class CaseMeta:
    """What a case is, known at collection (``CaseItem.describe``), in the order the files hold it."""

    title: str = ""
    priority: int | None = None
    tags: tuple[str, ...] = ()
    scenario: str = ""
    scenario_title: str = ""
    stage: str = ""
    theme: str = ""
    requirements: tuple[str, ...] = ()  # sorted, each once
    location: str = ""  # the case's file:line
    participants: Mapping[str, str] = field(default_factory=dict)  # role -> DIP id

    def to_json(self) -> Json:
        return {
            "title": self.title,
            "priority": self.priority,
            "tags": list(self.tags),
            "scenario": self.scenario,
            "scenario_title": self.scenario_title,
            "stage": self.stage,
            "theme": self.theme,
            "requirements": list(self.requirements),
            "location": self.location,
            "participants": dict(self.participants),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> CaseMeta | None:
        """``None`` when the object says nothing of the case (an item named only by its node id)."""
        if not any(key in raw for key in _DESCRIBING):
            return None
        participants = raw.get("participants")
        return cls(
            title=_text(raw.get("title")),
            priority=_whole(raw.get("priority")),
            tags=_texts(raw.get("tags")),
            scenario=_text(raw.get("scenario")),
            scenario_title=_text(raw.get("scenario_title")),
            stage=_text(raw.get("stage")),
            theme="" if raw.get("theme") is None else str(raw.get("theme")),
            requirements=tuple(sorted(set(_texts(raw.get("requirements"))))),
            location=_text(raw.get("location")),
            participants={str(k): str(v) for k, v in participants.items()} if isinstance(participants, Mapping) else {},
        )


# the keys that say something of a case (a file that could not be loaded has a location and nothing else)
_DESCRIBING = tuple(k for k in CaseMeta.__dataclass_fields__ if k != "location")
NO_META = CaseMeta()  # what a reader sees of a result that says nothing of its case


@dataclass(frozen=True, slots=True)
class Execution:
    """What happened when a case ran: its timings (epoch seconds), the test data it drew, each step."""

    started: float
    stopped: float
    data: Mapping[str, object]
    steps: tuple[StepResult, ...]

    def failing_step(self) -> StepResult | None:
        """The first failed or broken step."""
        return next((s for s in self.steps if s.status in UNSUCCESSFUL), None)

    def to_json(self) -> Json:
        steps: list[object] = [s.to_json() for s in self.steps]
        return {"started": self.started, "stopped": self.stopped, "data": dict(self.data), "steps": steps}

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> Execution | None:
        """``None`` when the object has no steps: the case never started running."""
        steps = raw.get("steps")
        if not isinstance(steps, list):
            return None
        data = raw.get("data")
        return cls(
            started=_seconds(raw.get("started")),
            stopped=_seconds(raw.get("stopped")),
            data={str(k): v for k, v in data.items()} if isinstance(data, Mapping) else {},
            steps=tuple(s for s in map(StepResult.from_json, steps) if s is not None),
        )


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One collected item of a run, whatever happened to it: a case × cohort, or a file that failed to load."""

    nodeid: str
    status: Status
    key: CaseKey | None = None  # None: an item that names no case (not one of ours)
    about: CaseMeta | None = None  # None: not known (yet) of this item
    execution: Execution | None = None  # None: it never ran
    category: Category | None = None  # who is to act, when it did not pass
    message: str | None = None  # why it did not pass or was skipped
    duration_s: float | None = None  # pytest's duration of the call
    location: str | None = None  # an unloaded file's path (a case's location is in ``about``)

    @property
    def case_id(self) -> str:
        """The case, or the node id of an item that names none (as the store files it)."""
        return self.key.case if self.key is not None and self.key.case else self.nodeid

    @property
    def cohort(self) -> str:
        return self.key.cohort if self.key is not None else ""

    @property
    def meta(self) -> CaseMeta:
        return self.about if self.about is not None else NO_META

    @property
    def unloaded(self) -> bool:
        """A scenario file that could not be loaded, not a case (see ``unloaded_file``)."""
        return unloaded_file(self.status, self.nodeid)

    def failing_step(self) -> StepResult | None:
        return self.execution.failing_step() if self.execution is not None else None

    def to_json(self) -> Json:
        """The object ``results.json`` lists, its keys in the order they have always come."""
        if self.unloaded and self.about is None:  # a file that could not be loaded
            return _dropped_none(
                {"nodeid": self.nodeid, "case": self.case_id, "cohort": self.cohort, "status": self.status.value}
                | {"category": _value(self.category), "message": self.message, "location": self.location}
            )
        out: Json = {"nodeid": self.nodeid, "status": self.status.value}
        if self.key is not None:
            out["case"], out["cohort"] = self.key
        if self.about is not None:
            out.update(self.about.to_json())
        if self.execution is not None:
            out.update(self.execution.to_json())
        tail: Json = {"category": _value(self.category), "message": self.message, "duration_s": self.duration_s}
        out.update(_dropped_none(tail | {"location": self.location}))
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> CaseResult:
        """``ValueError`` for what is not a result: no status or name, an unknown status or category."""
        if "status" not in raw or not (raw.get("case") or raw.get("nodeid")):
            raise ValueError("has no case id or status")
        about = CaseMeta.from_json(raw)
        case = raw.get("case")
        duration = raw.get("duration_s")
        category = category_of(raw.get("category"))
        return cls(
            nodeid=_text(raw.get("nodeid")),
            status=settled(status_of(raw["status"]), category),  # an older file's definition error says so
            key=CaseKey(str(case), _text(raw.get("cohort"))) if case else None,
            about=about,
            execution=Execution.from_json(raw),
            category=category,
            message=None if raw.get("message") is None else str(raw.get("message")),
            duration_s=float(duration) if isinstance(duration, int | float) else None,
            location=_text(raw.get("location")) if about is None and "location" in raw else None,
        )


def totals(results: Sequence[CaseResult]) -> dict[str, int]:
    """How many results have each status, in the order the statuses first appear (``results.json``'s totals)."""
    out: dict[str, int] = {}
    for r in results:
        out[r.status.value] = out.get(r.status.value, 0) + 1
    return out


def _value(category: Category | None) -> str | None:
    return None if category is None else category.value


def _dropped_none(values: Json) -> Json:
    return {k: v for k, v in values.items() if v is not None}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _texts(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
