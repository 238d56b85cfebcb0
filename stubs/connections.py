"""The simulator's HTTP connections: a deadline for a request's headers, and the TLS client certificate.

uvicorn bounds only the wait between requests on a kept-alive connection (``timeout_keep_alive``,
and only once a response is complete): a client that connects and sends nothing, or sends its
headers a byte at a time (slowloris), would hold a connection, its buffers and a file descriptor
for ever. ``GuardedProtocol`` drops such a connection once ``header_timeout`` passes from the
connection's start, or from a request's first byte, without its headers complete. The timer
lives on the event loop, so other clients are served meanwhile. The body has its own deadline
(``body_timeout``, ``mhhs_stubs.limits.BodyLimit``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class ServerConfig(uvicorn.Config):
    """uvicorn's config with what the simulator's connections need: the header deadline and
    whom to tell of a dropped connection. Its TLS context takes a trusted client certificate
    as a trust anchor by itself (``VERIFY_X509_PARTIAL_CHAIN``): a certificate a participant
    brought, issued by its own CA, is trusted without that CA, as the DIP trusts the
    certificate onboarded for a DIP ID."""

    def __init__(
        self, app: ASGIApp, *, header_timeout: float, on_drop: Callable[[str], None], **options: object
    ) -> None:
        super().__init__(app, **options)  # type: ignore[arg-type]
        self.header_timeout = header_timeout
        self.on_drop = on_drop

    def load(self) -> None:
        super().load()
        if self.ssl is not None:
            self.ssl.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, dropping a connection whose request headers do not arrive in time."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        config = self.config
        assert isinstance(config, ServerConfig)  # EmbeddedSimulator serves with nothing else
        self._guard = config
        self._arm()  # nothing has come yet: the first request's headers are due

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm()  # a request's first byte on a kept-alive connection

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self._guard.header_timeout, self._headers_overdue)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_overdue(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        config = self._guard
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        config.on_drop(
            f"dropped the connection from {peer}: no complete request headers within {config.header_timeout:g} s "
            "(header_timeout)"
        )
        self.transport.abort()  # at once: a TLS close would wait for the silent peer's close_notify


class PeerCertProtocol(GuardedProtocol):
    """Adds the ASGI TLS extension, so the app sees the client certificate.

    uvicorn does not fill ``scope["extensions"]["tls"]``; the handshake is over when
    ``connection_made`` runs, so the peer certificate is read once per connection here.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            return
        tls = {
            "server_cert": None,
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)],
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": None,
            "cipher_suite": None,
        }
        inner: ASGIApp = self.app

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("extensions", {})["tls"] = tls
            await inner(scope, receive, send)

        self.app = app

    def shutdown(self) -> None:
        """Close idle connections at once: a TLS close waits for the peer's close_notify, which a
        client that has already gone (requests closes without one) never sends, so the server's
        shutdown would hang until the 30 s SSL shutdown timeout."""
        idle = self.cycle is None or self.cycle.response_complete
        super().shutdown()
        if idle:
            self.transport.abort()
