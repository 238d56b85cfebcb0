"""The DIP client's transport for a DIP on this machine, against real local servers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses

from mhhs_sit.dip.client import DipClient
from mhhs_sit.dip.loopback import LoopbackAdapter
from mhhs_sit.errors import EnvironmentBroken


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:  # once per connection
        super().setup()
        self.server.opened += 1  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, body: object, *, close: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        if close:
            self.close_connection = True

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        self._answer(200, {"path": self.path, "accept": self.headers.get("Accept")}, close=self.path == "/close")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        self._answer(201, {"echo": body, "type": self.headers.get("Content-Type")})


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.opened = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _client(srv: ThreadingHTTPServer, **kw: object) -> DipClient:
    return DipClient(f"http://127.0.0.1:{srv.server_address[1]}", api_key_for=lambda _: None, **kw)  # type: ignore[arg-type]


def test_a_loopback_dip_is_reached_through_the_loopback_adapter_over_one_kept_alive_connection(server):
    client = _client(server, retries=0)
    assert isinstance(client.session.get_adapter(client.base_url + "/x"), LoopbackAdapter)
    for n in range(20):
        sent = client.request("POST", "/messages", body={"n": n})
        assert sent.status == 201 and sent.response_body == {"echo": {"n": n}, "type": "application/json"}
        got = client.request("GET", f"/messages/{n}?a=1", params={"b": "2"})
        assert got.status == 200 and got.response_body["path"] == f"/messages/{n}?a=1&b=2"
        assert got.response_body["accept"] == "application/json"
    assert server.opened == 1  # type: ignore[attr-defined]
    assert got.response_headers["Content-Type"] == "application/json"
    client.close()


def test_a_connection_the_server_closed_is_never_reused(server):
    client = _client(server, retries=0)
    for _ in range(3):
        assert client.request("GET", "/close").status == 200  # this answer closes its connection
        assert client.request("GET", "/after").status == 200  # so this one opens a new one
    assert server.opened == 4  # type: ignore[attr-defined]  # the first, and one after each close
    client.close()


def test_a_refused_connection_and_a_read_timeout_are_the_failures_the_client_reads(server):
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(EnvironmentBroken, match="cannot connect: Connection refused"):
        DipClient(f"http://127.0.0.1:{port}", api_key_for=lambda _: None, retries=0).request("GET", "/x")


def test_a_read_timeout_is_a_timeout(server):
    client = _client(server, retries=0)
    with pytest.raises(EnvironmentBroken, match=r"timed out after 0.2s \(ReadTimeout\)"):
        client.request("GET", "/slow", timeout=0.2)
    assert client.request("GET", "/fine").status == 200  # the timed-out connection is not reused
    client.close()


@responses.activate
def test_a_loopback_url_a_proxy_applies_to_goes_through_the_standard_adapter():
    """requests has already left out the hosts ``no_proxy`` names; what is left goes to the proxy."""
    responses.get("http://127.0.0.1:9/via-proxy", json={"proxied": True})
    adapter = LoopbackAdapter()
    prepared = requests.Request("GET", "http://127.0.0.1:9/via-proxy").prepare()
    answer = adapter.send(prepared, timeout=(1, 1), proxies={"http": "http://proxy.test:3128"})
    assert answer.json() == {"proxied": True}
    adapter.close()


class _IdleClosing(_Handler):
    timeout = 0.2  # the server drops a kept-alive connection idle for longer


def test_a_kept_alive_connection_the_server_dropped_while_idle_is_replaced_not_failed():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _IdleClosing)
    srv.opened = 0  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        client = _client(srv, retries=0)  # no retry: a dead connection reused would fail the call
        assert client.request("GET", "/one").status == 200
        time.sleep(0.6)
        assert client.request("POST", "/two", body={}).status == 201
        assert srv.opened == 2  # type: ignore[attr-defined]
        client.close()
    finally:
        srv.shutdown()
        srv.server_close()
