"""Limits checked before work: body size before a byte more is read, JSON depth before a handler walks it.

``BodyLimit`` sits in front of every path, authentication included, so an unauthenticated client
cannot make the simulator hold more than ``max_body_bytes``: a declared ``Content-Length`` over
the limit is refused unread, and a streamed (chunked) body is read only until it passes the limit.
A body that trickles in slower than ``body_timeout`` is refused too (408), so a slow client
cannot hold a request open.
``parse_json`` bounds nesting, so a deeply nested body is a schema failure, never a RecursionError.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mhhs_stubs.answers import error
from mhhs_stubs.config import SimulatorConfig


class JsonRefused(ValueError):
    """A body that is not JSON, or nested deeper than the limit; the message says which."""


def parse_json(body: bytes, max_depth: int) -> object:
    """The parsed body; JsonRefused when it is not JSON or is nested deeper than ``max_depth``."""
    try:
        value: object = json.loads(body)
    except RecursionError:
        raise JsonRefused(f"body is nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise JsonRefused(f"body is not valid JSON: {exc}") from None
    # Each level opens with a bracket, so a body with no more brackets than the limit (a DIP
    # message has a few dozen) cannot nest past it: counting them is far cheaper than the walk.
    if body.count(b"[") + body.count(b"{") > max_depth and _deeper_than(value, max_depth):
        raise JsonRefused(f"body is nested deeper than {max_depth} levels")
    return value


def _deeper_than(value: object, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep (iterative: no recursion to exhaust)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


class BodyLimit:
    """Reads the body within ``max_body_bytes`` (413 past it) and ``body_timeout`` (408), then
    hands it to the app: what the handlers read is already bounded."""

    def __init__(self, app: ASGIApp, config: SimulatorConfig, on_refusal: Callable[[str], None]):
        self.app = app
        self.limit = config.max_body_bytes
        self.timeout = config.body_timeout
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send, 413, f"Content-Length {declared} is over {self.limit} bytes")
            return
        try:
            async with asyncio.timeout(self.timeout):
                body = await _read_at_most(receive, self.limit)
        except _ClientGone:
            return
        except TimeoutError:
            await self._refuse(scope, receive, send, 408, f"the body did not arrive within {self.timeout:g} s")
            return
        if body is None:
            await self._refuse(scope, receive, send, 413, f"a streamed body is over {self.limit} bytes")
            return
        await self.app(scope, replay_body(body, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, what: str) -> None:
        self.on_refusal(f"{status} body-limit: {scope['method']} {scope['path']}: {what}")
        fix = "send smaller batches (max_body_bytes)" if status == 413 else "send the whole body at once (body_timeout)"
        refusal = error(status, "MSG1000", "Processing failed", f"{what}, this simulator's limit: {fix}")
        refusal.headers["Connection"] = "close"  # the server closes instead of draining the rest
        await refusal(scope, receive, send)


class _ClientGone(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before the app sees the request
    return None


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` (what is left is never read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _ClientGone  # nobody is left to answer
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over the body once, then waits on the real one (for a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
