"""Running the simulator: in-process on a free loopback port (the default), or standalone."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn

from mhhs_sit.errors import EnvironmentBroken
from mhhs_stubs.app import SimulatorApp
from mhhs_stubs.config import SimulatorConfig


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedSimulator:
    """uvicorn in a daemon thread with its own event loop; ``url`` is ready when start returns."""

    def __init__(self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0):
        self.config = config
        self.host = host
        self.port = port or free_port(host)
        self.sim = SimulatorApp(config)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.sim.app,
                host=host,
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_keep_alive=30,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

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

    def __enter__(self) -> EmbeddedSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
