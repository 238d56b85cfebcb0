"""Starting the local stubs an environment asks for, once per test session.

``stubs: embedded`` runs the DIP simulator and participant simulators in-process on a free
loopback port. Under xdist the controller starts it and the workers share that one instance.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mhhs_sit.errors import ConfigError
from mhhs_sit.model import Cohort, Environment


@dataclass
class LocalStubs:
    url: str
    api_keys: Mapping[str, str]
    handle: Any  # EmbeddedSimulator
    credentials_dir: str | None = None  # ca.pem and each driven participant's <DIP ID>.pem/.key (0600)

    def stop(self) -> None:
        self.handle.stop()
        if self.credentials_dir:
            shutil.rmtree(self.credentials_dir, ignore_errors=True)


def start_stubs(
    environment: Environment, cohorts: Mapping[str, Cohort], *, dip_spec: str | None = None, tls: bool = False
) -> LocalStubs:
    """The embedded simulator, requiring signed requests; ``tls``: HTTPS with client certificates."""
    if environment.stubs != "embedded":
        raise ConfigError(
            f"environment '{environment.name}' has stubs: {environment.stubs}; only "
            "'embedded' (in-process) and 'none' (a real DIP at dip_url) are available"
        )
    from mhhs_stubs import DeliveryPolicy, EmbeddedSimulator, config_from_cohorts

    version = None
    if environment.ir:
        try:
            from mhhs_sit.catalogue import load_catalogue

            version = load_catalogue().resolve_version(environment.ir)
        except ImportError:  # pragma: no cover
            version = None
    # The framework's DIP client signs every request, so the simulator insists on it, as the DIP does.
    config = config_from_cohorts(
        cohorts.values(),
        environment_tag=environment.environment_tag,
        version=version,
        dip_spec=dip_spec,
        faults=environment.faults,
        fault_seed=environment.fault_seed,
        delivery=DeliveryPolicy(**environment.delivery),
        signing="required",
        tls=tls,
    )
    sim = EmbeddedSimulator(config)
    credentials = tempfile.mkdtemp(prefix="mhhs-sit-credentials-")
    # RSA key generation (~50 ms a key) releases the GIL: it overlaps the server's start.
    with ThreadPoolExecutor(1, thread_name_prefix="mhhs-credentials") as pool:
        written = pool.submit(sim.write_credentials, credentials)
        try:
            sim.start()
            written.result()
        except BaseException:
            sim.stop()
            shutil.rmtree(credentials, ignore_errors=True)
            raise
    return LocalStubs(sim.url, config.api_keys, sim, credentials)
