"""Hold every response the simulator sends to its own ``/openapi.json``: a drift is a defect.

Switched on by ``SimulatorConfig.check_responses`` (the framework's tests do). A response that
its document does not describe (path, method, status, content type or body) is journalled as a
SIMULATOR DEFECT and counted in ``/_sim/health``, so a test run can fail on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _Operation:
    def __init__(self, doc: dict[str, Any], template: str, method: str, op: dict[str, Any]):
        self.where = f"{method.upper()} {template}"
        self.responses: dict[str, tuple[str, Draft202012Validator | None]] = {}
        for status, answer in op.get("responses", {}).items():
            content = answer.get("content") or {}
            if not content:
                self.responses[status] = ("", None)
                continue
            ctype, media = next(iter(content.items()))
            root = {"allOf": [media.get("schema", {})], "components": doc.get("components", {})}
            self.responses[status] = (ctype, Draft202012Validator(root))


class Conformance:
    def __init__(self, doc: dict[str, Any]):
        self._ops: list[tuple[re.Pattern[str], str, _Operation]] = []
        for template, item in doc.get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
            for method, op in item.items():
                self._ops.append((pattern, method.upper(), _Operation(doc, template, method, op)))

    def problems(self, method: str, path: str, status: int, ctype: str, body: bytes) -> list[str]:
        matching = [op for pattern, m, op in self._ops if pattern.match(path) and m == method.upper()]
        if not matching:
            if any(pattern.match(path) for pattern, _, _ in self._ops):
                return [] if status == 405 else [f"{method} {path}: method not in /openapi.json"]
            return [] if status == 404 else [f"{method} {path}: path not in /openapi.json"]
        op = matching[0]
        answer = op.responses.get(str(status)) or op.responses.get("default")
        if answer is None:
            return [f"{op.where}: status {status} is not documented"]
        want, validator = answer
        if not want:
            return [] if not body else [f"{op.where} {status}: documented without a body, sent {len(body)} bytes"]
        if not ctype.startswith(want):
            return [f"{op.where} {status}: Content-Type {ctype or 'missing'}, documented {want}"]
        if validator is None:
            return []
        if want == "application/json":
            try:
                value = json.loads(body)
            except ValueError as exc:
                return [f"{op.where} {status}: body is not JSON ({exc})"]
        else:
            value = body.decode("utf-8", "replace")
        return [
            f"{op.where} {status}: {'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}"[:300]
            for e in validator.iter_errors(value)
        ]


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
        seen: dict[str, Any] = {"status": 0, "ctype": "", "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-type":
                        seen["ctype"] = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                seen["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, receive, capture)
        found = self.conformance.problems(
            scope["method"], scope["path"], seen["status"], seen["ctype"], bytes(seen["body"])
        )
        if found:
            self.on_defect(found)
