"""Exit criteria: a YAML file of rules the IPA agreed, evaluated on a cycle's combined results.

Each criterion has a rule and an optional ``where`` scope; a mistake in the file (an unknown rule
or key, a pass rate written as 95 instead of 0.95) is a ``DefinitionError`` with file:line and a
"did you mean", because a criterion silently ignored could let a stage exit that should not.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, load_yaml, parse_yaml
from mhhs_sit.definitions.model import STAGES
from mhhs_sit.errors import DefinitionError, Problem
from mhhs_sit.evidence.outcomes import CATEGORIES, STATUSES, Coverage, CycleResult, coverage, pct, tally
from mhhs_sit.results.outcome import UNSUCCESSFUL, Status

Raw = dict[object, object]  # a mapping as the YAML file holds it, before it is checked
BUILTIN = "built-in default criteria"
DEFAULT_TEXT = """\
title: Default exit criteria
criteria:
  - id: EC1
    title: All priority-1 cases passed
    rule: all_passed
    where: {priority: 1}
  - id: EC2
    title: No open product defects
    rule: max_count
    where: {category: product defect}
    max: 0
  - id: EC3
    title: Pass rate at least 95%
    rule: min_pass_rate
    min: 0.95
  - id: EC4
    title: Every case was run
    rule: max_count
    where: {status: not run}
    max: 0
  - id: EC5
    title: Every requirement referenced by a case is covered
    rule: requirements_covered
