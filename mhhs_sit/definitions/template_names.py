"""What each template name holds, down to its fields, so ``{{ cohort.MS.dip_id }}`` fails at load.

A root name (``cohort``, ``env``, a case data entry, a saved value) has a ``Shape``: text (no field
below), known fields (each with its own shape), or open (anything below, e.g. a saved message).
The shapes mirror what the engine puts in the template context (``execution/engine.py``:
``Cohort.as_template_value``, ``Environment.as_template_value``, the case, the data pools).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.definitions.schemas import ROLES


@dataclass(frozen=True)
class Shape:
    """What is below a template value: nothing (text), these fields, or anything (``fields`` None)."""

    what: str
    fields: Mapping[str, Shape] | None = None
    text: bool = False
    extensible: bool = False  # other fields may exist (an environment's variables): only near misses are wrong
    dynamic: Mapping[str, Shape] = field(default_factory=dict)  # fields matched by name, not listed in messages
    refused: Mapping[str, str] = field(default_factory=dict)  # names that exist elsewhere, and why not here


OPEN = Shape("a value")
TEXT = Shape("text", text=True)
_PARTICIPANT = Shape("a participant", {k: TEXT for k in ("role", "dip_id", "mpid", "name", "distributor")})
COHORT = Shape(
    "the cohort",
    {"id": TEXT, "title": TEXT},
    dynamic={role: _PARTICIPANT for role in ROLES},
)


@cache  # one Shape for a scenario's roles, not one a case: a template's check is remembered per shape
def cohort_shape(roles: tuple[str, ...]) -> Shape:
    """The cohort as one scenario sees it: only the roles it declares, since only cohorts holding
    those are chosen to run it (``{{ cohort.SDS.dip_id }}`` in a scenario without SDS would break
    in every cohort lacking one)."""
    if not roles:
        return COHORT
    listed = ", ".join(roles)
    why = {
        role: f"the scenario's roles are {listed}; add {role} to 'roles:' so that only cohorts holding one run it"
        for role in ROLES
        if role not in roles
    }
    return Shape(
        "the cohort",
        {"id": TEXT, "title": TEXT},
        dynamic={role: _PARTICIPANT for role in roles},
        refused=why,
    )


ENV = Shape("the environment", {k: TEXT for k in ("name", "tag", "ir", "dip_url")}, extensible=True)
CASE = Shape("the case", {k: TEXT for k in ("id", "title", "scenario")})
BUILTIN_SHAPES: Mapping[str, Shape] = {
    **{name: TEXT for name in ("now", "today", "tomorrow", "yesterday", "midnight", "uuid", "run_id")},
    "case": CASE,
    "cohort": COHORT,
    "env": ENV,
}


@cache
def _metering_point() -> Shape:
    from mhhs_sit.data.points import CSV_COLUMNS, row_dict

    fields = row_dict(tuple("" for _ in CSV_COLUMNS))
    return Shape("a metering point", {str(k): OPEN for k in fields})


def data_shape(value: object) -> Shape:
    """The shape of a case ``data:`` entry: a draw's kind decides, a literal is what it is."""
    if isinstance(value, Mapping) and "draw" in value:
        kind = value.get("draw")
        if kind in ("mpan", "full_mpan"):
            return Shape(f"a drawn {kind} (text)", text=True)
        return _metering_point() if kind == "metering_point" else OPEN
    if isinstance(value, str | int | float | bool):
        return Shape(f"{type(value).__name__} {value!r}", text=True)
    return OPEN


def leaf_problem(source: str, root: str, path: tuple[str | int, ...], shape: Shape) -> str | None:
    """Why the dotted ``path`` below ``root`` does not exist in ``shape`` (None when it may)."""
    walked = root
    for part in path:
        if shape.fields is None and not shape.text:
            return None
        if isinstance(part, int):
            return f"'{{{{ {source} }}}}': {walked} is {shape.what}, not a list" if not _opens(shape) else None
        refused = _refused(shape, part)
        if refused:
            return f"'{{{{ {source} }}}}': {walked}.{part}: {refused}"
        found = _field(shape, part)
        if found is None:
            return _missing(source, walked, part, shape)
        shape, walked = found, f"{walked}.{part}"
    return None


def _refused(shape: Shape, name: str) -> str | None:
    for key, why in shape.refused.items():
        if key.lower() == name.lower():
            return why
    return None


def _opens(shape: Shape) -> bool:
    return shape.fields is None and not shape.text


def _field(shape: Shape, name: str) -> Shape | None:
    for table in (shape.fields or {}, shape.dynamic):
        for key, below in table.items():
            if key.lower() == name.lower():  # the engine matches field names case-insensitively
                return below
    return None


def _missing(source: str, walked: str, part: str, shape: Shape) -> str | None:
    if shape.text:
        return f"'{{{{ {source} }}}}': {walked} is {shape.what}, which has no field '{part}'"
    known = list(shape.fields or {})
    hint = suggest(part, [*known, *shape.dynamic, *shape.refused])
    if shape.extensible and not hint:
        return None  # maybe one of the environment's own variables
    listed = ", ".join(known) + (" or a role code such as SUP" if shape.dynamic else "")
    return f"'{{{{ {source} }}}}': {walked} has no '{part}'{hint}; {shape.what} has {listed}"


_SCALARS = frozenset({"string", "number", "integer", "boolean", "null"})


def schema_shape(node: object, what: str) -> Shape:
    """A message field's shape from its JSON Schema: text for a scalar, else anything below."""
    kinds = node.get("type") if isinstance(node, Mapping) else None
    listed = {kinds} if isinstance(kinds, str) else set(kinds) if isinstance(kinds, list) else set()
    if listed and listed <= _SCALARS:
        return Shape(f"{what} (a single value)", text=True)
    return OPEN
