"""The framework's own webhook: where publications to the roles it plays arrive.

The DIP pushes ``DIPMessageEgressArray`` bodies to ``/hook/{dip_id}/{interface}``; each message
lands in an inbox that ``expect`` steps wait on with a condition variable, so nothing polls.
Because the inbox holds everything received since the receiver started, a message that arrives
before the ``expect`` step begins is still found: the subscription exists before the trigger.

Given the DIP's signing certificate (``dip_certificate``), the receiver checks each delivery's
``X-DIP-*`` signature as a participant's webhook must, and refuses a bad one with 401
``RCP9999 - Message Signature Invalid`` (the message never reaches the inbox). Off by default.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mhhs_sit.dip.envelope import dip_timestamp
from mhhs_sit.dip.signing import DEFAULT_MAX_SKEW_S, Trusted, verify


@dataclass
class Received:
    seq: int
    dip_id: str
    interface_id: str
    payload: dict[str, object]
    received_at: float  # time.time()
    headers: dict[str, str] = field(default_factory=dict)
    claimed_by: str | None = None  # the case that consumed it


class Inbox:
    def __init__(self) -> None:
        self._items: list[Received] = []
        self._cond = threading.Condition()

    def add(self, dip_id: str, interface_id: str, payloads: list[dict[str, object]], headers: dict[str, str]) -> None:
        with self._cond:
            for p in payloads:
                self._items.append(Received(len(self._items), dip_id, interface_id, p, time.time(), headers))
            self._cond.notify_all()

    @property
    def next_seq(self) -> int:
        with self._cond:
            return len(self._items)

    def wait_for(
        self,
        predicate: Callable[[Received], bool],
        *,
        since: int,
        timeout: float,
        on_seen: Callable[[Received], None] | None = None,
        claim: str | None = None,
    ) -> Received | None:
        """The first unclaimed message from ``since`` on that satisfies ``predicate``.

        ``on_seen`` sees each candidate once (for evidence). ``predicate`` may raise to end the
        wait early (a fail-fast condition). Returns None on timeout.
        """
        deadline = time.monotonic() + timeout
        cursor = since
        with self._cond:
            while True:
                while cursor < len(self._items):
                    item = self._items[cursor]
                    cursor += 1
                    if item.claimed_by is not None:
                        continue
                    if on_seen:
                        on_seen(item)
                    if predicate(item):
                        item.claimed_by = claim or "?"
                        return item
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)


class _Handler(BaseHTTPRequestHandler):
    server: _ReceiverServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(parts) != 3 or parts[0] != "hook":
            return self._answer(404, "RCP1000", "unknown webhook path; expected /hook/{dip_id}/{interface}")
        refusal = self._signature_refusal(raw)
        if refusal is not None:
            return self._answer(401, "RCP9999", refusal)
        try:
            payloads = _egress_payloads(raw)
        except _NotEgress as exc:
            return self._answer(400, "RCP1001", str(exc))
        self.server.inbox.add(parts[1], parts[2], payloads, dict(self.headers))
        self._answer(201, "RCP0000", "Success")

    def _signature_refusal(self, raw: bytes) -> str | None:
        """Why the delivery's signature is refused (noted for tests to show); None when it is
        good, or when the receiver was given no certificate to check it against."""
        if self.server.trusted is None:
            return None
        result = verify(
            "POST", self.server.base_url + self.path, dict(self.headers), raw, self.server.trusted, self.server.max_skew
        )
        if result.ok:
            return None
        self.server.refused.append(str(result))
        return f"Message Signature Invalid: {result}"[:500]

    def _answer(self, status: int, code: str, text: str) -> None:
        body = json.dumps(
            {
                "messageArray": [{"message": f"{code} - {text}"}],
                "timestamp": dip_timestamp(),
            }
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _NotEgress(ValueError):
    """A delivery's body is not a DIPMessageEgressArray (the text says how)."""


def _egress_payloads(raw: bytes) -> list[dict[str, object]]:
    """The payloads of a ``DIPMessageEgressArray`` body: ``[{"payload": {...}}, ...]``."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise _NotEgress("body is not JSON") from None
    if not isinstance(body, list) or not all(isinstance(m, dict) and "payload" in m for m in body):
        raise _NotEgress("body is not a DIPMessageEgressArray")
    return [m["payload"] for m in body]


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    inbox: Inbox
    base_url: str = ""
    trusted: Trusted | None = None
    max_skew: float = DEFAULT_MAX_SKEW_S
    refused: list[str]


class Receiver:
    """A webhook server on ``host:port`` (port 0 = any free port) with its inbox."""

    def __init__(
        self,
        listen: str = "127.0.0.1:0",
        public_url: str | None = None,
        *,
        dip_certificate: Trusted | None = None,
        max_skew: float = DEFAULT_MAX_SKEW_S,
    ):
        host, _, port = listen.rpartition(":")
        self.inbox = Inbox()
        self._server = _ReceiverServer((host or "127.0.0.1", int(port or 0)), _Handler)
        self._server.inbox = self.inbox
        self._server.trusted = dip_certificate
        self._server.max_skew = max_skew
        self._server.refused = []  # why each refused delivery was refused, for a test to show
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="mhhs-webhook", daemon=True
        )
        self._thread.start()
        bound_host, bound_port = self._server.server_address[:2]
        if isinstance(bound_host, bytes):
            bound_host = bound_host.decode()
        self.base_url = (public_url or f"http://{bound_host}:{bound_port}").rstrip("/")
        self._server.base_url = self.base_url

    @property
    def refused(self) -> list[str]:
        return list(self._server.refused)

    def callback_url(self, dip_id: str, interface_id: str) -> str:
        return f"{self.base_url}/hook/{dip_id}/{interface_id}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
