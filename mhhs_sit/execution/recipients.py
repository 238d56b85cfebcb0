"""Who a participant addresses: the primary recipients a sender sets in block A0.

The interface catalogue says which roles receive an interface; within a cohort those roles are
played by known participants, so a scenario rarely needs to name recipients itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from mhhs_sit.definitions.model import Cohort
from mhhs_sit.errors import StepDefinitionError


def recipient_roles(interface_id: str) -> frozenset[str] | None:
    """Roles that receive ``interface_id`` per the catalogue, or None when it is unknown."""
    try:
        from mhhs_sit.catalogue import load_catalogue

        return frozenset(load_catalogue().interface(interface_id).recipients)
    except (ImportError, KeyError):
        return None


def primary_recipients(cohort: Cohort, interface_id: str, to: Sequence[str] | None, *, sender_role: str) -> list[str]:
    if to:
        out = []
        for target in to:
            if target in cohort.participants:
                out.append(cohort.participants[target].dip_id)
            elif len(target) == 10:
                out.append(target)
            else:
                raise StepDefinitionError(
                    f"'to: {target}' is neither a role of cohort {cohort.id} "
                    f"({', '.join(sorted(cohort.participants))}) nor a 10-character DIP ID"
                )
        return out
    roles = recipient_roles(interface_id)
    if roles is None:
        return []
    return [p.dip_id for role, p in sorted(cohort.participants.items()) if role in roles and role != sender_role]
