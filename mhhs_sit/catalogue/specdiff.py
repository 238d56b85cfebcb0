"""Every difference between the project's catalogue and an official DIP spec, as data.

The two are compared interface by interface and event code by event code, on the facts a
message must satisfy: which interfaces and event codes exist, whether a CustomBlock is required,
allowed or forbidden, which blocks and fields an object has, which are required, and each
field's type, pattern, enum, lengths and counts. Prose (descriptions, examples) and the
project's own annotations (``x-*``) are not compared. Lists whose order carries no meaning
(``required``, ``enum``, ``type``) are compared as sets. Deliberate differences are listed,
each with its reason, in ``data/official-differences.yaml`` (:func:`load_allowances`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mhhs_sit.core.yamlsrc import load_yaml
from mhhs_sit.errors import DefinitionError

if TYPE_CHECKING:
    from mhhs_sit.catalogue.catalogue import Catalogue
    from mhhs_sit.catalogue.dipspec import DipSpec

ANNOTATIONS = frozenset({"description", "example", "examples", "title", "default"})
_SCHEMA_VALUES = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SETS = ("required", "enum", "type")


@dataclass(frozen=True, order=True)
class SpecDifference:
    """One way the catalogue differs from the official spec.

    ``pointer`` is a JSON pointer into the message (``*`` for any array item), ``keyword`` the
    schema keyword that differs (``interface``, ``event``, ``property`` for a field one side
    lacks); ``catalogue`` and ``official`` are the two sides' values (None where absent).
    """

    interface_id: str
    event_code: str
    pointer: str
    keyword: str
    catalogue: object
    official: object

    def __str__(self) -> str:
        where = f"{self.interface_id} [{self.event_code}]" if self.event_code else self.interface_id
        return f"{where} {self.pointer or '/'} {self.keyword}: catalogue {self.catalogue!r}, official {self.official!r}"


def compare(catalogue: Catalogue, spec: DipSpec, version: str) -> list[SpecDifference]:
    """Every difference between catalogue ``version`` and ``spec``, sorted."""
    canonical = catalogue.resolve_version(version)
    ours = {i.id: i for i in catalogue.interfaces if i.event_codes(canonical)}
    out: list[SpecDifference] = []
    for iid in sorted(set(ours) | set(spec.interface_ids)):
        if iid not in spec.interface_ids:
            out.append(SpecDifference(iid, "", "", "interface", "present", None))
            continue
        if iid not in ours:
            out.append(SpecDifference(iid, "", "", "interface", None, "present"))
            continue
        mine = set(ours[iid].event_codes(canonical))
        theirs = {code.strip("[]") for code in spec.event_codes(iid)}
        for code in sorted(mine - theirs):
            out.append(SpecDifference(iid, code, "", "event", "present", None))
        for code in sorted(theirs - mine):
            out.append(SpecDifference(iid, code, "", "event", None, "present"))
        for code in sorted(mine & theirs):
            project = catalogue.schema(iid, code, version=canonical)
            official = _one_event(spec.event_schema(iid, code), code)
            out.extend(SpecDifference(iid, code, p, k, a, b) for p, k, a, b in schema_differences(project, official))
    return sorted(out, key=lambda d: (d.interface_id, d.event_code, d.pointer, d.keyword))


def _one_event(schema: dict[str, object], code: str) -> dict[str, object]:
    """The official schema as the validator uses it for ``code``: a branch several event codes
    share lists them all in S0.eventCode, but a message is matched to it by its own code."""
    out = copy.deepcopy(schema)
    node: object = out
    for key in ("properties", "CommonBlock", "properties", "S0", "properties", "eventCode"):
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict) and isinstance(node.get("enum"), list) and f"[{code}]" in node["enum"]:
        node["enum"] = [f"[{code}]"]
    return out


def schema_differences(a: object, b: object, pointer: str = "") -> Iterator[tuple[str, str, object, object]]:
    """``(pointer, keyword, a's value, b's value)`` for each fact on which two schemas differ."""
    left, right = facts(a), facts(b)
    for key in sorted(set(left) | set(right)):
        x, y = left.get(key), right.get(key)
        if key == "properties" and isinstance(x, dict) and isinstance(y, dict):
            yield from _properties(x, y, pointer)
        elif key in _SCHEMA_VALUES and isinstance(x, dict) and isinstance(y, dict):
            yield from schema_differences(x, y, f"{pointer}/*" if key == "items" else f"{pointer}({key})")
        elif key in _SCHEMA_LISTS and isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (p, q) in enumerate(zip(x, y, strict=True)):
                yield from schema_differences(p, q, f"{pointer}({key}[{i}])")
        elif x != y:
            yield pointer, key, x, y


def _properties(
    a: Mapping[str, object], b: Mapping[str, object], pointer: str
) -> Iterator[tuple[str, str, object, object]]:
    for name in sorted(set(a) | set(b)):
        where = f"{pointer}/{name}"
        if name not in b:
            yield where, "property", "present", None
        elif name not in a:
            yield where, "property", None, "present"
        else:
            yield from schema_differences(a[name], b[name], where)


def facts(schema: object) -> dict[str, object]:
    """The keywords of a schema that constrain messages, unordered lists made comparable."""
    if not isinstance(schema, Mapping):
        return {"const-schema": schema}
    out: dict[str, object] = {}
    for key, value in schema.items():
        if key in ANNOTATIONS or str(key).startswith("x-"):
            continue
        if key in _SETS and isinstance(value, list):
            out[key] = sorted(value, key=repr)
        else:
            out[key] = value
    return _collapse_null(out)


def _collapse_null(schema: dict[str, object]) -> dict[str, object]:
    """``anyOf: [anyOf: [X, null], null]`` (a nullable reference to a nullable type) is ``anyOf: [X, null]``."""
    options = schema.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and options[1] == {"type": "null"}:
        inner = options[0]
        if isinstance(inner, Mapping) and set(inner) == {"anyOf"}:
            return _collapse_null(dict(inner))
    return schema


@dataclass(frozen=True)
class Allowance:
    """A listed, explained difference: it covers the differences of its interfaces that match it."""

    interfaces: tuple[str, ...]
    events: tuple[str, ...]  # empty: every event code
    pointer: str
    keyword: str
    catalogue: object
    official: object
    why: str
    line: int = 0

    def covers(self, d: SpecDifference) -> bool:
        return (
            d.interface_id in self.interfaces
            and (not self.events or d.event_code in self.events)
            and (d.pointer, d.keyword, d.catalogue, d.official)
            == (self.pointer, self.keyword, self.catalogue, self.official)
        )


ALLOWANCE_KEYS = ("interfaces", "events", "pointer", "keyword", "catalogue", "official", "why")


def load_allowances(path: Path) -> list[Allowance]:
    """The listed differences of ``path``; a DefinitionError naming the line of anything malformed."""
    doc = load_yaml(path)
    problems = list(doc.problems)
    entries = doc.data.get("differences") if isinstance(doc.data, dict) else None
    if not isinstance(entries, list):
        problems.append(doc.problem([], "the file must hold `differences:`, a list of listed differences"))
        entries = []
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) - set(ALLOWANCE_KEYS) or not str(entry.get("why", "")).strip():
            problems.append(doc.problem(["differences", i], f"each difference has {', '.join(ALLOWANCE_KEYS)} (why "
                                        "must say why the catalogue differs) and nothing else"))  # fmt: skip
            continue
        out.append(_allowance(entry, doc.position(["differences", i])[0]))
    if problems:
        raise DefinitionError(problems)
    return out


def _allowance(entry: dict[str, object], line: int) -> Allowance:
    def texts(key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)

    return Allowance(
        interfaces=texts("interfaces"),
        events=texts("events"),
        pointer=str(entry.get("pointer", "")),
        keyword=str(entry.get("keyword", "")),
        catalogue=entry.get("catalogue"),
        official=entry.get("official"),
        why=" ".join(str(entry["why"]).split()),
        line=line,
    )


def unexplained(
    differences: list[SpecDifference], allowances: list[Allowance]
) -> tuple[list[SpecDifference], list[Allowance]]:
    """The differences no allowance covers, and the allowances that cover no difference (stale)."""
    left = [d for d in differences if not any(a.covers(d) for a in allowances)]
    unused = [a for a in allowances if not any(a.covers(d) for d in differences)]
    return left, unused
