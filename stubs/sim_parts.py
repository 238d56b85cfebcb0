"""What the route modules (control, service desk) use of the simulator's app, as a protocol: they
depend on it, not on the app that mounts them, so neither imports the other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from mhhs_stubs.auth import AuthRefusal
    from mhhs_stubs.config import SimParticipant
    from mhhs_stubs.dip import SimulatedDip
    from mhhs_stubs.responders import ParticipantSimulators


class SimulatorParts(Protocol):
    dip: SimulatedDip
    participants: ParticipantSimulators
    defects: list[str]

    async def _caller(self, request: Request) -> SimParticipant | AuthRefusal:
        """API key, signature and TLS client certificate: the participant, or why not."""
        ...

    async def _authenticate(self, request: Request, channel: str) -> tuple[SimParticipant | None, Response | None]:
        """The caller, or the refusal to answer with (journalled)."""
        ...
