"""Where a load step's Locust runs: alone, with workers on this machine, or spread over hosts.

Locust's distributed mode is the engine. On one machine ``--locust-workers N`` forks N workers
beside the master. Over hosts, one ``mhhs-sit load --locust-expect-workers N`` runs each load step's
master, bound to ``--locust-bind HOST[:PORT]``, and waits for N workers before it starts; every
other host runs the same load cases with ``mhhs-sit load --locust-master HOST[:PORT]``, where each
load step starts Locust workers attached to that master. Each host builds the job from its own
project and environment (its URL, API keys and certificates stay on it: nothing secret crosses
Locust's channel); the master's run judges the figures. ``mhhs-sit load`` hands the choice to the
load steps in the variables below (pytest runs the steps in the same process).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

WORKERS_VARIABLE = "MHHS_SIT_LOCUST_WORKERS"
MASTER_VARIABLE = "MHHS_SIT_LOCUST_MASTER"
EXPECT_VARIABLE = "MHHS_SIT_LOCUST_EXPECT_WORKERS"
BIND_VARIABLE = "MHHS_SIT_LOCUST_BIND"
DEFAULT_PORT = 5557  # Locust's own
WAIT_S = 120  # how long a master waits for its remote workers, and a worker for its master
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$")


@dataclass(frozen=True)
class Address:
    """A Locust master's host and port."""

    host: str
    port: int = DEFAULT_PORT

    @classmethod
    def parse(cls, text: str) -> Address:
        """``HOST[:PORT]`` (an IPv6 address in brackets); ValueError says what is wrong."""
        host, colon, port = text.strip().rpartition(":")
        if not colon or not port.isdigit() or (":" in host and not host.startswith("[")):
            host, port = text.strip(), str(DEFAULT_PORT)
        if not _HOST.match(host):
            raise ValueError(f"must be HOST or HOST:PORT (such as 10.0.0.5:5557, [::1]:5557), not {text!r}")
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"the port must be between 1 and 65535, not {port} (in {text!r})")
        return cls(host.strip("[]"), int(port))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Spread:
    """Locust over hosts: attached to a remote ``master``, or a master waiting for ``expect`` remote
    workers on ``bind``; neither: on this machine only."""

    master: Address | None = None
    expect: int = 0
    bind: Address | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str] = os.environ) -> Spread:
        master = env.get(MASTER_VARIABLE)
        bind = env.get(BIND_VARIABLE)
        return cls(
            master=Address.parse(master) if master else None,
            expect=int(env.get(EXPECT_VARIABLE) or 0),
            bind=Address.parse(bind) if bind else None,
        )

    def environment(self) -> dict[str, str]:
        """The variables that hand this choice to the load steps."""
        found = {MASTER_VARIABLE: self.master, EXPECT_VARIABLE: self.expect or None, BIND_VARIABLE: self.bind}
        return {name: str(value) for name, value in found.items() if value is not None}

    def master_args(self) -> list[str]:
        """Locust's arguments for the master of a step: where it listens and the workers it awaits
        (on loopback when they are this machine's, on every interface by default when remote)."""
        if not self.expect:
            return ["--master-bind-host", "127.0.0.1"]
        bind = self.bind or Address("*")
        return ["--master", "--expect-workers", str(self.expect), "--expect-workers-max-wait", str(WAIT_S),
                "--master-bind-host", bind.host, "--master-bind-port", str(bind.port)]  # fmt: skip

    def worker_args(self) -> list[str]:
        """Locust's arguments for workers attached to the remote master."""
        assert self.master is not None
        return ["--worker", "--master-host", self.master.host, "--master-port", str(self.master.port)]
