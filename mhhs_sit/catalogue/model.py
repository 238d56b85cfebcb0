"""Plain values the catalogue hands out: versions, roles, interfaces, violations, changes.

They are frozen so the simulator, the step engine and reports can share them freely; behaviour
lives in :mod:`mhhs_sit.catalogue.catalogue` and the modules it delegates to.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from mhhs_sit.errors import MhhsSitError

Source = Literal["published", "modelled"]
Routing = Literal["role", "mpan", "always"]


@dataclass(frozen=True)
class Version:
    """One catalogue version: a DIP spec version, also known by its interim release (IR) name."""

    name: str  # canonical, e.g. "1.8.2"
    aliases: tuple[str, ...]  # e.g. ("IR8.2",)
    released: str  # ISO date of the spec release the version follows
    source: Source
    summary: str

    @property
    def label(self) -> str:
        """``1.8.2 (IR8.2)``: the canonical name with its aliases, for messages and tables."""
        return f"{self.name} ({', '.join(self.aliases)})" if self.aliases else self.name


@dataclass(frozen=True)
class Role:
    """A DIP role code (``SUP``, ``REGS``…) and how sure we are that the DIP uses it."""

    code: str
    name: str
    evidence: str  # "published", "third-party" or "modelled"


@dataclass(frozen=True)
class Interface:
    """One DIP message channel (``IF-nnn`` or ``REP-nnn``) as the catalogue describes it.

    ``routing`` says how the DIP finds recipients: ``role`` = the participants the sender names in
    A0.primaryRecipients (or, when it names none, every subscriber holding a recipient role);
    ``mpan`` = the recipient-role participants associated with the message's MPAN (registered
    supplier, appointed services, the distributor); ``always`` = the roles in ``always`` receive
    every message on the channel. Routing and ``process`` are the project's modelling throughout.
    """

    id: str
    publication_id: str
    name: str  # the official DIP channel name
    catalogue_name: str  # the name in the MHHS interface catalogue (DES138), via a transcription
    process: str
    senders: frozenset[str]
    recipients: frozenset[str]
    always: frozenset[str]
    routing: frozenset[str]
    schema_version: str  # S0.schemaVersion, e.g. "011"
    source: Source  # of the sender/recipient/event-code facts
    detail: Literal["full", "envelope-only"]  # how far the project's schema goes
    versions: tuple[str, ...]  # canonical catalogue versions that have this interface
    notes: str = ""
    event_table: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), repr=False)
    resolve: Callable[[str], str] = field(default=str, repr=False, compare=False)
    without_custom_block: frozenset[str] = frozenset()  # event codes whose messages carry no CustomBlock

    def has_custom_block(self, event_code: str) -> bool:
        """Whether messages of ``event_code`` (brackets or not) carry a CustomBlock at all."""
        return event_code.strip("[]") not in self.without_custom_block

    def event_codes(self, version: str) -> tuple[str, ...]:
        """Event codes without brackets (``DSApp``) in ``version`` (none where it is absent)."""
        canonical = self.resolve(version)
        for name, codes in self.event_table:
            if name == canonical:
                return codes
        return ()

    def all_event_codes(self) -> tuple[str, ...]:
        """Every event code any version has, in first-seen order (newest version first)."""
        seen: dict[str, None] = {}
        for _, codes in reversed(self.event_table):
            seen.update(dict.fromkeys(codes))
        return tuple(seen)


@dataclass(frozen=True, order=True)
class Violation:
    """One way a message breaks its schema, located by a JSON pointer into the payload."""

    pointer: str  # e.g. "/CommonBlock/S1/senderTimestamp"; "" for the whole payload
    keyword: str  # the JSON Schema keyword that failed: "required", "pattern", "enum"…
    message: str  # a sentence naming the field and the expected form

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


MISSING_INTERFACE_ID = Violation(
    "/CommonBlock/S0/interfaceID",
    "required",
    "CommonBlock.S0.interfaceID is missing, so the message's interface cannot be known; expected an "
    "interface id such as IF-031.",
)

ChangeKind = Literal[
    "interface-added",
    "interface-removed",
    "event-added",
    "event-removed",
    "field-added",
    "field-removed",
    "field-renamed",
    "field-required",
    "field-optional",
    "constraint-changed",
]


@dataclass(frozen=True)
class Change:
    """One difference between two catalogue versions, as data (reports derive "cases affected").

    ``path`` is a JSON pointer into the payload (``*`` stands for any array index); ``event_code``
    is None when the change concerns every event code of the interface. For
    ``constraint-changed`` ``before``/``after`` map each changed keyword to its value.
    """

    interface_id: str
    event_code: str | None
    kind: ChangeKind
    path: str
    before: object
    after: object
    description: str
    source: str = ""  # "published", "modelled" or "" when no recorded change explains it


class UnknownInterfaceError(KeyError, MhhsSitError):
    """An interface id the catalogue does not know; the message suggests the nearest ones."""

    def __init__(self, wanted: str, known: Iterable[str]):
        self.wanted = wanted
        known = list(known)
        close = difflib.get_close_matches(wanted.upper(), known, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        self.text = f"unknown interface {wanted!r}{hint} ({len(known)} interfaces are known)"
        super().__init__(self.text)

    def __str__(self) -> str:  # KeyError would quote the whole sentence
        return self.text
