"""What a worker needs to run cases: the DIP client, its webhook receiver, ids and data pools.

One ``Runtime`` per pytest process (controller or xdist worker), created on first use and closed
at the end of the session. Secrets are looked up here, at the last moment, and never stored in
records.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mhhs_sit.definitions.model import Cohort, Environment, Participant
from mhhs_sit.dip.client import DipClient
from mhhs_sit.dip.envelope import ReferenceSource
from mhhs_sit.dip.receiver import Receiver
from mhhs_sit.dip.signing import Signer
from mhhs_sit.errors import ConfigError, EnvironmentBroken
from mhhs_sit.execution.local_stubs import control_auth

if TYPE_CHECKING:
    from mhhs_sit.data import CohortPool


@dataclass
class Runtime:
    environment: Environment
    dip_url: str
    cohorts: Mapping[str, Cohort]
    run_id: str
    seed: int = 0
    worker: int = 0
    workers: int = 1
    issued_keys: Mapping[str, str] = field(default_factory=dict)  # dip_id -> key, local simulator only
    version: str | None = None  # catalogue version messages are checked against
    dip_spec: str | None = None  # or an official DIP spec, when one is given
    credentials_dir: str | None = None  # local simulator: the run's ca.pem and <DIP ID>.pem/.key
    _signers: dict[str, Signer | None] = field(default_factory=dict)
    _clients: list[DipClient] = field(default_factory=list)
    _local: threading.local = field(default_factory=threading.local)
    _receiver: Receiver | None = None
    _webhooks: set[tuple[str, str]] = field(default_factory=set)
    _pools: dict[str, CohortPool] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    refs: ReferenceSource = field(default_factory=ReferenceSource)

    # -- credentials -------------------------------------------------------------------

    def api_key_for(self, dip_id: str) -> str | None:
        if dip_id in self.issued_keys:
            return self.issued_keys[dip_id]
        pattern = self.environment.auth.api_key_env
        if not pattern:
            return None
        participant = self._participant(dip_id)
        fields = {
            "dip_id": dip_id,
            "role": participant.role if participant else "",
            "mpid": participant.mpid if participant else "",
        }
        var = pattern.format(**fields)
        value = os.environ.get(var)
        if value is None:
            raise ConfigError(
                f"no API key for DIP ID {dip_id}: set the environment variable {var} "
                f"(from auth.api_key_env in {self.environment.location.file})"
            )
        return value

    def signer_for(self, dip_id: str) -> Signer | None:
        """Who signs requests sent as ``dip_id``: its key from the local simulator's credentials, or,
        on a real DIP, the client certificate and key (the DIP issues one "Signing/mTLS" certificate)."""
        with self._lock:
            if dip_id not in self._signers:
                self._signers[dip_id] = self._load_signer(dip_id)
            return self._signers[dip_id]

    def tls_files(self, dip_id: str) -> tuple[str, str] | None:
        """The participant's (certificate, key) for signing and mutual TLS: its own in the local
        simulator's credentials, else the environment's (the DIP issues one "Signing/mTLS" certificate)."""
        files = self.cert_for(dip_id)
        if files is None:
            auth = self.environment.auth
            if not (auth.client_cert and auth.client_key):
                return None
            files = (_path_setting(auth.client_cert), _path_setting(auth.client_key))
        return files

    def _load_signer(self, dip_id: str) -> Signer | None:
        files = self.tls_files(dip_id)
        if files is None:
            return None
        cert, key = files
        try:
            return Signer.from_pem(Path(key).read_bytes(), Path(cert).read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"cannot sign requests as {dip_id} with {key} and {cert}: {exc}") from exc

    @functools.cached_property
    def _any_driven_dip_id(self) -> str | None:
        """A participant whose key the run wrote (the directory is fixed for the run: read once)."""
        keys = sorted(Path(self.credentials_dir or ".").glob("*.key"))
        return next((k.stem for k in keys if k.stem not in ("server", "dip")), None)

    def cert_for(self, dip_id: str | None) -> tuple[str, str] | None:
        """The participant's own TLS client certificate in the local simulator's credentials.

        Without a participant (the simulator's control API, as an ``http`` step calls it), any
        driven participant's certificate opens the connection: over mutual TLS nothing connects
        without one, and the control API does not act as anybody."""
        if not self.credentials_dir:
            return None
        if dip_id is None:
            dip_id = self._any_driven_dip_id
            if dip_id is None:
                return None
        cert, key = Path(self.credentials_dir, f"{dip_id}.pem"), Path(self.credentials_dir, f"{dip_id}.key")
        return (str(cert), str(key)) if cert.is_file() and key.is_file() else None

    def _participant(self, dip_id: str) -> Participant | None:
        for cohort in self.cohorts.values():
            for p in cohort.participants.values():
                if p.dip_id == dip_id:
                    return p
        return None

    # -- lazily built services -------------------------------------------------------------

    @property
    def client(self) -> DipClient:
        """This thread's DIP client: cases that overlap run on threads, and a ``requests`` session
        is not promised to be safe across them (one connection pool each)."""
        client: DipClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._new_client()
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _new_client(self) -> DipClient:
        env = self.environment
        cert = None
        if env.auth.client_cert and env.auth.client_key:
            cert = (_path_setting(env.auth.client_cert), _path_setting(env.auth.client_key))
        verify: bool | str = _path_setting(env.auth.ca_bundle) if env.auth.ca_bundle else True
        if self.credentials_dir and Path(self.credentials_dir, "ca.pem").is_file():
            verify = str(Path(self.credentials_dir, "ca.pem"))  # the simulator's throwaway CA
        client = DipClient(
            self.dip_url,
            api_key_for=self.api_key_for,
            connect_timeout=env.timeouts.connect,
            read_timeout=env.timeouts.read,
            retries=env.retries,
            cert=cert,
            verify=verify,
            signer_for=self.signer_for,
            cert_for=self.cert_for,
        )
        # the local simulator's /_sim paths need the run's control key (none elsewhere)
        client.session.auth = control_auth(self.credentials_dir, self.dip_url)
        return client

    @property
    def receiver(self) -> Receiver:
        with self._lock:
            if self._receiver is None:
                try:
                    self._receiver = Receiver(self.environment.webhook_listen, self.environment.webhook_public_url)
                except OSError as exc:
                    raise EnvironmentBroken(
                        f"cannot listen for webhooks on {self.environment.webhook_listen}: {exc}"
                    ) from exc
            return self._receiver

    def ensure_webhook(self, interface_id: str, dip_id: str) -> None:
        """Register (once per run) where the DIP pushes ``interface_id`` publications for ``dip_id``."""
        key = (interface_id.upper(), dip_id)
        if key in self._webhooks:
            return
        self.client.configure_webhook(interface_id, dip_id, self.receiver.callback_url(dip_id, interface_id))
        self._webhooks.add(key)

    def pool(self, cohort: Cohort) -> CohortPool:
        """The cohort's test-data pool for this worker (disjoint from every other worker's)."""
        if cohort.id not in self._pools:
            from mhhs_sit.data import CohortPool

            ldso = cohort.participants.get("LDSO") or cohort.participants.get("REGS")
            distributors = [ldso.distributor] if ldso and ldso.distributor else ["10"]
            agent_roles = {"ADS", "MSA", "MSS", "SDS", "UMSDS", "UMSO"}
            agents = {r: p.mpid for r, p in cohort.participants.items() if r in agent_roles}
            supplier = cohort.participants.get("SUP")
            self._pools[cohort.id] = CohortPool(
                cohort.id,
                cohort_index=cohort.index,
                distributor_ids=distributors,
                seed=self.seed,
                worker=self.worker,
                workers=self.workers,
                supplier_mpid=supplier.mpid if supplier else None,
                agent_mpids=agents,
            )
        return self._pools[cohort.id]

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        self._local = threading.local()
        if self._receiver is not None:
            self._receiver.close()


def _path_setting(value: str) -> str:
    """``env:VAR`` reads a path from the environment, so config never holds machine paths."""
    if value.startswith("env:"):
        var = value[4:]
        if var not in os.environ:
            raise ConfigError(f"environment variable {var} is not set (named in the environment's auth)")
        return os.environ[var]
    return value
