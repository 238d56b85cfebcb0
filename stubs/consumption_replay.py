"""The DIP's historic consumption replay for advanced sites: IF-015 in, IF-016 out.

Confirmed (DIP API spec, interface catalogue): an advanced data service asks the DIP itself for an
MPAN's half-hourly history (IF-015 [ConsumptionReplay], recipient DIP, no CustomBlock), and the DIP
sends it back as IF-016, one message per published message, with the event and CustomBlock of the
original: IF-021 [ActivePower]/[ReactivePower], IF-014 [ActivePowerRejected], IF-013
[ActivePowerDefaulted]; with nothing to replay, IF-016 [ConsumptionRequestRejected] (no
CustomBlock).
Each replayed IF-016 carries the original sender's S1 as S2, the original's own response (R0) where
it had one (IF-014 [ActivePowerRejected]: its schema requires it) and a response (R1) ``A``; the
rejection carries R1 ``R`` and no S2 (its schema has none). Modelled: the history is what this DIP
published for the MPAN (its journal, bounded as the journal is); the DIP sends IF-016 as DIP ID
``0000000000`` (the spec names no DIP ID of its own); the rejection's text is this project's (no
code is published for it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message, field
from mhhs_stubs.config import SimParticipant

if TYPE_CHECKING:
    from mhhs_stubs.journal import Journal

REQUEST = "IF-015"
REPLAY = "IF-016"
REPLAYED = ("IF-021", "IF-014", "IF-013")  # the published interfaces IF-016 carries again
NOTHING = "ConsumptionRequestRejected"
ACCEPTED: Mapping[str, object] = {"responseCode": "A", "responseMessages": []}
REJECTED: Mapping[str, object] = {
    "responseCode": "R",
    "responseMessages": ["No half-hourly consumption history is held for the MPAN"],
}
DIP_SENDER = SimParticipant("0000000000", "DIP", "DIPX", "", False, "", "the DIP")
_REFS = ReferenceSource("dip")


def replay_batch(
    journal: Journal, request: Mapping[str, object], environment_tag: str, now: dt.datetime
) -> list[dict[str, object]]:
    """The IF-016 messages answering one accepted IF-015, oldest first, to its sender."""
    mpan = field(request, "M0", "MPANCore")
    history = [  # one pass over the journal, in publication order
        e for e in journal.query(kind="accepted", mpan=mpan, limit=journal.limit) if e.interface_id.upper() in REPLAYED
    ]

    def message(
        event: str, custom: object, original: Mapping[str, object], response: Mapping[str, object]
    ) -> dict[str, object]:
        kept = {k: original[k] for k in ("S1", "R0") if original.get(k) is not None}
        if "S1" in kept:
            kept["S2"] = kept.pop("S1")
        return {
            "payload": build_message(
                interface_id=REPLAY,
                event=event,
                sender=Sender(DIP_SENDER.dip_id, DIP_SENDER.role),
                environment_tag=environment_tag,
                refs=_REFS,
                custom=custom if isinstance(custom, Mapping) else None,
                custom_block=isinstance(custom, Mapping),
                recipients=[str(field(request, "S1", "senderDIPID"))],
                mpan=str(mpan),
                distributor_dip_id=field(request, "M0", "distributorDIPID"),
                gsp_group=field(request, "M0", "GSPGroupID"),
                correlation_id=field(request, "S1", "senderCorrelationID"),
                now=now,
                extra_common={"R1": response} | kept,
            )
        }

    batch = [
        message(
            str(field(e.egress, "S0", "eventCode") or "").strip("[]"),
            e.egress.get("CustomBlock"),
            _common(e.egress),
            ACCEPTED,
        )
        for e in history
    ]
    return batch or [message(NOTHING, None, {}, REJECTED)]  # the rejection has no S2


def _common(message: Mapping[str, object]) -> Mapping[str, object]:
    common = message.get("CommonBlock")
    return common if isinstance(common, Mapping) else {}
