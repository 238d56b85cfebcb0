"""Who receives an accepted message: primary, secondary (by MPAN) and always recipients.

The catalogue says per interface how the DIP routes it (``role``: the recipients the sender
names; ``mpan``: the parties appointed to the message's MPAN; ``always``: fixed roles). The
simulator learns MPAN appointments the way the DIP's lookup would see them: from what the
registration service publishes (who it notifies of an appointment is who is appointed), from the
distributor named in block M0, and from explicit seeds for test data. When nothing resolves a
message that needs the lookup, the batch is refused with ``MSG1037`` (no MPAN) or ``MSG1038``
(no party for the MPAN), as the real DIP answers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mhhs_sit.dip.envelope import field as common_field
from mhhs_sit.dip.envelope import get_ci
from mhhs_stubs.appointments import FROM_DATE, INCOMING_FIELD, OUTGOING_FIELD, TO_DATE, Appointments, Scheduled
from mhhs_stubs.appointments import dated_parties as _dated
from mhhs_stubs.config import SimParticipant

if TYPE_CHECKING:
    from mhhs_sit.catalogue import Catalogue, Interface

# Registration-service publications that tell their recipients they are appointed to the MPAN
# (the incoming party from its effective-from date), and those that tell a party it is no longer
# appointed (from its effective-to date). Modelled on the catalogue's process names (IF-001 change
# of supplier, IF-036 appointment, IF-037 de-appointment).
APPOINTING = frozenset({"IF-001", "IF-002", "IF-036"})
DE_APPOINTING = frozenset({"IF-037"})


@dataclass(frozen=True)
class RouteProblem:
    code: str  # MSG1031 ... MSG1038
    text: str
    help: str
    pointer: str


@dataclass(frozen=True)
class Route:
    primary: tuple[str, ...] = ()
    secondary: tuple[str, ...] = ()
    always: tuple[str, ...] = ()
    problems: tuple[RouteProblem, ...] = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.primary, *self.secondary, *self.always)))

    def as_dict(self) -> dict[str, object]:
        return {
            "primaryRecipients": list(self.primary),
            "secondaryRecipients": list(self.secondary),
            "always": list(self.always),
            "recipients": list(self.recipients),
            "problems": [p.__dict__ for p in self.problems],
        }


class Router:
    def __init__(
        self,
        participants: Mapping[str, SimParticipant],
        catalogue: Catalogue | None,
        now: Callable[[], float] = time.time,
    ):
        self.participants = participants
        self.catalogue = catalogue
        self.appointments = Appointments()
        self.now = now  # the simulation clock (epoch seconds): future-dated appointments wait for it
        self.on_due: Callable[[list[Scheduled]], None] | None = None
        self._by_role: dict[str, list[SimParticipant]] = {}
        for p in participants.values():
            self._by_role.setdefault(p.role, []).append(p)

    def _interface(self, interface_id: str) -> Interface | None:
        if self.catalogue is None:
            return None
        try:
            return self.catalogue.interface(interface_id)
        except KeyError:
            return None

    def route(self, interface_id: str, payload: Mapping[str, object], caller: SimParticipant, index: int = 0) -> Route:
        """Resolve the recipients of one message; ``problems`` non-empty means refuse the batch."""
        self.bring_due()
        spec = self._interface(interface_id)
        problems: list[RouteProblem] = []
        pointer = f"/{index}/payload/CommonBlock/A0/primaryRecipients"
        named = _named(payload, pointer, problems)
        primary = self._primary(interface_id, spec, named, pointer, problems)
        if spec is None:
            return Route(tuple(dict.fromkeys(primary)), problems=tuple(problems))
        always = self._always(spec, caller)
        secondary: list[str] = []
        if "mpan" in spec.routing:
            mpan = common_field(payload, "M0", "MPANCore")
            secondary = self._appointed(spec, payload, mpan, caller, primary)
            if not primary and not secondary and not always and not problems:
                problems.append(_unresolved(interface_id, spec, mpan, index))
        elif not primary and "role" in spec.routing and not named:
            secondary = self._role_holders(spec, caller)
        return Route(tuple(dict.fromkeys(primary)), tuple(secondary), tuple(always), tuple(problems))

    def _primary(
        self, interface_id: str, spec: Interface | None, named: list[object], pointer: str, problems: list[RouteProblem]
    ) -> list[str]:
        """The named recipients that are participants in a receiving role; the others as problems."""
        receiving = frozenset(spec.recipients) if spec is not None else None
        primary: list[str] = []
        for i, dip_id in enumerate(named):
            party = self.participants.get(dip_id) if isinstance(dip_id, str) else None
            if party is None or not isinstance(dip_id, str):
                problems.append(
                    RouteProblem(
                        "MSG1031",
                        "Primary Recipient(s) DIP Participant ID Invalid",
                        f"primary recipient {dip_id!r} is not a DIP participant in this environment",
                        f"{pointer}/{i}",
                    )
                )
            elif receiving is not None and party.role not in receiving:
                problems.append(
                    RouteProblem(
                        "MSG1032",
                        "Primary Recipient(s) DIP Role ID Invalid",
                        f"{dip_id} is a {party.role}; {interface_id} goes to {', '.join(sorted(receiving))}",
                        f"{pointer}/{i}",
                    )
                )
            else:
                primary.append(dip_id)
        return primary

    def _appointed(
        self, spec: Interface, payload: Mapping[str, object], mpan: object, caller: SimParticipant, primary: list[str]
    ) -> list[str]:
        """MPAN routing: the parties appointed to the MPAN in the receiving roles, besides the named ones."""
        appointed = self.appointments.of(mpan) if isinstance(mpan, str) else {}
        distributor = common_field(payload, "M0", "distributorDIPID")
        if isinstance(distributor, str) and "LDSO" not in appointed:
            party = self.participants.get(distributor)
            if party is not None and party.role in ("LDSO", "UMSO"):
                appointed[party.role] = distributor
        secondary: list[str] = []
        for role in sorted(spec.recipients - spec.always):
            dip_id = appointed.get(role)
            if dip_id and dip_id != caller.dip_id and dip_id not in primary:
                secondary.append(dip_id)
        return secondary

    def _role_holders(self, spec: Interface, caller: SimParticipant) -> list[str]:
        """Role routing with no named recipient: every subscriber holding a receiving role
        in the sender's cohort (the catalogue's reading of role routing)."""
        return [
            p.dip_id
            for role in sorted(spec.recipients - spec.always)
            for p in self._by_role.get(role, [])
            if p.cohort == caller.cohort and p.dip_id != caller.dip_id
        ]

    def _always(self, spec: Interface, caller: SimParticipant) -> list[str]:
        """The sender's cohort's parties in the always roles: cohorts are separate markets here,
        so tests of one cohort never receive another's traffic (they run side by side)."""
        out: list[str] = []
        for role in sorted(spec.always):
            out += [
                p.dip_id for p in self._by_role.get(role, []) if p.cohort == caller.cohort and p.dip_id != caller.dip_id
            ]
        return out

    def learn(self, interface_id: str, payload: Mapping[str, object], sender: SimParticipant, route: Route) -> None:
        """Update appointments from a message that was just accepted: its distributor, and what a
        registration-service publication says about who is (no longer) appointed."""
        mpan = common_field(payload, "M0", "MPANCore")
        if not isinstance(mpan, str) or not mpan:
            return
        self._learn_distributor(mpan, common_field(payload, "M0", "distributorDIPID"))
        if sender.role != "REGS":
            return
        custom = get_ci(payload, "CustomBlock") or {}
        if interface_id.upper() in APPOINTING:
            incoming = dict(_dated(custom, INCOMING_FIELD, FROM_DATE))
            for dip_id in (*route.primary, *route.secondary):
                if dip_id not in incoming:
                    self._change(mpan, dip_id, None, appoint=True)
            for dip_id, when in incoming.items():
                self._change(mpan, dip_id, when, appoint=True)
        elif interface_id.upper() in DE_APPOINTING:
            for dip_id, when in _dated(custom, OUTGOING_FIELD, TO_DATE):
                self._change(mpan, dip_id, when, appoint=False)

    def bring_due(self) -> list[Scheduled]:
        """Put into effect every appointment whose effective date the clock has reached."""
        if not self.appointments.pending:  # the common case, on every message routed
            return []
        applied = self.appointments.due(self.now())
        if applied and self.on_due is not None:
            self.on_due(applied)
        return applied

    def _learn_distributor(self, mpan: str, distributor: object) -> None:
        """M0 names the MPAN's distributor: appointed unless one is known already."""
        party = self.participants.get(distributor) if isinstance(distributor, str) else None
        if party is not None and party.role in ("LDSO", "UMSO") and party.role not in self.appointments.of(mpan):
            self.appointments.appoint(mpan, party.role, party.dip_id)

    def _change(self, mpan: str, dip_id: str, when: float | None, *, appoint: bool) -> None:
        """Appoint (or de-appoint) now, or from ``when`` if that is still ahead on the clock."""
        p = self.participants.get(dip_id)
        if p is None or p.role == "REGS":
            return
        if when is not None and when > self.now():
            self.appointments.schedule(when, mpan, p.role, dip_id, appoint=appoint)
        elif appoint:
            self.appointments.appoint(mpan, p.role, dip_id)
        else:
            self.appointments.remove(mpan, p.role, dip_id)

    def seed(self, mpan: str, parties: Mapping[str, str]) -> list[str]:
        """Appoint parties by role for test data; returns problems (unknown DIP ID, wrong role)."""
        problems = []
        for role, dip_id in parties.items():
            p = self.participants.get(dip_id)
            if p is None:
                problems.append(f"{role}: {dip_id!r} is not a participant of this environment")
            elif p.role != role:
                problems.append(f"{role}: {dip_id} is a {p.role}, not a {role}")
            else:
                self.appointments.appoint(mpan, role, dip_id)
        return problems


