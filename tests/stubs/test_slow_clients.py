"""Idle and slow clients, over raw loopback sockets: a connection that sends nothing, or sends its
headers a byte at a time (slowloris), is dropped once header_timeout passes, while other clients
are served as usual; a kept-alive connection between requests is not hurried."""

import contextlib
import socket
import ssl
import threading
import time

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import REPO

TIMEOUT = 0.5  # the simulators' header_timeout here (20 s by default)
CONTROL = "X-Sim-Control-Key"


def _config(**kw):
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    return config_from_cohorts(cohorts.values(), check_responses=True, signing="optional", header_timeout=TIMEOUT, **kw)


@pytest.fixture(scope="module")
def sim():
    with EmbeddedSimulator(_config()) as s:
        yield s
    assert s.sim.defects == []


def connect(sim) -> socket.socket:
    port = int(sim.url.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def closed_after(conn: socket.socket) -> float:
    """Seconds until the server closes the connection (reads whatever it sends first)."""
    started = time.perf_counter()
    try:
        while conn.recv(65536):
            pass
    except ConnectionResetError:
        pass  # dropped with a reset: closed all the same
    return time.perf_counter() - started


def served_meanwhile(sim) -> float:
    """The slowest of a few ordinary requests made while the slow clients hang on."""
    slowest = 0.0
    for _ in range(5):
        started = time.perf_counter()
        r = requests.get(f"{sim.url}/_sim/health", headers={CONTROL: sim.config.control_key}, timeout=5)
        assert r.status_code == 200
        slowest = max(slowest, time.perf_counter() - started)
    return slowest


def test_a_connection_that_sends_nothing_is_dropped_after_header_timeout(sim):
    opened = time.perf_counter()
    idle = [connect(sim) for _ in range(20)]
    try:
        assert served_meanwhile(sim) < 1.0  # twenty silent connections do not hold anybody up
        for c in idle:
            closed_after(c)
        took = time.perf_counter() - opened  # until the last of them was dropped
    finally:
        for c in idle:
            c.close()
    assert TIMEOUT * 0.6 < took < TIMEOUT + 1.5, took  # not at once (the client had its time), nor never


def test_headers_sent_a_byte_at_a_time_are_dropped_though_bytes_keep_coming(sim):
    head = f"GET /_sim/health HTTP/1.1\r\nHost: x\r\n{CONTROL}: {sim.config.control_key}\r\n" + "X-Pad: y\r\n" * 50
    conn = connect(sim)
    sent, stop = [0], threading.Event()

    def trickle() -> None:
        try:
            for byte in head.encode():
                if stop.wait(0.02):
                    return
                conn.send(bytes([byte]))
                sent[0] += 1
        except OSError:
            return  # the server dropped us

    sender = threading.Thread(target=trickle)
    started = time.perf_counter()
    sender.start()
    try:
        assert served_meanwhile(sim) < 1.0
        closed_after(conn)
        took = time.perf_counter() - started
    finally:
        stop.set()
        sender.join()
        conn.close()
    # a byte every 20 ms would take ~12 s for these headers: the deadline runs from the first byte
    assert TIMEOUT * 0.6 < took < TIMEOUT + 1.5 and sent[0] < len(head) / 2, (took, sent[0])
    notes = requests.get(f"{sim.url}/_sim/messages", params={"kind": "refused"},
                         headers={CONTROL: sim.config.control_key}, timeout=5).json()["messages"]  # fmt: skip
    dropped = [m["note"] for m in notes if "header_timeout" in m["note"]]
    assert dropped and f"no complete request headers within {TIMEOUT:g} s" in dropped[-1]


def test_a_kept_alive_connection_waits_between_requests_and_its_next_headers_are_timed(sim):
    request = f"GET /_sim/health HTTP/1.1\r\nHost: x\r\n{CONTROL}: {sim.config.control_key}\r\n\r\n".encode()
    conn = connect(sim)
    try:
        conn.sendall(request)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT * 2.5)  # idle between requests: uvicorn's keep-alive (30 s) governs that
        conn.sendall(request)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")  # the same connection, still open
        conn.sendall(request[:30])  # and the rest never comes
        took = closed_after(conn)
    finally:
        conn.close()
    assert TIMEOUT * 0.6 < took < TIMEOUT + 1.5, took


def test_an_idle_tls_connection_is_dropped_too():
    with EmbeddedSimulator(_config(tls=True, mtls=False)) as s:
        port = int(s.url.rsplit(":", 1)[1])
        context = ssl.create_default_context(cafile=str(s.credentials_dir / "ca.pem"))
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw_conn,
            context.wrap_socket(raw_conn, server_hostname="127.0.0.1") as conn,  # the handshake is done
        ):
            started = time.perf_counter()
            with contextlib.suppress(ConnectionResetError, ssl.SSLError):
                assert conn.recv(65536) == b""
            took = time.perf_counter() - started
        assert TIMEOUT * 0.6 < took < TIMEOUT + 1.5, took
