"""A webhook endpoint for delivery tests: answers each push from a script of statuses, records all."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        sink = self.server.sink
        status, headers, delay = sink.next_answer(self.path)
        if delay:
            time.sleep(delay)
        sink.record(self.path, status, json.loads(raw or b"null"), dict(self.headers))
        body = b'{"messageArray":[{"message":"RCP0000 - Success"}],"timestamp":"2026-01-01T00:00:00+00:00"}'
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sink: WebhookSink


class WebhookSink:
    """``script[path]`` is a list of (status, headers, delay) answered in turn; then 201 forever."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, dict[str, str], float]]] = {}
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def next_answer(self, path: str) -> tuple[int, dict[str, str], float]:
        with self._lock:
            queue = self.script.get(path)
            return queue.pop(0) if queue else (201, {}, 0.0)

    def record(self, path: str, status: int, body: Any, headers: dict[str, str]) -> None:
        with self._lock:
            self.calls.append({"path": path, "status": status, "body": body, "headers": headers, "at": time.time()})
            self._lock.notify_all()

    def delivered(self, path: str) -> list[dict[str, Any]]:
        """Messages (payloads) that were answered 2xx on ``path``, in arrival order."""
        with self._lock:
            return [m["payload"] for c in self.calls if c["path"] == path and c["status"] < 300 for m in c["body"]]

    def wait_calls(self, path: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                calls = [c for c in self.calls if c["path"] == path]
                if len(calls) >= count or time.monotonic() > deadline:
                    return calls
                self._lock.wait(0.05)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