"""

WHERE_KEYS = ("stage", "theme", "cohort", "tags", "priority", "status", "category")
COMMON_KEYS = ("id", "title", "rule", "where", "description")
TOP_KEYS = ("title", "criteria")


@dataclass(frozen=True)
class RuleSpec:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    meaning: str


RULES: dict[str, RuleSpec] = {
    "all_passed": RuleSpec((), (), "every result in scope passed (failed, broken, skipped and not run all breach)"),
    "max_count": RuleSpec(("max",), (), "at most `max` results are in scope"),
    "min_pass_rate": RuleSpec(("min",), (), "passed ÷ executed in scope is at least `min` (a fraction, 0.95 = 95%)"),
    "requirements_covered": RuleSpec(
        (),
        ("min", "requirements"),
        "at least `min` (default 1, i.e. all) of the requirements referenced in scope, plus any listed "
        "under `requirements`, are covered",
    ),
}


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    rule: str
    where: tuple[tuple[str, tuple[str | int, ...]], ...] = ()
    max: int | None = None
    min: float | None = None
    requirements: tuple[str, ...] = ()
    description: str = ""

    def selects(self, r: CycleResult) -> bool:
        for key, values in self.where:
            if key == "tags":
                if not set(r.tags) & set(values):
                    return False
            elif getattr(r, key) not in values:
                return False
        return True

    def scope(self) -> str:
        if not self.where:
            return "all results"
        parts = []
        for key, values in self.where:
            shown = " or ".join(str(v) for v in values)
            parts.append(f"{key} includes {shown}" if key == "tags" else f"{key} = {shown}")
        return "where " + "; ".join(parts)


@dataclass(frozen=True)
class CriteriaSet:
    title: str
    source: str  # the file, or BUILTIN
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class Breach:
    """A result (case + cohort) or a requirement (cohort "") that makes a criterion fail."""

    ref: str
    cohort: str
    status: str
    note: str = ""

    def text(self) -> str:
        who = f"{self.ref} [{self.cohort}]" if self.cohort else self.ref
        return f"{who} {self.status}" + (f": {self.note}" if self.note else "")


@dataclass(frozen=True)
class Outcome:
    criterion: Criterion
    met: bool
    measured: str
    breaches: tuple[Breach, ...] = ()


# ---------------------------------------------------------------------------------------------
# Evaluation


def evaluate(criteria: CriteriaSet, results: Sequence[CycleResult]) -> tuple[Outcome, ...]:
    return tuple(_EVALUATORS[c.rule](c, [r for r in results if c.selects(r)]) for c in criteria.criteria)


def _result_breach(r: CycleResult) -> Breach:
    first_line = (r.message.strip().splitlines() or [""])[0]
    note = "; ".join(p for p in (r.category or "", first_line[:160]) if p)
    return Breach(r.case, r.cohort, r.status, note)


def _all_passed(c: Criterion, scoped: list[CycleResult]) -> Outcome:
    bad = [r for r in scoped if r.status != Status.PASSED]
    if not scoped:
        return Outcome(c, True, "no results in scope")
    return Outcome(c, not bad, f"{len(scoped) - len(bad)} of {len(scoped)} passed", tuple(map(_result_breach, bad)))


def _max_count(c: Criterion, scoped: list[CycleResult]) -> Outcome:
    assert c.max is not None
    met = len(scoped) <= c.max
    breaches = () if met else tuple(map(_result_breach, scoped))
    return Outcome(c, met, f"{len(scoped)} found (max {c.max})", breaches)


def _min_pass_rate(c: Criterion, scoped: list[CycleResult]) -> Outcome:
    assert c.min is not None
    t = tally(scoped)
    if t.pass_rate is None:  # undefined: an exit gate must not pass on nothing executed
        return Outcome(c, False, f"nothing executed in scope (min {pct(c.min)})")
    met = t.passed >= c.min * t.executed - 1e-9
    measured = f"{pct(t.pass_rate)} ({t.passed} of {t.executed} executed; min {pct(c.min)})"
    breaches = () if met else tuple(_result_breach(r) for r in scoped if r.status in UNSUCCESSFUL)
    return Outcome(c, met, measured, breaches)


def _requirements_covered(c: Criterion, scoped: list[CycleResult]) -> Outcome:
    cov = coverage(scoped, c.requirements)
    covered = sum(x.covered for x in cov)
    wanted = 1.0 if c.min is None else c.min
    if not cov:
        return Outcome(c, True, "no requirements in scope")
    met = covered >= wanted * len(cov) - 1e-9
    measured = f"{covered} of {len(cov)} covered ({pct(covered / len(cov))}; min {pct(wanted)})"
    breaches = () if met else tuple(_coverage_breach(x) for x in cov if not x.covered)
    return Outcome(c, met, measured, breaches)


def _coverage_breach(x: Coverage) -> Breach:
    cases = ", ".join(f"{case} (" + ", ".join(f"{co} {st}" for co, st in cohorts) + ")" for case, cohorts in x.cases)
    return Breach(x.requirement, "", x.state, cases)


_EVALUATORS: dict[str, Callable[[Criterion, list[CycleResult]], Outcome]] = {
    "all_passed": _all_passed,
    "max_count": _max_count,
    "min_pass_rate": _min_pass_rate,
    "requirements_covered": _requirements_covered,
}


# ---------------------------------------------------------------------------------------------
# Loading


def load_criteria(path: Path | None = None) -> CriteriaSet:
    """The criteria in ``path``, or the built-in defaults when there is no file."""
    doc = parse_yaml(DEFAULT_TEXT, BUILTIN) if path is None else load_yaml(path)
    return criteria_from(doc)


def criteria_from(doc: YamlDoc) -> CriteriaSet:
    """Validate everything, then raise once with every problem (not only the first)."""
    problems = list(doc.problems)
    if problems:
        raise DefinitionError(problems)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("criteria"), list):
        raise DefinitionError([doc.problem([], "expected a mapping with a 'criteria' list")])
    _unknown_keys(doc, [], data, TOP_KEYS, problems)
    title = data.get("title", "Exit criteria")
    if not isinstance(title, str) or not title.strip():
        problems.append(doc.problem(["title"], "title must be text"))
    if not data["criteria"]:
        problems.append(doc.problem(["criteria"], "no criteria: an exit verdict needs at least one"))
    criteria = _criteria(doc, data["criteria"], problems)
    if problems:
        raise DefinitionError(problems)
    return CriteriaSet(str(title).strip(), doc.file, criteria)


def _criteria(doc: YamlDoc, listed: list[object], problems: list[Problem]) -> tuple[Criterion, ...]:
    """Each valid criterion of the list; a problem for each invalid one and each id used twice."""
    criteria: list[Criterion] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(listed):
        crit = _criterion(doc, i, raw, problems)
        if crit is None:
            continue
        if crit.id in seen:
            problems.append(
                doc.problem(["criteria", i, "id"], f"id {crit.id} is already used by criteria[{seen[crit.id]}]")
            )
        seen.setdefault(crit.id, i)
        criteria.append(crit)
    return tuple(criteria)


def _suggest(word: object, choices: Iterable[str]) -> str:
    choices = list(choices)
    match = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else f" (expected one of: {', '.join(choices)})"


def _unknown_keys(
    doc: YamlDoc, path: list[PathPart], raw: Raw, allowed: Sequence[str], problems: list[Problem]
) -> None:
    for key in raw:
        if key not in allowed:
            problems.append(doc.problem([*path, _part(key)], f"unknown key '{key}'{_suggest(key, allowed)}", key=True))


def _check_text_keys(doc: YamlDoc, at: list[PathPart], raw: Raw, problems: list[Problem]) -> None:
    for key in ("id", "title", "rule"):
        if key not in raw:
            problems.append(doc.problem(at, f"criterion has no '{key}'"))
        elif not isinstance(raw[key], str | int) or isinstance(raw[key], bool) or not str(raw[key]).strip():
            problems.append(doc.problem([*at, key], f"'{key}' must be text"))


_RULE_KEYS = frozenset(k for s in RULES.values() for k in s.required + s.optional)  # a key some rule takes
_ANY_RULE_KEYS = (*COMMON_KEYS, *_RULE_KEYS)


def _check_rule_keys(doc: YamlDoc, at: list[PathPart], raw: Raw, problems: list[Problem]) -> None:
    """The criterion's keys against its rule's: unknown, not for this rule, or missing."""
    rule = raw.get("rule")
    spec = RULES.get(rule) if isinstance(rule, str) else None
    if spec is None:  # no rule, or one that does not exist: only keys no rule takes are wrong
        if isinstance(rule, str):
            problems.append(doc.problem([*at, "rule"], f"unknown rule '{rule}'{_suggest(rule, RULES)}"))
        _unknown_keys(doc, at, raw, _ANY_RULE_KEYS, problems)
        return
    allowed = (*COMMON_KEYS, *spec.required, *spec.optional)
    problems.extend(_misplaced(doc, at, key, str(rule), allowed) for key in raw if key not in allowed)
    problems.extend(doc.problem(at, f"rule {rule} needs '{key}'") for key in spec.required if key not in raw)


def _part(key: object) -> PathPart:
    """A mapping's key as a path to it (YAML keys are mostly text, sometimes numbers)."""
    return key if isinstance(key, str | int) else str(key)


