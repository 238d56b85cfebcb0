"""Starting the local stubs an environment asks for, once per test session.

``stubs: embedded`` runs the DIP simulator and participant simulators in-process on a free
loopback port; ``stubs: container`` runs the same simulator in a container started through
testcontainers (``mhhs_sit.execution.containers``). Under xdist the controller starts it and the workers
share that one instance. Either way the framework signs its requests with the run's keys,
written to a private directory, and the simulator insists on the signatures, as the DIP does.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from requests import PreparedRequest
from requests.auth import AuthBase

from mhhs_sit.definitions.model import Cohort, Environment
from mhhs_sit.errors import ConfigError

if TYPE_CHECKING:
    from mhhs_stubs.config import DeliveryPolicy, SimulatorConfig

LOCAL_KINDS = ("embedded", "container")
CONTROL_KEY_FILE = "control.key"  # in the run's credentials directory, mode 0600
# mhhs_stubs.config.CONTROL_HEADER, not imported: the runtime would load the whole simulator
CONTROL_HEADER = "X-Sim-Control-Key"
# A simulator started outside the run (mhhs-sit qualify) hands its control key over in this variable.
CONTROL_KEY_ENV = "MHHS_SIM_CONTROL_KEY"


class RunningSimulator(Protocol):
    """What the session needs of a started simulator, embedded or in a container."""

    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


@dataclass
class LocalStubs:
    url: str
    api_keys: Mapping[str, str]
    handle: RunningSimulator
    credentials_dir: str | None = None  # ca.pem, each driven participant's <DIP ID>.pem/.key, control.key (0600)

    def stop(self) -> None:
        try:
            self.handle.stop()
        finally:
            if self.credentials_dir:
                shutil.rmtree(self.credentials_dir, ignore_errors=True)


class ControlKeyAuth(AuthBase):
    """Presents the run's control key on the local simulator's ``/_sim`` paths, and nowhere else:
    the framework's own calls (faults, journal) and a scenario's ``http`` steps to them."""

    def __init__(self, base_url: str, key: str):
        self.prefix = base_url.rstrip("/") + "/_sim"
        self.key = key

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        url = r.url or ""
        if url == self.prefix or url.startswith((self.prefix + "/", self.prefix + "?")):
            r.headers[CONTROL_HEADER] = self.key
        return r


def control_auth(credentials_dir: str | None, base_url: str) -> ControlKeyAuth | None:
    """The control key's auth when the run's credentials hold one (a local simulator's run), or
    the environment hands one over (``MHHS_SIM_CONTROL_KEY``: a simulator ``qualify`` started)."""
    path = Path(credentials_dir, CONTROL_KEY_FILE) if credentials_dir else None
    if path is None or not path.is_file():
        handed = os.environ.get(CONTROL_KEY_ENV)
        return ControlKeyAuth(base_url, handed) if handed else None
    return ControlKeyAuth(base_url, path.read_text(encoding="utf-8").strip())


def write_control_key(config: SimulatorConfig, directory: str | Path) -> None:
    """The control key beside the run's signing keys, readable by its owner only."""
    from mhhs_stubs.config_file import write_private

    write_private(Path(directory, CONTROL_KEY_FILE), config.control_key)


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
    environment: Environment,
    cohorts: Iterable[Cohort],
    *,
    dip_spec: str | None = None,
    signing: str = "required",
    tls: bool = False,
) -> SimulatorConfig:
    """What the simulator of ``environment`` serves: the cohorts' participants with fresh keys,
    the environment's faults, delivery policy and webhook hosts beyond loopback."""
    from mhhs_stubs import DeliveryPolicy, config_from_cohorts

    return config_from_cohorts(
        cohorts,
        environment_tag=environment.environment_tag,
        version=catalogue_version(environment),
        dip_spec=dip_spec,
        faults=environment.faults,
        fault_seed=environment.fault_seed,
        delivery=_delivery_policy(DeliveryPolicy(), environment.delivery),
        signing=signing,
        tls=tls,
        rules_dir=environment.rules_dir,
        webhook_hosts=environment.webhook_hosts,
    )


def _delivery_policy(default: DeliveryPolicy, values: Mapping[str, float]) -> DeliveryPolicy:
    """The environment's push retries over the simulator's defaults (the file schema checked the names)."""
    return dataclasses.replace(
        default,
        attempts=int(values.get("attempts", default.attempts)),
        backoff=values.get("backoff", default.backoff),
        factor=values.get("factor", default.factor),
        max_backoff=values.get("max_backoff", default.max_backoff),
        timeout=values.get("timeout", default.timeout),
    )


def start_simulator(kind: str, config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 0) -> RunningSimulator:
    """A started simulator of ``kind`` (embedded or container); the caller stops it."""
    if kind == "container":
        from mhhs_sit.execution.containers import start_container

        return start_container(config, host=host, port=port)
    from mhhs_stubs import EmbeddedSimulator

    return EmbeddedSimulator(config, host=host, port=port).start()


def driven_key_files(config: SimulatorConfig, directory: Path) -> SimulatorConfig:
    """The config naming the key files written for the participants the tests drive, so a
    simulator in another process trusts exactly the certificates this process signs with."""
    participants = {
        dip_id: dataclasses.replace(
            p, key_file=str(directory / f"{dip_id}.key"), cert_file=str(directory / f"{dip_id}.pem")
        )
        if not p.simulated
        else p
        for dip_id, p in config.participants.items()
    }
    return dataclasses.replace(config, participants=participants)


def start_stubs(
    environment: Environment, cohorts: Mapping[str, Cohort], *, dip_spec: str | None = None, tls: bool = False
) -> LocalStubs:
    """The environment's simulator, requiring signed requests; ``tls``: HTTPS with client certificates."""
    if environment.stubs not in LOCAL_KINDS:
        raise ConfigError(
            f"environment '{environment.name}' has stubs: {environment.stubs}; only 'embedded' (in-process), "
            "'container' (through testcontainers) and 'none' (a real DIP at dip_url) are available"
        )
    config = simulator_config(environment, cohorts.values(), dip_spec=dip_spec, tls=tls)
    credentials = tempfile.mkdtemp(prefix="mhhs-sit-credentials-")
    driven = [p.dip_id for p in config.participants.values() if not p.simulated]
    try:
        write_control_key(config, credentials)
        if environment.stubs == "container":
            config.credentials.write(credentials, driven)
            sim = start_simulator("container", driven_key_files(config, Path(credentials)))
            return LocalStubs(sim.url, config.api_keys, sim, credentials)
        from mhhs_stubs import EmbeddedSimulator

        embedded = EmbeddedSimulator(config)
        # RSA key generation (~50 ms a key) releases the GIL: it overlaps the server's start.
        with ThreadPoolExecutor(1, thread_name_prefix="mhhs-credentials") as pool:
            written = pool.submit(embedded.write_credentials, credentials)
            try:
                embedded.start()
                written.result()
            except BaseException:
                embedded.stop()
                raise
        return LocalStubs(embedded.url, config.api_keys, embedded, credentials)
    except BaseException:
        shutil.rmtree(credentials, ignore_errors=True)
        raise