def parse_seed(data: object) -> tuple[dict[str, dict[str, str]], list[str]]:
    """``{MPAN: {ROLE: DIP_ID}}`` from a control-API body, with every problem named."""
    problems: list[str] = []
    out: dict[str, dict[str, str]] = {}
    if not isinstance(data, Mapping):
        return {}, ['the body must be {"MPAN": {"ROLE": "DIP ID", ...}, ...}']
    for mpan, parties in data.items():
        if not (isinstance(mpan, str) and re.fullmatch(r"\d{13}", mpan)):
            problems.append(f"{mpan!r}: an MPAN core is 13 digits")
            continue
        if not isinstance(parties, Mapping) or not all(isinstance(v, str) for v in parties.values()):
            problems.append(f"{mpan}: give {{ROLE: DIP ID}} pairs")
            continue
        out[mpan] = dict(parties)
    return out, problems


__all__: Sequence[str] = ("Appointments", "Route", "RouteProblem", "Router", "parse_seed")


def _unresolved(interface_id: str, spec: Interface, mpan: object, index: int) -> RouteProblem:
    """Why an MPAN-routed message that names no recipient reaches nobody."""
    pointer = f"/{index}/payload/CommonBlock/M0/MPANCore"
    if not isinstance(mpan, str) or not mpan:
        return RouteProblem(
            "MSG1037",
            "Cannot Resolve Secondary Recipient(s) for Missing MPAN",
            f"{interface_id} is routed by MPAN and names no recipient, but M0.MPANCore is missing",
            pointer,
        )
    return RouteProblem(
        "MSG1038",
        "Cannot Resolve Secondary Recipient(s) for MPAN/Party/Event Combination",
        f"no party in a receiving role ({', '.join(sorted(spec.recipients))}) is appointed to "
        f"MPAN {mpan}; appoint one first (registration) or name primaryRecipients",
        pointer,
    )


def _named(payload: Mapping[str, object], pointer: str, problems: list[RouteProblem]) -> list[object]:
    """The message's A0.primaryRecipients (blank entries dropped); not a list is a problem."""
    a0 = get_ci(get_ci(payload, "CommonBlock") or {}, "A0") or {}
    named = a0.get("primaryRecipients") if isinstance(a0, Mapping) else None
    if named is not None and not isinstance(named, list):
        problems.append(RouteProblem("MSG1030", "Msg Addressing / Routing Error", "must be a list of DIP IDs", pointer))
        named = []
    return [d for d in (named or []) if d]
