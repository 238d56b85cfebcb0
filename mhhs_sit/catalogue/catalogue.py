"""The catalogue: interfaces, versions, message schemas, validation and version diffs."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from mhhs_sit.catalogue.casefold import lookup, sender_path
from mhhs_sit.catalogue.diff import diff_states
from mhhs_sit.catalogue.history import ChangeOp, VersionState
from mhhs_sit.catalogue.messageschema import EnvelopeSpec, bracketed, message_schema
from mhhs_sit.catalogue.model import (
    MISSING_INTERFACE_ID,
    Change,
    Interface,
    Role,
    UnknownInterfaceError,
    Version,
    Violation,
)
from mhhs_sit.catalogue.validation import EventSchema, InterfaceValidator
from mhhs_sit.catalogue.versions import VersionTable
from mhhs_sit.catalogue.violations import pointer

_ID = re.compile(r"^(IF|REP|PUB)-?0*(\d{1,3})([A-Z]?)$")


def normal_interface_id(text: str) -> str:
    """``if-31``, ``IF031``, ``PUB-031`` -> ``IF-031``; unrecognisable text comes back unchanged."""
    match = _ID.match(text.strip().upper()) if isinstance(text, str) else None
    if not match:
        return text
    prefix, number, suffix = match.groups()
    return f"{'REP' if prefix == 'REP' else 'IF'}-{int(number):03d}{suffix}"


class Catalogue:
    """The project's interface catalogue; build it with :func:`load_catalogue`."""

    def __init__(
        self,
        *,
        table: VersionTable,
        roles: Mapping[str, Role],
        interfaces: tuple[Interface, ...],
        states: Mapping[str, VersionState],
        envelopes: Mapping[str, EnvelopeSpec],
        ops: tuple[ChangeOp, ...],
        directory: Path,
    ):
        self._table = table
        self._roles = dict(roles)
        self._interfaces = {i.id: i for i in interfaces}
        self._states = dict(states)
        self._envelopes = dict(envelopes)
        self._ops = ops
        self.directory = directory
        self._validators: dict[tuple[str, str], InterfaceValidator] = {}
        self._lock = threading.Lock()

    # -- versions -----------------------------------------------------------------------------

    @property
    def versions(self) -> tuple[str, ...]:
        """Canonical version names, oldest first."""
        return self._table.names

    @property
    def default_version(self) -> str:
        return self._table.default

    def is_before(self, version: str, other: str) -> bool:
        """Whether ``version`` is an older catalogue version than ``other`` (names or aliases)."""
        names = self.versions
        return names.index(self.resolve_version(version)) < names.index(self.resolve_version(other))

    def resolve_version(self, name: str) -> str:
        """The canonical name of ``name`` (an IR alias or spec version); ConfigError if unknown."""
        return self._table.resolve(name)

    def version(self, name: str) -> Version:
        """Details of one version: aliases, release date, whether it is published or modelled."""
        return self._table.get(name)

    # -- interfaces and roles -----------------------------------------------------------------

    @property
    def interfaces(self) -> tuple[Interface, ...]:
        return tuple(self._interfaces.values())

    @property
    def roles(self) -> Mapping[str, Role]:
        return dict(self._roles)

    def interface(self, interface_id: str) -> Interface:
        """The interface ``IF-031`` (``if-31`` and ``PUB-031`` work too)."""
        found = self._interfaces.get(interface_id) or self._interfaces.get(normal_interface_id(interface_id))
        if found is None:
            raise UnknownInterfaceError(str(interface_id), self._interfaces)
        return found

    # -- schemas and validation ---------------------------------------------------------------

    def schema(self, interface_id: str, event_code: str, *, version: str) -> dict[str, Any]:  # Any: read by the CLI
        """The self-contained JSON Schema (2020-12) for messages of one interface and event code."""
        canonical = self.resolve_version(version)
        interface = self.interface(interface_id)
        code = event_code.strip("[]")
        if code not in interface.event_codes(canonical):
            raise KeyError(f"{interface.id} has no event code {code!r} in catalogue version {canonical}")
        return message_schema(self._states[canonical].store, self._envelopes[interface.id], code)

    def validate(
        self,
        payload: object,
        *,
        version: str,
        interface_id: str | None = None,
        exact_names: bool = False,
    ) -> list[Violation]:
        """Every way ``payload`` (``{"CommonBlock": …, "CustomBlock": …}``) breaks the catalogue.

        The interface is ``interface_id`` or else the payload's S0.interfaceID; field names are
        matched case-insensitively, as the DIP does, unless ``exact_names``. An empty list
        means the message is valid; an interface the version lacks is itself a violation.
        """
        canonical = self.resolve_version(version)
        if interface_id is None:
            found = _s0(payload, "interfaceID", exact_names)
            if not isinstance(found, str):
                return [MISSING_INTERFACE_ID]
            iid = found if found in self._interfaces else normal_interface_id(found)
        else:
            iid = normal_interface_id(interface_id)
        if iid not in self._states[canonical].events:
            where = pointer(sender_path(payload, ("CommonBlock", "S0", "interfaceID")))
            known = self._interfaces.get(iid)
            also = f" (it exists in {', '.join(known.versions)})" if known else ""
            label = self.version(canonical).label
            return [Violation(where, "enum", f"{iid} is not an interface of catalogue version {label}{also}.")]
        return self._validator(canonical, iid).validate(payload, exact_names=exact_names)

    def _validator(self, version: str, interface_id: str) -> InterfaceValidator:
        key = (version, interface_id)
        validator = self._validators.get(key)
        if validator is None:
            with self._lock:
                validator = self._validators.get(key)
                if validator is None:
                    state = self._states[version]
                    spec = self._envelopes[interface_id]
                    events = [
                        EventSchema((bracketed(code),), message_schema(state.store, spec, code), code)
                        for code in state.events[interface_id]
                    ]
                    label = f"{interface_id} in catalogue version {self.version(version).label}"
                    validator = InterfaceValidator(label, events, Draft202012Validator)
                    self._validators[key] = validator
        return validator

    # -- versions compared --------------------------------------------------------------------

    def diff(self, a: str, b: str) -> list[Change]:
        """What changes from version ``a`` to version ``b``, interface by interface."""
        first, second = self.resolve_version(a), self.resolve_version(b)
        low, high = sorted((self._table.index(first), self._table.index(second)))
        between = {v for v in self.versions[low + 1 : high + 1]}
        chain = tuple(op for op in self._ops if op.version in between)
        return diff_states(
            self._states[first],
            self._states[second],
            envelopes=self._envelopes,
            interfaces=self._interfaces,
            chain=chain,
            forward=self._table.index(first) <= self._table.index(second),
        )


def _s0(payload: object, name: str, exact_names: bool) -> object:
    node = payload
    for key in ("CommonBlock", "S0", name):
        node = (node.get(key) if isinstance(node, dict) else None) if exact_names else lookup(node, key)
    return node
