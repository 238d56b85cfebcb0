"""A rule's ``schedule`` item once its templates are rendered: when, for whom, with what data.

rule_files checked what is literal; what only a template makes (an instant from the message, a
duration) is checked here, when the rule runs, and a bad value is a StepDefinitionError (journalled
as a SIMULATOR DEFECT naming the rule, like any template error).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.definitions import templating
from mhhs_sit.errors import StepDefinitionError


@dataclass(frozen=True)
class TimerAction:
    trigger: str
    at: float | None  # epoch seconds; or
    after: float | None  # seconds from now on the simulation clock
    dip_id: str | None  # who it reaches (None: the rule's own party; "": a party the cohort lacks)
    key: str | None
    data: Mapping[str, object]
    mpan: str | None  # its MPAN (None: the MPAN of the message that set it)


def render_timer(raw: Mapping[str, object], ctx: Mapping[str, object]) -> TimerAction:
    item = templating.render_mapping(raw, ctx)
    data = item.get("data") or {}
    if not isinstance(data, Mapping):
        raise StepDefinitionError(f"timer {item.get('trigger')}: data renders as {data!r}, not a mapping")
    return TimerAction(
        trigger=str(item["trigger"]),
        at=_instant(item["at"]) if "at" in item else None,
        after=_span(item["after"]) if "after" in item else None,
        dip_id=str(item["for"] or "") if "for" in item else None,
        key=_optional(item.get("key")),
        data=dict(data),
        mpan=_optional(item.get("mpan")),
    )


def _instant(value: object) -> float:
    """Epoch seconds of a DIP DateTime (a bare date is its UK clock midnight, CR036)."""
    text = str(value)
    if len(text) == 10:
        text = templating.uk_midnight(text)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise StepDefinitionError(
            f"timer 'at' renders as {value!r}, not an instant such as 2026-03-29T00:00:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise StepDefinitionError(f"timer 'at' renders as {value!r}, which has no offset")
    return moment.timestamp()


def _span(value: object) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise StepDefinitionError(f"timer 'after': {exc}") from None


def _optional(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
