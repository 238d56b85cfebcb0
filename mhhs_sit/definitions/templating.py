"""``{{ }}`` templates over case data, saved values, the cohort and the environment.

Deliberately small: an expression is a dotted path (``cohort.SUP.dip_id``, ``msg.M0.MPANCore``,
``rows[0]``) followed by optional filters (``today | plus_days(1)``). A string that is exactly one
expression keeps the value's type, so ``"{{ count }}"`` renders an int. Templates are parsed once
and cached; their root names are checked at collection time so a typo fails before anything runs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from mhhs_sit.data.periods import as_dip_datetime, day_start, uk_offset_hours
from mhhs_sit.errors import StepDefinitionError

_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_PATH_PART = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(-?\d+)\]")
_FILTER = re.compile(r"^([a-z_]+)(?:\((.*)\))?$")


def _plus_days(value: object, days: str) -> str:
    base = dt.date.fromisoformat(str(value)[:10])
    return (base + dt.timedelta(days=int(days))).isoformat()


def uk_midnight(value: object) -> str:
    """00:00 UK clock time of a date (``2026-07-01`` or a timestamp's date) with its offset (CR036)."""
    day = dt.date.fromisoformat(str(value)[:10])
    return as_dip_datetime(day_start(day, "local"), "local")


FILTERS: Mapping[str, Callable[..., object]] = {
    "upper": lambda v: str(v).upper(),
    "lower": lambda v: str(v).lower(),
    "str": str,
    "int": lambda v: int(v),
    "json": lambda v: json.dumps(v, sort_keys=True),
    "length": len,
    "plus_days": _plus_days,
    "midnight": uk_midnight,
    "default": lambda v, d: v if v not in (None, "") else _literal(d),
}


def _literal(text: str) -> object:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class Expression:
    source: str
    root: str
    path: tuple[str | int, ...]
    filters: tuple[tuple[str, tuple[str, ...]], ...]

    def evaluate(self, context: Mapping[str, object]) -> object:
        if self.root not in context:
            known = ", ".join(sorted(context)) or "none"
            raise StepDefinitionError(
                f"template '{{{{ {self.source} }}}}' names '{self.root}', which is not defined here (defined: {known})"
            )
        value = context[self.root]
        walked = self.root
        try:
            for part in self.path:
                value = _step_into(value, part, walked, self.source)
                walked += f"[{part}]" if isinstance(part, int) else f".{part}"
        except StepDefinitionError:
            if not self.filters or self.filters[0][0] != "default":
                raise
            value = None  # ``| default(x)`` also covers a path that is not there
        for name, args in self.filters:
            try:
                value = FILTERS[name](value, *args)
            except (TypeError, ValueError) as exc:
                raise StepDefinitionError(
                    f"template '{{{{ {self.source} }}}}': filter '{name}' failed on {value!r}: {exc}"
                ) from exc
        return value


def _step_into(value: object, part: str | int, walked: str, source: str) -> object:
    if isinstance(part, int):
        if isinstance(value, list | tuple) and -len(value) <= part < len(value):
            return value[part]
        raise StepDefinitionError(f"template '{{{{ {source} }}}}': {walked} has no item [{part}]")
    if isinstance(value, Mapping):
        if part in value:
            return value[part]
        folded = {str(k).lower(): k for k in value}
        if part.lower() in folded:  # the DIP ignores the case of JSON field names
            return value[folded[part.lower()]]
        keys = ", ".join(sorted(map(str, value))) or "no keys"
        raise StepDefinitionError(f"template '{{{{ {source} }}}}': {walked} has no '{part}' ({keys})")
    raise StepDefinitionError(f"template '{{{{ {source} }}}}': {walked} is {type(value).__name__}, not a mapping")


@lru_cache(maxsize=65536)
def parse_expression(source: str) -> Expression:
    """Parse ``path | filter(arg) | ...``; ValueError with a readable reason when malformed."""
    head, *filter_texts = (s.strip() for s in source.split("|"))
    root, *rest = _path_parts(head, source)
    return Expression(source, str(root), tuple(rest), tuple(_filter(text, source) for text in filter_texts))


def _path_parts(head: str, source: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for m in _PATH_PART.finditer(head):
        if m.start() != pos:
            break
        parts.append(int(m.group(2)) if m.group(2) is not None else m.group(1))
        pos = m.end()
    if not parts or pos != len(head) or not isinstance(parts[0], str):
        raise ValueError(f"'{{{{ {source} }}}}' is not a name or dotted path such as 'cohort.SUP.mpid'")
    return parts


def _filter(text: str, source: str) -> tuple[str, tuple[str, ...]]:
    fm = _FILTER.match(text)
    if not fm or fm.group(1) not in FILTERS:
        raise ValueError(f"'{{{{ {source} }}}}' uses unknown filter '{text}' (known: {', '.join(sorted(FILTERS))})")
    args = tuple(a.strip() for a in fm.group(2).split(",")) if fm.group(2) else ()
    return fm.group(1), args


@lru_cache(maxsize=65536)
def _split(text: str) -> tuple[tuple[str, Expression | None], ...] | None:
    """Literal/expression pieces of a string, or None when it holds no template at all."""
    if "{{" not in text:
        return None
    pieces: list[tuple[str, Expression | None]] = []
    pos = 0
    for m in _EXPR.finditer(text):
        if m.start() > pos:
            pieces.append((text[pos : m.start()], None))
        pieces.append((m.group(0), parse_expression(m.group(1))))
        pos = m.end()
    if pos < len(text):
        pieces.append((text[pos:], None))
    return tuple(pieces)


def render(value: object, context: Mapping[str, object]) -> object:
    """Render every template inside ``value`` (strings, mappings, lists, also mapping keys)."""
    if isinstance(value, str):
        return _render_text(value, context)
    if isinstance(value, Mapping):
        return {render(k, context): render(v, context) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, context) for v in value]
    return value


def render_mapping(value: Mapping[str, object], context: Mapping[str, object]) -> dict[str, object]:
    """A mapping rendered: still a mapping, its keys text."""
    return {str(render(k, context)): render(v, context) for k, v in value.items()}


def _render_text(value: str, context: Mapping[str, object]) -> object:
    """A whole-value template keeps its value's type; templates inside text are written as text."""
    pieces = _split(value)
    if pieces is None:
        return value
    if len(pieces) == 1 and pieces[0][1] is not None:
        return pieces[0][1].evaluate(context)
    return "".join(text if expr is None else _as_text(expr.evaluate(context)) for text, expr in pieces)


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def expressions(value: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every ``{{ }}`` source text inside ``value`` with the YAML path where it sits."""
    if isinstance(value, str):
        for m in _EXPR.finditer(value):
            yield path, m.group(1)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str):
                for _, src in expressions(k):
                    yield (*path, k), src
            yield from expressions(v, (*path, k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from expressions(v, (*path, i))


def builtins(now: dt.datetime | None = None) -> dict[str, object]:
    """Values every template can use. ``now`` is the DIP's 25-character timestamp (UTC); ``today``,
    ``tomorrow`` and ``yesterday`` are UK clock dates, and ``midnight`` is today's 00:00 UK clock
    time with its offset (CR036: ``T00:00:00+01:00`` in summer, ``+00:00`` in winter)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    today = (moment + dt.timedelta(hours=uk_offset_hours(moment))).date()
    return {
        "now": moment.isoformat(),
        "today": today.isoformat(),
        "tomorrow": (today + dt.timedelta(days=1)).isoformat(),
        "yesterday": (today - dt.timedelta(days=1)).isoformat(),
        "midnight": uk_midnight(today),
    }


BUILTIN_NAMES = frozenset(builtins()) | {"uuid", "case", "cohort", "env", "run_id"}
