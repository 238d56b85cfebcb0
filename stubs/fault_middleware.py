"""Inbound faults on the wire: an ASGI middleware in front of the simulator's DIP paths.

Only the DIP's own paths are faulted (``/dip-channel/...``, ``/statusmessage...``,
``/validate/...``); the control and evidence paths (``/_sim/...``, ``/openapi.json``) never are,
so a test can always observe and switch off what it broke.

When a fault acts, relative to the simulator processing the request:

* ``latency``, ``status`` and ``reset`` act *before* processing: the message is not accepted,
  and a retry of the same body is accepted normally.
* ``empty`` and ``truncated`` act *after* processing: the message *is* accepted and routed, only
  the answer is damaged. A client that retries the same body then gets ``MSG1006`` (duplicate
  ``senderUniqueReference``), which an idempotent client must read as "already accepted".

A connection reset is a real TCP RST: the socket is closed with ``SO_LINGER`` 0 through the
server's transport, so the client sees ``ECONNRESET`` (``requests.ConnectionError``), not a 500.
ASGI gives an application no handle on its connection; uvicorn's ``send`` is a bound method of
its request cycle, which holds the transport, and that is what is used here (checked by the
tests for this uvicorn). Under a server without it, a reset degrades to a response whose headers
promise a body that never comes, then a closed connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mhhs_stubs.answers import standard_item
from mhhs_stubs.clock import current_stamp
from mhhs_stubs.faults import FaultPlan, InboundAction
from mhhs_stubs.limits import replay_body

DIP_PATH_RE = re.compile(r"^/(dip-channel/|statusmessage|validate/)")
INTERFACE_IN_PATH_RE = re.compile(r"^/(?:dip-channel|validate)/([^/]+)")
REASONS = {429: "Too Many Requests", 500: "Processing failed", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}  # fmt: skip


def is_dip_path(path: str) -> bool:
    return bool(DIP_PATH_RE.match(path))


def interface_of(path: str) -> str | None:
    m = INTERFACE_IN_PATH_RE.match(path)
    return m.group(1).upper() if m else None


class FaultMiddleware:
    """Wraps the simulator's ASGI app; asks the plan once per DIP request (nothing when no inbound fault)."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, sender_of: Callable[[str], object] | None = None):
        self.app = app
        self.plan = plan
        self.sender_of = sender_of  # X-API-Key -> DIP ID (or anything with .dip_id), for sender scopes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.plan.has_inbound or not is_dip_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        references: tuple[str, ...] = ()
        if self.plan.inbound_needs_body and method == "POST":
            body = await _read_body(receive)
            references = _references(body)
            receive = replay_body(body, receive)
        action = self.plan.inbound(method, path, interface_of(path), self._sender(scope), references=references)
        if action is None:
            await self.app(scope, receive, send)
            return
        await self._apply(action, scope, receive, send)

    def _sender(self, scope: Scope) -> str | None:
        if self.sender_of is None:
            return None
        key = next((v for k, v in scope["headers"] if k == b"x-api-key"), None)
        if key is None:
            return None
        found = self.sender_of(key.decode("latin-1"))
        dip_id = getattr(found, "dip_id", found)
        return dip_id if isinstance(dip_id, str) else None

    async def _apply(self, action: InboundAction, scope: Scope, receive: Receive, send: Send) -> None:
        if action.latency_s > 0:
            await asyncio.sleep(action.latency_s)
        if action.reset:
            # Read the whole request first: a client still sending when the RST arrives has the
            # reset swallowed by its send (urllib3 does so) and then reads only an EOF.
            await _read_body(receive)
            if not await reset_connection(send):
                await _broken_promise(send)
            return
        if action.status is not None:
            await _status_response(send, action)
            return
        if not action.after_processing:
            await self.app(scope, receive, send)
            return
        status, headers, body = await _capture(self.app, scope, receive)
        if action.empty:
            status = action.empty_status or status
            await send({"type": "http.response.start", "status": status, "headers": _length(headers, 0)})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        keep = action.truncate_to if action.truncate_to is not None and action.truncate_to >= 0 else len(body) // 2
        keep = max(0, min(keep, len(body) - 1))
        await send({"type": "http.response.start", "status": status, "headers": _length(headers, max(len(body), 1))})
        await send({"type": "http.response.body", "body": body[:keep], "more_body": True})
        await close_connection(send)


# --------------------------------------------------------------------------- the connection


def _cycle_of(send: Send) -> object:
    return getattr(send, "__self__", None)


def _transport_of(send: Send) -> asyncio.BaseTransport | None:
    transport = getattr(_cycle_of(send), "transport", None)
    return transport if isinstance(transport, asyncio.BaseTransport) else None


async def _until_disconnected(send: Send, timeout: float = 2.0) -> None:
    """Let the server notice the closed connection, so it neither answers 500 nor logs an error."""
    cycle = _cycle_of(send)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await asyncio.sleep(0)
    while not getattr(cycle, "disconnected", True) and loop.time() < deadline:
        await asyncio.sleep(0.002)


async def reset_connection(send: Send) -> bool:
    """Abort the client's TCP connection with an RST; False when the server gives no transport."""
    transport = _transport_of(send)
    if transport is None or not hasattr(transport, "abort"):
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await _until_disconnected(send)
    return True


async def close_connection(send: Send) -> None:
    """Close after what was written is flushed (a FIN): the client reads a short body."""
    transport = _transport_of(send)
    if transport is None:
        return  # the server closes a connection whose response was left incomplete
    transport.close()
    await _until_disconnected(send)


async def _broken_promise(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
    await send({"type": "http.response.body", "body": b"", "more_body": True})


# --------------------------------------------------------------------------- responses


async def _status_response(send: Send, action: InboundAction) -> None:
    status = action.status or 503
    text = REASONS.get(status, "Processing failed")
    item = standard_item(
        "MSG1000",
        text,
        f"HTTP {status} injected by simulator fault {', '.join(action.faults)}; the message was not "
        "accepted, send it again",
    )
    body = json.dumps({"messageArray": [item], "timestamp": current_stamp()}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if action.retry_after_s is not None:
        headers.append((b"retry-after", _seconds(action.retry_after_s).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _seconds(value: float) -> str:
    """Whole seconds as HTTP defines Retry-After; a fraction is kept (mhhs-sit's clients honour it)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"transfer-encoding")]
    return [*kept, (b"content-length", str(length).encode())]


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the app to completion and keep its answer, to be damaged before it is sent."""
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return status, headers, b"".join(chunks)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _references(body: bytes) -> tuple[str, ...]:
    """The senderUniqueReferences of a batch, for faults scoped to a message (unparseable: none)."""
    try:
        batch = json.loads(body)
    except ValueError:
        return ()
    out = []
    for item in batch if isinstance(batch, list) else []:
        try:
            sur = item["payload"]["CommonBlock"]["S1"]["senderUniqueReference"]
        except (KeyError, TypeError):
            continue
        if isinstance(sur, str):
            out.append(sur)
    return tuple(out)
