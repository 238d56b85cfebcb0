"""A change to the local simulator's clock, as a ``clock`` step and ``POST /_sim/clock`` write it.

``{advance: 2d}`` moves the clock forward by a duration (``30s``, ``90m``, ``6h``, ``2d`` or
seconds); ``{set: "2026-04-01T00:00:00+01:00"}`` puts it at an instant written with its offset;
``{reset: true}`` (the control API only) puts it back on real time. The step's load-time check and
the simulator read a change with this one function, so both refuse the same things in the same words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from mhhs_sit.core.durations import parse_duration

STEP_KEYS = ("advance", "set")
CONTROL_KEYS = (*STEP_KEYS, "reset")


class ClockChangeError(ValueError):
    """What is wrong with a clock change, and under which key (``""``: the change as a whole)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message


@dataclass(frozen=True)
class ClockChange:
    """Exactly one of: forward by ``advance``, to ``set``, or back to real time (``reset``)."""

    advance: dt.timedelta | None = None
    set: dt.datetime | None = None
    reset: bool = False


def parse_clock_change(body: object, keys: tuple[str, ...] = STEP_KEYS) -> ClockChange:
    """The change ``body`` asks for; ClockChangeError naming the key and how to write it."""
    if not isinstance(body, Mapping):
        raise ClockChangeError("", f"a clock change is a mapping with one of {', '.join(keys)}, not {body!r}")
    unknown = sorted(str(k) for k in body if k not in keys)
    if unknown:
        raise ClockChangeError(unknown[0], f"unknown key; a clock change has exactly one of {', '.join(keys)}")
    given = [k for k in keys if k in body]
    if len(given) != 1:
        raise ClockChangeError("", f"give exactly one of {', '.join(keys)} (given: {', '.join(given) or 'none'})")
    key = given[0]
    if key == "advance":
        return ClockChange(advance=_duration(body[key]))
    if key == "set":
        return ClockChange(set=parse_instant(body[key]))
    if body[key] is not True:
        raise ClockChangeError("reset", "reset: true puts the clock back on real time; nothing else is meant")
    return ClockChange(reset=True)


def _duration(value: object) -> dt.timedelta:
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise ClockChangeError("advance", f"{value!r} is not a duration; write e.g. 2d, 6h, 90m or 30s") from None
    if seconds <= 0:
        raise ClockChangeError("advance", f"{value!r}: the clock only moves forward; set it to go elsewhere")
    return dt.timedelta(seconds=seconds)


def parse_instant(value: object) -> dt.datetime:
    """A timestamp with its offset, e.g. ``2026-04-01T00:00:00+01:00`` (``Z`` for UTC)."""
    if isinstance(value, dt.datetime):  # YAML reads an unquoted timestamp as one
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ClockChangeError(
                "set", f"{value!r} is not a timestamp; write it with its offset, e.g. 2026-04-01T00:00:00+01:00"
            ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ClockChangeError("set", f"{value!r} has no offset; write e.g. 2026-04-01T00:00:00+01:00 (UK summer)")
    return moment.astimezone(dt.UTC)