def _misplaced(doc: YamlDoc, at: list[PathPart], key: object, rule: str, allowed: Sequence[str]) -> Problem:
    """A key the criterion's rule does not take: another rule's, or no rule's at all."""
    if key in _RULE_KEYS:
        return doc.problem([*at, _part(key)], f"'{key}' does not apply to rule {rule}", key=True)
    return doc.problem([*at, _part(key)], f"unknown key '{key}'{_suggest(key, allowed)}", key=True)


def _criterion(doc: YamlDoc, i: int, raw: object, problems: list[Problem]) -> Criterion | None:
    at: list[PathPart] = ["criteria", i]
    if not isinstance(raw, dict):
        problems.append(doc.problem(at, "each criterion must be a mapping with id, title and rule"))
        return None
    before = len(problems)
    _check_text_keys(doc, at, raw, problems)
    rule = raw.get("rule")
    _check_rule_keys(doc, at, raw, problems)
    where = _where(doc, [*at, "where"], raw.get("where"), problems) if "where" in raw else ()
    max_ = _max(doc, [*at, "max"], raw["max"], problems) if "max" in raw else None
    min_ = _min(doc, [*at, "min"], raw["min"], problems) if "min" in raw else None
    reqs = _requirements(doc, [*at, "requirements"], raw["requirements"], problems) if "requirements" in raw else ()
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.append(doc.problem([*at, "description"], "description must be text"))
    if len(problems) > before:
        return None
    return Criterion(
        id=str(raw["id"]).strip(),
        title=str(raw["title"]).strip(),
        rule=str(rule),
        where=where,
        max=max_,
        min=min_,
        requirements=reqs,
        description=str(description).strip(),
    )


