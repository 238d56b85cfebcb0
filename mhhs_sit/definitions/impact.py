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

from mhhs_sit.catalogue.model import Change
from mhhs_sit.definitions.model import Scenario
from mhhs_sit.definitions.steps import StepKind, StepRegistry
from mhhs_sit.dip.envelope import unbracketed

ANY_USE = ("interface-added", "interface-removed", "event-added", "event-removed")
EVERY_SEND = ("field-added", "field-required")


def uses(body: object, change: Change) -> bool:
    """Whether a step body names the changed interface (and event, where the change names one)."""
    spec = body if isinstance(body, Mapping) else {}
    if str(spec.get("interface", "")).upper() != change.interface_id:
        return False
    if change.event_code is None:
        return True
    written = spec.get("event")
    return written is None or "{{" in str(written) or unbracketed(str(written)) == unbracketed(change.event_code)


def custom_parts(change: Change) -> list[str] | None:
    """The CustomBlock path a change reaches (``[]`` for a whole-interface change), None for others."""
    parts = [p for p in str(change.path).split("/") if p]
    if change.kind in ANY_USE:
        return []
    return parts[1:] if parts and parts[0] == "CustomBlock" else None


def reached(body: object, change: Change) -> tuple[Mapping[str, object], list[str]] | None:
    """A step body that uses the changed interface, with the CustomBlock path the change reaches in
    it (``[]`` for a whole-interface change); None when the change does not reach the step."""
    parts = custom_parts(change)
    if parts is None or not isinstance(body, Mapping) or not uses(body, change):
        return None
    return {str(k): v for k, v in body.items()}, parts


def writes(custom: object, parts: Sequence[str]) -> bool:
    """Whether a CustomBlock as a step gives it holds the changed field (a template may well)."""
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


def reads(body: Mapping[str, object], save: Mapping[str, str], field: str) -> bool:
    """Whether a step's checks or saves read the changed field."""
    where = body.get("where")
    texts = [*map(str, where if isinstance(where, Mapping) else {}), *map(str, save.values())]
    return any(field.lower() in t.lower() for t in texts)


def affected(change: Change, scenarios: Iterable[Scenario], kinds: StepRegistry[StepKind]) -> list[str]:
    """Ids of the cases ``change`` (a ``catalogue.Change``) affects, in file order."""
    if custom_parts(change) is None:
        return []
    return [
        case.id
        for sc in scenarios
        for case in sc.cases
        if any(kinds[step.kind].affected_by(step.spec, step.save, change) for step in case.steps if step.kind in kinds)
    ]
