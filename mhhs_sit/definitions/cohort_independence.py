"""A scenario stands on the cohort it runs in: it names no participant of another cohort.

Cohorts run side by side, against SIT-A as on the local simulator, and a test team selects the
ones it tests (``--cohort C1``); a case that sends to, or waits for, a participant its cohort does
not hold works only while that other cohort is configured, and on the real DIP reaches another
participant's system. Templates cannot name another cohort (``{{ cohort.ROLE… }}`` is always the
case's own; ``template_names.py``), so what is left is a DIP ID or MPID written into a step as it
is. One that belongs to a participant another cohort plays or tests (not simulated there) is
refused, at its own line, with the template that names the cohort's own participant instead. One
that belongs to a party another cohort *simulates* (a market party the simulator answers as, such
as the outgoing data service of a change of service provider) is a dependency on that cohort's
file being configured: said at validate, at its line, so it is never silent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, load_yaml
from mhhs_sit.definitions.model import Cohort, Scenario, Step
from mhhs_sit.errors import Problem

_INDEX = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_SAID_MAX = 4096  # distinct bodies whose scan is remembered; forgotten all at once past it (a bound)


@dataclass(frozen=True)
class _Owner:
    """A participant an ID belongs to, and the cohorts holding it."""

    role: str
    name: str
    field: str  # dip_id | mpid
    cohorts: frozenset[str]
    simulated: bool  # simulated in every cohort holding it: a party of the simulated market


def foreign_participants(
    scenario: Scenario, cohorts: Mapping[str, Cohort], root: Path
) -> tuple[list[Problem], list[Problem]]:
    """The DIP IDs and MPIDs of other cohorts' participants written into the scenario's steps:
    those refused (played or tested in their cohort), and those noted (simulated there)."""
    able = frozenset(c.id for c in cohorts.values() if all(r in c.participants for r in scenario.roles))
    if not able:
        return [], []
    dip_ids, mpids = _owners(cohorts)
    mentions = _any_of([*dip_ids, *mpids])
    found: list[tuple[Step, tuple[PathPart, ...], _Owner, str]] = []
    said: dict[str, bool] = {}  # a body as written -> whether it mentions an ID (a library repeats its steps)
    for case in scenario.cases:
        for step in case.steps:
            written = repr(step.spec)
            if written not in said:
                if len(said) >= _SAID_MAX:
                    said.clear()
                said[written] = mentions is not None and mentions.search(written) is not None
            if not said[written]:
                continue  # no cohort's ID anywhere in the body: nothing to walk (most steps use templates)
            for sub, key, value in _strings(step.spec, ()):
                owner = dip_ids.get(value) or (mpids.get(value) if key.lower().endswith("mpid") else None)
                if owner is not None and not able <= owner.cohorts:
                    found.append((step, sub, owner, _message(value, owner, case.id, able)))
    if not found:
        return [], []
    doc = load_yaml(root / scenario.location.file, display=scenario.location.file)
    located = [(owner.simulated, _located(doc, step, sub, message)) for step, sub, owner, message in found]
    return [p for simulated, p in located if not simulated], [p for simulated, p in located if simulated]


def _any_of(ids: Sequence[str]) -> re.Pattern[str] | None:
    """One pattern finding any of the IDs in a step body's ``repr`` (a superset of the exact
    matches the walk then confirms, at half the cost of its JSON), so a body with none is
    never walked."""
    if not ids:
        return None
    return re.compile("|".join(re.escape(i) for i in sorted(set(ids), key=len, reverse=True)))


def _owners(cohorts: Mapping[str, Cohort]) -> tuple[dict[str, _Owner], dict[str, _Owner]]:
    """Each participant's DIP ID and MPID -> who it is, which cohorts hold it, whether simulated."""
    held: dict[tuple[str, str], list[Cohort]] = {}
    for cohort in cohorts.values():
        for p in cohort.participants.values():
            for field in ("dip_id", "mpid"):
                held.setdefault((field, getattr(p, field)), []).append(cohort)
    out: tuple[dict[str, _Owner], dict[str, _Owner]] = ({}, {})
    for (field, value), holders in held.items():
        role, p = next((r, p) for r, p in holders[0].participants.items() if getattr(p, field) == value)
        simulated = all(
            r in c.simulated for c in holders for r, q in c.participants.items() if getattr(q, field) == value
        )
        owner = _Owner(role, p.name or p.mpid, field, frozenset(c.id for c in holders), simulated)
        out[0 if field == "dip_id" else 1][value] = owner
    return out


def _strings(
    value: object, path: tuple[PathPart, ...], key: str = ""
) -> Iterator[tuple[tuple[PathPart, ...], str, str]]:
    """(path below the step's body, the key it is under, the text) of every string in a body."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, (*path, str(k)), str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i), key)
    elif isinstance(value, str):
        yield path, key, value.strip()


def _message(value: str, owner: _Owner, case: str, able: frozenset[str]) -> str:
    holders, without = ", ".join(sorted(owner.cohorts)), ", ".join(sorted(able - owner.cohorts))
    what = "DIP ID" if owner.field == "dip_id" else "MPID"
    template = f'"{{{{ cohort.{owner.role}.{owner.field} }}}}"'
    if owner.simulated:
        return (
            f"'{value}' is the {what} of {owner.role} {owner.name}, which cohort {holders} simulates: {case} "
            f"(in {without}) runs only while cohort {holders} is configured; {template} names the cohort's own"
        )
    return (
        f"'{value}' is the {what} of {owner.role} {owner.name} of cohort {holders}, but {case} also runs in "
        f"{without}, which does not hold it: the case would depend on another cohort's participant. Write "
        f"{template} for the cohort's own {owner.role}, or, for a party outside the test, an ID no cohort file uses"
    )


def _located(doc: YamlDoc, step: Step, sub: Sequence[PathPart], message: str) -> Problem:
    """The problem at the value's own line (the step's when the file no longer reads)."""
    base: list[PathPart] = [int(i) if i else str(k) for k, i in _INDEX.findall(step.path)]
    if doc.data is None:
        return Problem(step.location.file, step.location.line, step.location.column, step.path, message)
    return doc.problem([*base, step.kind, *sub], message)
