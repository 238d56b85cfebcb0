"""Names as people order them: ``C2`` before ``C10``, ``TC9`` before ``TC10``."""

from __future__ import annotations

import re

_NUMBERS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[int | str, ...]:
    """A sort key in which runs of digits compare as numbers."""
    return tuple(int(p) if p.isdigit() else p for p in _NUMBERS.split(text))
