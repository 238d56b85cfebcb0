"""The run's one DIP: the environment's real DIP, or the local simulator the controller started.

A participant's webhook points at one process, so a run has one simulator, started by the
controller (or a serial run) on first need; a start that failed is remembered and re-raised, so
every case says why instead of trying again. Workers connect to the controller's simulator, or
report the controller's failure: they never start one of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mhhs_sit.collection.workers import WorkerInput
from mhhs_sit.definitions.model import Cohort, Environment
from mhhs_sit.errors import EnvironmentBroken, MhhsSitError

if TYPE_CHECKING:
    from mhhs_sit.execution.local_stubs import LocalStubs


@dataclass(frozen=True)
class DipEndpoint:
    """Where cases send, the API keys issued for the run and the client certificates' directory."""

    url: str
    api_keys: dict[str, str] = field(default_factory=dict)
    credentials_dir: str | None = None


@dataclass
class SharedSimulator:
    """The local simulator of this process, started at most once."""

    stubs: LocalStubs | None = None
    error: MhhsSitError | None = None

    def ensure(self, env: Environment | None, cohorts: Mapping[str, Cohort], dip_spec: str | None) -> LocalStubs | None:
        """Start the simulator if the environment wants one and it is not running yet."""
        if env is None or env.stubs == "none" or env.dip_url or self.stubs is not None:
            return self.stubs
        if self.error is not None:  # failed once: say so for every case, don't retry
            raise self.error
        from mhhs_sit.execution.local_stubs import start_stubs

        try:
            self.stubs = start_stubs(env, cohorts, dip_spec=dip_spec, tls=env.tls)
        except MhhsSitError as exc:
            self.error = exc
            raise
        return self.stubs

    def stop(self) -> None:
        if self.stubs is not None:
            self.stubs.stop()
            self.stubs = None


def controller_endpoint(winput: WorkerInput) -> DipEndpoint | None:
    """The DIP the controller handed over; raises its simulator's failure; None: not a worker of one."""
    if "mhhs_stub_error" in winput:
        raise EnvironmentBroken(
            f"the local simulator did not start in the xdist controller: {winput['mhhs_stub_error']}"
        )
    if "mhhs_dip_url" not in winput:
        return None
    keys = dict(winput.get("mhhs_api_keys") or {})
    return DipEndpoint(winput["mhhs_dip_url"], keys, winput.get("mhhs_credentials_dir"))
