"""Hold every response the simulator sends to its own ``/openapi.json``: a drift is a defect.

Switched on by ``SimulatorConfig.check_responses`` (the framework's tests do). A response that
its document does not describe (path, method, status, content type or body) is journalled as a
SIMULATOR DEFECT and counted in ``/_sim/health``, so a test run can fail on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mhhs_stubs.json_types import JsonObject, JsonValue


@dataclass(frozen=True)
class _Documented:
    """One documented response: its content type ("" for none) and the schema of its body."""

    ctype: str
    validator: Draft202012Validator | None

    def problems(self, where: str, ctype: str, body: bytes) -> list[str]:
        if not self.ctype:
            return [] if not body else [f"{where}: documented without a body, sent {len(body)} bytes"]
        if not ctype.startswith(self.ctype):
            return [f"{where}: Content-Type {ctype or 'missing'}, documented {self.ctype}"]
        if self.validator is None:
            return []
        if self.ctype != "application/json":
            return self._violations(where, body.decode("utf-8", "replace"))
        try:
            value = json.loads(body)
        except ValueError as exc:
            return [f"{where}: body is not JSON ({exc})"]
        return self._violations(where, value)

    def _violations(self, where: str, value: object) -> list[str]:
        assert self.validator is not None
        return [
            f"{where}: {'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}"[:300]
            for e in self.validator.iter_errors(value)
        ]


def _members(value: JsonValue) -> JsonObject:
    """An object of the document ({} where it has none): the document is ours, its shape known."""
    return value if isinstance(value, Mapping) else {}


class _Operation:
    def __init__(self, doc: JsonObject, template: str, method: str, op: JsonObject):
        self.where = f"{method.upper()} {template}"
        self.responses: dict[str, _Documented] = {}
        for status, answer in _members(op.get("responses")).items():
            content = _members(_members(answer).get("content"))
            if not content:
                self.responses[status] = _Documented("", None)
                continue
            ctype, media = next(iter(content.items()))
            root = {"allOf": [_members(media).get("schema", {})], "components": doc.get("components", {})}
            self.responses[status] = _Documented(ctype, Draft202012Validator(root))

    def problems(self, status: int, ctype: str, body: bytes) -> list[str]:
        documented = self.responses.get(str(status)) or self.responses.get("default")
        if documented is None:
            return [f"{self.where}: status {status} is not documented"]
        return documented.problems(f"{self.where} {status}", ctype, body)


class Conformance:
    def __init__(self, doc: JsonObject):
        self._ops: list[tuple[re.Pattern[str], str, _Operation]] = []
        for template, item in _members(doc.get("paths")).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
            for method, op in _members(item).items():
                self._ops.append((pattern, method.upper(), _Operation(doc, template, method, _members(op))))

    def problems(self, method: str, path: str, status: int, ctype: str, body: bytes) -> list[str]:
        matching = [op for pattern, m, op in self._ops if pattern.match(path) and m == method.upper()]
        if matching:
            return matching[0].problems(status, ctype, body)
        if any(pattern.match(path) for pattern, _, _ in self._ops):
            return [] if status == 405 else [f"{method} {path}: method not in /openapi.json"]
        return [] if status == 404 else [f"{method} {path}: path not in /openapi.json"]


class ConformanceMiddleware:
    """ASGI middleware: passes every response through unchanged and checks it afterwards."""

    def __init__(self, app: ASGIApp, conformance: Conformance, on_defect: Callable[[list[str]], None]):
        self.app = app
        self.conformance = conformance
        self.on_defect = on_defect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = _Seen()

        async def capture(message: Message) -> None:
            seen.note(message)
            await send(message)

        await self.app(scope, receive, capture)
        found = self.conformance.problems(scope["method"], scope["path"], seen.status, seen.ctype, bytes(seen.body))
        if found:
            self.on_defect(found)


@dataclass
class _Seen:
    """What went out of one response, collected as it passes."""

    status: int = 0
    ctype: str = ""
    body: bytearray = field(default_factory=bytearray)

    def note(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for k, v in message.get("headers", []):
                if k.lower() == b"content-type":
                    self.ctype = v.decode("latin-1")
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
