"""Load-time checks several step kinds share: template names, check paths, operators, roles.

Each returns problems located in the scenario file; none raises. A kind's own module decides which
of them apply to which part of its body.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.matchers import OPERATOR_NAMES, PATH_RE, is_operator_mapping
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.definitions.schemas import ROLES
from mhhs_sit.definitions.steps import StepContext
from mhhs_sit.definitions.template_names import BUILTIN_SHAPES, Shape, leaf_problem
from mhhs_sit.errors import Problem

# A library repeats its steps across cases: each distinct step body is walked for its templates
# once, and each template's fields checked once against each shape (half of validate's time in
# the steps of a 10,000-case file). Bounded: forgotten all at once past _MEMO_MAX entries.
_MEMO_MAX = 4096
_WALKED: dict[str, tuple[tuple[tuple[PathPart, ...], str], ...]] = {}
_LEAVES: dict[tuple[str, int], tuple[Shape, str | None]] = {}  # (source, id(shape)) -> (the shape, problem)


def _templates_in(value: object, written: str | None = None) -> tuple[tuple[tuple[PathPart, ...], str], ...]:
    """Every ``{{ }}`` in ``value`` and where it sits (``templating.expressions``), remembered by the
    value's ``repr`` (exact, where JSON would make the key 1 and "1" one; and a C-speed pass that
    says at once that most values hold none); ``written``: that repr, when the caller has it."""
    if isinstance(value, str):
        return tuple(templating.expressions(value)) if "{{" in value else ()
    blob = repr(value) if written is None else written
    if "{{" not in blob:
        return ()
    found = _WALKED.get(blob)
    if found is None:
        if len(_WALKED) >= _MEMO_MAX:
            _WALKED.clear()
        found = _WALKED[blob] = tuple(templating.expressions(value))
    return found


def check_templates(
    doc: YamlDoc,
    value: object,
    path: Sequence[PathPart],
    scope: Collection[str],
    shapes: Mapping[str, Shape] = BUILTIN_SHAPES,
    written: str | None = None,
) -> list[Problem]:
    """Every ``{{ }}`` in ``value`` parses, names something in ``scope`` and, where its shape is
    known (``shapes``), a field it has, down to the leaf (``written``: ``repr(value)``, if made)."""
    problems: list[Problem] = []
    for sub, source in _templates_in(value, written):
        try:
            expr = templating.parse_expression(source)
        except ValueError as exc:
            problems.append(doc.problem([*path, *sub], str(exc)))
            continue
        if expr.root not in scope:
            problems.append(
                doc.problem(
                    [*path, *sub],
                    f"'{{{{ {source} }}}}' names '{expr.root}', which is neither case data, a value saved "
                    f"by an earlier step nor a built-in{suggest(expr.root, scope)}",
                )
            )
            continue
        leaf = _leaf_problem(expr, shapes)
        if leaf:
            problems.append(doc.problem([*path, *sub], leaf))
    return problems


def _leaf_problem(expr: templating.Expression, shapes: Mapping[str, Shape]) -> str | None:
    shape = shapes.get(expr.root)
    if shape is None or (expr.filters and expr.filters[0][0] == "default"):
        return None  # ``| default(x)`` covers a path that is not there
    key = (expr.source, id(shape))
    known = _LEAVES.get(key)
    if known is not None and known[0] is shape:  # the entry holds the shape: its id is not reused meanwhile
        return known[1]
    if len(_LEAVES) >= _MEMO_MAX:
        _LEAVES.clear()
    problem = leaf_problem(expr.source, expr.root, expr.path, shape)
    _LEAVES[key] = (shape, problem)
    return problem


def unknown_operator(at: StepContext, sub: Sequence[PathPart], op: str) -> Problem:
    return at.problem(
        sub,
        f"unknown check '{op}'{suggest(op, OPERATOR_NAMES)}; checks are: {', '.join(sorted(OPERATOR_NAMES))}",
        key=True,
    )


def check_paths(at: StepContext, mapping: object, sub: Sequence[PathPart], what: str) -> list[Problem]:
    """A ``where``/``json`` mapping: each key a path, each value a literal or known operators."""
    problems: list[Problem] = []
    if not isinstance(mapping, dict):
        return problems
    for key, expected in mapping.items():
        if not isinstance(key, str) or not PATH_RE.match(key):
            problems.append(
                at.problem(
                    [*sub, key],
                    f"{what} key {key!r} is not a path such as 'M0.MPANCore' or 'json.items[0].id'",
                    key=True,
                )
            )
        typo = _operator_typo(expected)
        if typo is not None:
            problems.append(unknown_operator(at, [*sub, key, typo], typo))
    return problems


def _operator_typo(expected: object) -> str | None:
    """The unknown operator in a mapping that means to be a check, not a literal to compare."""
    if not isinstance(expected, dict) or not expected or is_operator_mapping(expected):
        return None
    unknown = [k for k in expected if k not in OPERATOR_NAMES]
    if (unknown and any(k in OPERATOR_NAMES for k in expected)) or (
        len(unknown) == 1 and suggest(unknown[0], OPERATOR_NAMES)
    ):
        return str(unknown[0])
    return None


def check_role(at: StepContext, body: Mapping[object, object], key: str) -> list[Problem]:
    """The role a step acts as or listens at must be one of the scenario's roles."""
    role = body.get(key)
    if isinstance(role, str) and role in ROLES and role not in at.roles:
        return [
            at.problem(
                [key], f"role '{role}' is not among the scenario's roles ({', '.join(at.roles)}); add it to 'roles:'"
            )
        ]
    return []


def sub_mapping(body: Mapping[object, object], key: str) -> Mapping[object, object]:
    """A nested mapping of a step's body, or nothing when the schema has already reported its type."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}
