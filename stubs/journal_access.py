"""Who reads which journal entries: the control client all of them, a participant only its own.

A participant (its X-API-Key, signed and over its certificate as on any DIP path) may read the
journal on ``GET /_sim/messages``, ``/_sim/messages/{id}``, ``/_sim/wait`` and ``/_sim/deliveries``
to see what it sent, why the DIP refused it and what was delivered to it, as a qualifying system
checks its own traffic. It sees an entry only when it sent it or the entry was delivered (or
queued) to it, and of that entry only its own deliveries: who else received a message, their
delivery attempts and the DIP's answer to another sender stay the control client's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from mhhs_stubs.journal import Delivery, Entry, Query

READABLE_PATHS = ("/_sim/messages", "/_sim/wait", "/_sim/deliveries")  # and /_sim/messages/{id}


def participant_may_read(method: str, path: str) -> bool:
    """Whether a participant's own key opens this ``/_sim`` request (GET on the journal's paths)."""
    return method in ("GET", "HEAD") and (path in READABLE_PATHS or path.startswith("/_sim/messages/"))


class NotYours(ValueError):
    """A participant's query names another participant; the message says what to ask instead."""


@dataclass(frozen=True)
class Reader:
    """The journal's reader: ``dip_id`` None is the control client, which sees every entry whole."""

    dip_id: str | None = None

    def narrowed(self, q: Query, *, role: str | None = None) -> Query:
        """The query limited to the reader's own entries; NotYours when it asks about another's."""
        me = self.dip_id
        if me is None:
            return q
        for name, value in (("participant", q.participant), ("recipient", q.recipient)):
            if value not in (None, "", me):
                raise NotYours(
                    f"{name}={value}: a participant reads only its own messages; give {name}={me} or leave it out"
                )
        if role:
            raise NotYours(
                f"role={role}: a participant waits only for its own deliveries; give recipient={me} or leave role out"
            )
        return dataclasses.replace(q, participant=me)

    def sees(self, entry: Entry) -> bool:
        me = self.dip_id
        return me is None or entry.sender == me or any(d.recipient == me for d in entry.deliveries)

    def deliveries(self, entry: Entry) -> list[Delivery]:
        """The entry's deliveries the reader may see: all, or only those to itself."""
        if self.dip_id is None:
            return entry.deliveries
        return [d for d in entry.deliveries if d.recipient == self.dip_id]

    def view(self, entry: Entry) -> dict[str, object]:
        """The entry as the reader may see it."""
        out = entry.as_dict()
        if self.dip_id is None:
            return out
        out["deliveries"] = [d.as_dict() for d in self.deliveries(entry)]
        out.pop("route", None)  # who else the DIP routed it to
        if entry.sender != self.dip_id:
            out["response"] = None  # the DIP's answer to the sender, not to this recipient
        return out
