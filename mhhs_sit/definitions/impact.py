"""Which test cases a catalogue change affects, so an interim release's impact is known up front.

A case is affected when one of its steps sends or expects the changed interface (and event,
where the change names one) and the change reaches what the case writes or reads:

- an interface or event code added/removed: any step that uses it;
- a CustomBlock field added or made required: every ``send`` of it (its messages must now
  carry the field);
- a CustomBlock field removed, renamed or constrained: a ``send`` whose custom block writes it
  (or builds that block from a template, which cannot be checked before it runs), and an
  ``expect`` whose ``where``/``save`` reads it;
- CommonBlock changes: none — the framework fills the common blocks itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mhhs_sit.catalogue.model import Change
from mhhs_sit.definitions.model import Scenario, Step
from mhhs_sit.dip.envelope import unbracketed

ANY_USE = ("interface-added", "interface-removed", "event-added", "event-removed")
EVERY_SEND = ("field-added", "field-required")


def _uses(step: Step, interface_id: str, event: str | None) -> bool:
    spec = step.spec if isinstance(step.spec, Mapping) else {}
    if step.kind not in ("send", "expect") or str(spec.get("interface", "")).upper() != interface_id:
        return False
    if event is None:
        return True
    written = spec.get("event")
    return written is None or "{{" in str(written) or unbracketed(str(written)) == unbracketed(event)


def _writes(custom: object, parts: Sequence[str]) -> bool:
    node = custom
    for part in parts:
        if isinstance(node, str) and "{{" in node:
            return True  # the block comes from a template: it may well contain the field
        if not isinstance(node, Mapping):
            return False
        key = next((k for k in node if str(k).lower() == part.lower()), None)
        if key is None:
            return part == "*" and bool(node)
        node = node[key]
    return True


def _reads(spec: Mapping[str, Any], save: Mapping[str, str], field: str) -> bool:
    texts = [*map(str, (spec.get("where") or {})), *map(str, save.values())]
    return any(field.lower() in t.lower() for t in texts)


def affected(change: Change, scenarios: Iterable[Scenario]) -> list[str]:
    """Ids of the cases ``change`` (a ``catalogue.Change``) affects, in file order."""
    parts = [p for p in str(change.path).split("/") if p]
    if change.kind not in ANY_USE and (not parts or parts[0] != "CustomBlock"):
        return []
    return [
        case.id for sc in scenarios for case in sc.cases if any(_step_hit(step, change, parts) for step in case.steps)
    ]


def _step_hit(step: Step, change: Change, parts: list[str]) -> bool:
    """Whether ``step`` uses what ``change`` changes: its interface and event, and the part changed."""
    if not _uses(step, change.interface_id, change.event_code):
        return False
    spec = step.spec
    return bool(
        change.kind in ANY_USE
        or (step.kind == "send" and change.kind in EVERY_SEND)
        or (step.kind == "send" and _writes(spec.get("custom") or {}, parts[1:]))
        or (step.kind == "expect" and _reads(spec, step.save, parts[-1]))
    )