def _max(doc: YamlDoc, at: list[PathPart], value: object, problems: list[Problem]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(doc.problem(at, f"max must be a whole number, 0 or more (got {value!r})"))
        return None
    return value


def _min(doc: YamlDoc, at: list[PathPart], value: object, problems: list[Problem]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(doc.problem(at, f"min must be a fraction between 0 and 1, e.g. 0.95 (got {value!r})"))
        return None
    if 1 < value <= 100:
        problems.append(doc.problem(at, f"min is a fraction between 0 and 1 (did you mean {value / 100:g}?)"))
        return None
    if not 0 <= value <= 1:
        problems.append(doc.problem(at, f"min must be between 0 and 1 (got {value})"))
        return None
    return float(value)


def _requirements(doc: YamlDoc, at: list[PathPart], value: object, problems: list[Problem]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(doc.problem(at, "requirements must be a list of requirement ids"))
        return ()
    return tuple(v.strip() for v in value)


def _where(
    doc: YamlDoc, at: list[PathPart], raw: object, problems: list[Problem]
) -> tuple[tuple[str, tuple[str | int, ...]], ...]:
    if not isinstance(raw, dict) or not raw:
        problems.append(doc.problem(at, f"where must be a mapping of {', '.join(WHERE_KEYS)} to a value or a list"))
        return ()
    _unknown_keys(doc, at, raw, WHERE_KEYS, problems)
    found = (_where_entry(doc, [*at, key], key, raw[key], problems) for key in WHERE_KEYS if key in raw)
    return tuple(entry for entry in found if entry is not None)


def _where_entry(
    doc: YamlDoc, at: list[PathPart], key: str, given: object, problems: list[Problem]
) -> tuple[str, tuple[str | int, ...]] | None:
    """One ``where`` key's values (a value or a list), or None when any of them is wrong."""
    values = given if isinstance(given, list) else [given]
    if not values:
        problems.append(doc.problem(at, f"{key}: an empty list matches nothing"))
        return None
    listed = isinstance(given, list)
    clean = [v for j, v in enumerate(values) if _where_value_ok(doc, [*at, j] if listed else at, key, v, problems)]
    if len(clean) != len(values):
        return None
    return key, tuple(v if key == "priority" and isinstance(v, int) else str(v) for v in clean)


_CHOICES: dict[str, Sequence[str]] = {"stage": tuple(STAGES), "status": STATUSES, "category": CATEGORIES}


def _where_value_ok(doc: YamlDoc, where: list[PathPart], key: str, value: object, problems: list[Problem]) -> bool:
    if key == "priority":
        return _priority_ok(doc, where, value, problems)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        problems.append(doc.problem(where, f"{key} must be text (got {value!r})"))
        return False
    choices = _CHOICES.get(key)
    if choices is not None and value not in choices:
        problems.append(doc.problem(where, f"unknown {key} '{value}'{_suggest(value, choices)}"))
        return False
    return True


def _priority_ok(doc: YamlDoc, where: list[PathPart], value: object, problems: list[Problem]) -> bool:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        problems.append(doc.problem(where, f"priority must be 1 (highest) to 4 (got {value!r})"))
        return False
    return True
