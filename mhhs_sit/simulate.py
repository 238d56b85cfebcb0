"""Starting the local stubs an environment asks for, once per test session.

``stubs: embedded`` runs the DIP simulator and participant simulators in-process on a free
loopback port; ``stubs: container`` runs the same simulator in a container started through
testcontainers (``mhhs_sit.containers``). Under xdist the controller starts it and the workers
share that one instance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mhhs_sit.errors import ConfigError
from mhhs_sit.model import Cohort, Environment

if TYPE_CHECKING:
    from mhhs_stubs.config import SimulatorConfig

LOCAL_KINDS = ("embedded", "container")


@dataclass
class LocalStubs:
    url: str
    api_keys: Mapping[str, str]
    handle: Any  # EmbeddedSimulator or ContainerSimulator: both have ``url``, ``config`` and ``stop()``

    def stop(self) -> None:
        self.handle.stop()


def catalogue_version(environment: Environment) -> str | None:
    """The interface catalogue version the environment's interim release stands for."""
    if not environment.ir:
        return None
    try:
        from mhhs_sit.catalogue import load_catalogue
    except ImportError:  # pragma: no cover
        return None
    return load_catalogue().resolve_version(environment.ir)


def simulator_config(
    environment: Environment, cohorts: Iterable[Cohort], *, dip_spec: str | None = None
) -> SimulatorConfig:
    """What the simulator of ``environment`` serves: the cohorts' participants with fresh keys."""
    from mhhs_stubs import config_from_cohorts

    return config_from_cohorts(
        cohorts,
        environment_tag=environment.environment_tag,
        version=catalogue_version(environment),
        dip_spec=dip_spec,
    )


def start_simulator(kind: str, config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 0) -> Any:
    """A started simulator of ``kind`` (embedded or container); the caller stops it."""
    if kind == "container":
        from mhhs_sit.containers import start_container

        return start_container(config, host=host, port=port)
    from mhhs_stubs import EmbeddedSimulator

    return EmbeddedSimulator(config, host=host, port=port).start()


def start_stubs(environment: Environment, cohorts: Mapping[str, Cohort], *, dip_spec: str | None = None) -> LocalStubs:
    if environment.stubs not in LOCAL_KINDS:
        raise ConfigError(
            f"environment '{environment.name}' has stubs: {environment.stubs}; only 'embedded' (in-process), "
            "'container' (through testcontainers) and 'none' (a real DIP at dip_url) are available"
        )
    config = simulator_config(environment, cohorts.values(), dip_spec=dip_spec)
    sim = start_simulator(environment.stubs, config)
    return LocalStubs(sim.url, config.api_keys, sim)
