"""The requirements catalogue: what the programme requires, that scenarios trace to.

Kept in ``test_data/requirements/`` as YAML, CSV or an ``.xlsx`` RTTM workbook; loaded once and
used by validation (an unknown requirement id in a scenario is an error at its file:line) and by
the RTTM (every requirement gets a row, covered or not).
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("business process", "interface", "non-functional", "design", "other")


@dataclass(frozen=True)
class Requirement:
    id: str  # e.g. BP003, IF-031, E2E1009
    title: str
    source: str  # one of SOURCES
    stage: str  # a scenario stage (sit-functional, ..., qualification) or "" when any
    priority: int | None  # 1 (highest) .. 4, None when unset
    roles: tuple[str, ...]  # role codes it applies to (SUP, LDSO, ...); () = every role
    location: str = ""  # file:line it was read from

    def applies_to(self, roles: frozenset[str] | set[str]) -> bool:
        return not self.roles or bool(roles & set(self.roles))
