"""Durations written the way testers write them: ``30s``, ``500ms``, ``2m``, ``6h``, ``2d`` or plain seconds."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_FACTORS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """Seconds as a float; ValueError naming the accepted forms otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 500ms, 2m or 5")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"duration {value!r} is negative")
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 500ms, 2m or 5")
    return float(m.group(1)) * _FACTORS[m.group(2)]
