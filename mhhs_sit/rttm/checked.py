"""Which roles a case checks at or from: what the qualification RTTM counts as evidence.

A case running in a cohort that holds a role proves nothing about that role's own system; only a
check made at it or from it does. A step checks at a role when it observes that role's deliveries
(``expect at: <role>``, the kind's ``listens_at``), or names the role's participant as the
recipient of a delivery it checks (``/_sim/wait`` ``recipient:``, a delivery's ``recipient``: the
system's answer to what the simulator delivered to it); it checks from a role when it names the
role's participant as the sender of the message it checks (``S1.senderDIPID`` in ``where``, in a
journal check, or ``from: <role>``). A step that acts as a role (a send) checks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mhhs_sit.definitions.model import TestCase
from mhhs_sit.definitions.steps import StepKind, StepRegistry

# ``{{ cohort.LDSO.dip_id }}`` (or its MPID), alone: the value names one participant of the cohort.
_PARTICIPANT = re.compile(r"^\{\{\s*cohort\.([A-Z][A-Z0-9_]*)\.(?:dip_id|mpid)\s*\}\}$")
# The last dotted segment of a key that names who sent or who received the checked message.
_PARTY_KEYS = frozenset({"senderdipid", "sendermpid", "recipient", "recipientdipid"})


def checked_roles(case: TestCase, kinds: StepRegistry[StepKind] | None = None) -> frozenset[str]:
    """The roles the case's steps check at or from (see the module's docstring)."""
    roles: set[str] = set()
    for step in case.steps:
        kind = kinds[step.kind] if kinds is not None and step.kind in kinds else None
        if kind is not None and kind.acts_as(step.spec) is not None:
            continue
        watched = kind.listens_at(step.spec) if kind is not None else None
        if watched:
            roles.add(watched)
        roles.update(_named_parties(step.spec))
    return frozenset(roles)


def _named_parties(value: object, key: str = "") -> Iterator[str]:
    """Roles named as a checked message's sender or recipient anywhere in a step's body."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _named_parties(v, str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _named_parties(v, key)
    elif isinstance(value, str):
        last = key.rsplit(".", 1)[-1].lower()
        if key == "from" and re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
            yield value
        elif last in _PARTY_KEYS and (found := _PARTICIPANT.match(value.strip())):
            yield found.group(1)
