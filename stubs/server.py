"""Running the simulator: in-process on a free loopback port (the default), or standalone."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import TypedDict

import uvicorn

from mhhs_sit.errors import EnvironmentBroken
from mhhs_stubs.app import SimulatorApp
from mhhs_stubs.config import CONTROL_HEADER, SimulatorConfig
from mhhs_stubs.connections import GuardedProtocol, PeerCertProtocol, ServerConfig
from mhhs_stubs.tls import client_trust_bundle


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """What to tell whoever binds the simulator beyond loopback (None on loopback)."""
    if is_loopback(host):
        return None
    return (
        f"WARNING: the simulator listens on {host}, beyond loopback: anyone who can reach it can try "
        f"the participants' API keys and the control API ({CONTROL_HEADER} required on /_sim). "
        "Keep the credentials file private, and prefer --tls on a shared network."
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class _TlsOptions(TypedDict, total=False):
    """uvicorn's options for HTTPS (and mutual TLS) with the run's certificates."""

    ssl_certfile: str
    ssl_keyfile: str
    ssl_ca_certs: str
    ssl_cert_reqs: int


class EmbeddedSimulator:
    """uvicorn in a daemon thread with its own event loop; ``url`` is ready when start returns.

    With ``config.tls`` it serves HTTPS with a server certificate from the run's CA and, with
    ``config.mtls``, requires a client certificate from that CA (the files are in
    ``credentials_dir``: ``ca.pem`` for the client's ``verify``, ``<DIP ID>.pem/.key``).
    """

    def __init__(self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0):
        self.config = config
        self.host = host
        self.port = port or free_port(host)
        self.sim = SimulatorApp(config)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.credentials_dir: Path | None = None
        tls: _TlsOptions = {}
        protocol: type[GuardedProtocol] = GuardedProtocol
        if config.tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="mhhs-sim-tls-")
            self.credentials_dir = Path(self._tmp.name)
            config.credentials.write(self.credentials_dir, [])
            # Client certificates: the run's CA's, and those participants brought (self-signed or
            # not: the brought certificate itself is a trust anchor, as the DIP pins an onboarded one).
            (self.credentials_dir / "clients.pem").write_bytes(client_trust_bundle(config.credentials))
            tls = {
                "ssl_certfile": str(self.credentials_dir / "server.pem"),
                "ssl_keyfile": str(self.credentials_dir / "server.key"),
                "ssl_ca_certs": str(self.credentials_dir / "clients.pem"),
                "ssl_cert_reqs": ssl.CERT_REQUIRED if config.mtls else ssl.CERT_NONE,
            }
            protocol = PeerCertProtocol
        self._server = uvicorn.Server(
            ServerConfig(
                self.sim.app,
                header_timeout=config.header_timeout,
                on_drop=self._dropped,
                http=protocol,
                host=host,
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_keep_alive=30,
                **tls,
            )
        )
        self._thread: threading.Thread | None = None

    def _dropped(self, note: str) -> None:
        """A connection dropped before its request was read (``GuardedProtocol``), journalled."""
        self.sim.dip.journal.add("refused", "-", None, note=note)

    @property
    def control_headers(self) -> dict[str, str]:
        """The header that opens the ``/_sim`` control API (the run's control key)."""
        return {CONTROL_HEADER: self.config.control_key}

    @property
    def url(self) -> str:
        return f"{'https' if self.config.tls else 'http'}://{self.host}:{self.port}"

    def write_credentials(self, directory: str | Path, dip_ids: list[str] | None = None, *, dip: bool = True) -> Path:
        """The CA, server and DIP certificates and the participants' keys, for a system under test.

        ``dip_ids`` defaults to every participant the simulator does not play itself; ``dip``
        false leaves out the DIP's signing certificate (only a receiver verifying deliveries needs it).
        """
        if dip_ids is None:
            dip_ids = [p.dip_id for p in self.config.participants.values() if not p.simulated]
        return self.config.credentials.write(directory, dip_ids, dip=dip)

    def start(self, timeout: float = 10.0) -> EmbeddedSimulator:
        self._server.config.install_signal_handlers = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._run, name="mhhs-dip-simulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EnvironmentBroken(f"the embedded DIP simulator did not start on {self.url}")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        # uvicorn picks uvloop only in uvicorn.run(); serving from our own thread, pick it here.
        try:
            import uvloop
        except ImportError:  # pragma: no cover - optional speed-up (not on Windows)
            asyncio.run(self._server.serve())
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(self._server.serve())

    def stop(self) -> None:
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmbeddedSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
