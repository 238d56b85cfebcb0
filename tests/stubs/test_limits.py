"""Limits before work, over real loopback HTTP: a body over the limit is refused before it is read
(and before authentication), a deeply nested body is a schema failure and never a 500, a batch
has at most so many items; the control API is under the same limits."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.journal import Journal
from mhhs_stubs.limits import JsonRefused, parse_json
from tests.helpers import REPO, simulating

SUP = "2300000101"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def sim():
    with simulating(REPO / "cohorts") as s:
        yield s


def key(sim):
    return {"X-API-Key": sim.config.api_keys[SUP]}


def raw(sim, head: str, chunks: Iterator[bytes] | None = None) -> tuple[int, bytes]:
    """Send ``head`` and then ``chunks`` (chunked encoding) over a raw socket; the answer's status and body."""
    port = int(sim.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode() + b"\r\n")
        try:
            for chunk in chunks or ():
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server stopped reading and closed: its answer is already there
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
            data = s.recv(65536)
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1]


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def refusal(body: bytes) -> dict:
    return json.loads(body)["messageArray"][0]


def test_a_declared_length_over_the_limit_is_refused_unread_and_unauthenticated(sim):
    for path in ("/dip-channel/IF-031", "/_sim/faults", "/statusmessage"):
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {10**9}\r\n"
        started = time.perf_counter()
        status, body = raw(sim, head)  # not a byte of the body is sent: an answer means it was not awaited
        assert status == 413 and time.perf_counter() - started < 2, path
        assert refusal(body)["message"] == "MSG1000 - Processing failed"
        assert f"Content-Length {10**9} is over 5242880 bytes" in refusal(body)["help"]


def test_a_streamed_body_is_read_only_until_it_passes_the_limit(sim):
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(300):  # 300 MiB offered, ~5 MiB read
            sent.append(1)
            yield b"x" * MIB

    head = (
        "POST /dip-channel/IF-031 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n"
    )
    status, body = raw(sim, head, chunks())
    assert status == 413 and "a streamed body is over" in refusal(body)["help"]
    assert len(sent) < 300  # the server closed the connection long before the upload ended


def test_a_body_that_trickles_in_is_refused_after_body_timeout():
    cohorts, _ = load_cohorts(REPO / "cohorts")
    config = config_from_cohorts(cohorts.values(), check_responses=True, signing="optional", body_timeout=0.3)
    with EmbeddedSimulator(config) as s:
        for path in ("/dip-channel/IF-031", "/_sim/faults"):
            port = int(s.url.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                )
                conn.sendall(head.encode() + b"[{")  # and then nothing
                started = time.perf_counter()
                answer = conn.recv(65536)
                took = time.perf_counter() - started
            assert answer.startswith(b"HTTP/1.1 408") and 0.2 < took < 3, (path, answer[:80], took)
            assert b"the body did not arrive within 0.3 s" in answer
    assert s.sim.defects == []


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_a_300_mb_chunked_upload_leaves_memory_where_it_was(sim):
    chunk = b"[" * MIB  # one buffer, offered 300 times: the client holds 1 MiB

    def upload() -> Iterator[bytes]:
        for _ in range(300):
            yield chunk

    requests.get(f"{sim.url}/_sim/health", headers=sim.control_headers, timeout=5)  # warm the connection path
    before = _rss()
    peak = [before]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        r = requests.post(f"{sim.url}/dip-channel/IF-031", data=upload(), headers=key(sim), timeout=30)
        assert r.status_code == 413
    except requests.ConnectionError:
        pass  # the server closed while the client was still sending: refused without reading on
    finally:
        done.set()
        watcher.join()
    assert peak[0] - before < 40 * MIB, f"RSS grew {(peak[0] - before) / MIB:.0f} MiB"


def test_deep_nesting_is_a_schema_failure_on_every_json_path(sim):
    deep = b"[" * 100_000 + b"]" * 100_000  # json.loads alone raises RecursionError on this
    just_over = json.dumps([{"payload": json.loads("[" * 64 + "]" * 64)}]).encode()
    control = {**sim.control_headers, "Content-Type": "application/json"}
    for body in (deep, just_over):
        r = requests.post(f"{sim.url}/dip-channel/IF-031", data=body,
                          headers={**key(sim), "Content-Type": "application/json"}, timeout=10)  # fmt: skip
        assert r.status_code == 400 and refusal(r.content)["message"] == "MSG1001 - Schema Failure"
        assert "nested deeper than 64 levels" in refusal(r.content)["help"]
        for path in ("/_sim/faults", "/_sim/appointments", "/_sim/route/IF-031"):
            r = requests.post(f"{sim.url}{path}", data=body, headers={**control, **key(sim)}, timeout=10)
            assert r.status_code == 400 and "nested deeper than 64 levels" in r.json()["error"], path
    status = requests.post(f"{sim.url}/statusmessage", data=deep,
                           headers={**key(sim), "Content-Type": "application/json"}, timeout=10)  # fmt: skip
    assert status.status_code == 400 and "nested deeper" in refusal(status.content)["help"]


def test_depth_is_counted_exactly():
    assert parse_json(b"[" * 64 + b"]" * 64, 64) == json.loads("[" * 64 + "]" * 64)
    with pytest.raises(JsonRefused, match="nested deeper than 64"):
        parse_json(b'{"a":' * 65 + b"1" + b"}" * 65, 64)
    with pytest.raises(JsonRefused, match="not valid JSON"):
        parse_json(b"{", 64)
    # more brackets than the limit but shallow (wide, or brackets inside text): walked, and passed
    wide = json.dumps([{"a": [1]} for _ in range(100)]).encode()
    assert parse_json(wide, 3) == json.loads(wide)
    assert parse_json(json.dumps({"text": "[{" * 100}).encode(), 1) == {"text": "[{" * 100}
    with pytest.raises(JsonRefused, match="nested deeper than 2"):
        parse_json(json.dumps([[[1]], "[" * 10]).encode(), 2)


def test_a_batch_has_at_most_max_batch_items(sim):
    over = sim.config.max_batch_items + 1
    started = time.perf_counter()
    r = requests.post(f"{sim.url}/dip-channel/IF-031", json=[{"payload": {}}] * over, headers=key(sim), timeout=10)
    assert r.status_code == 413 and time.perf_counter() - started < 2
    assert f"a batch of {over} items is over this simulator's limit of 1000" in refusal(r.content)["help"]
    ctl = sim.control_headers
    r = requests.post(f"{sim.url}/_sim/faults", json=[{"kind": "drop"}] * over, headers=ctl, timeout=10)
    assert r.status_code == 413 and "at most 1000" in r.json()["error"]
    assert requests.get(f"{sim.url}/_sim/faults", headers=ctl, timeout=5).json()["count"] == 0
    r = requests.post(f"{sim.url}/_sim/route/IF-031", json=[{}] * over, headers={**ctl, **key(sim)}, timeout=10)
    assert r.status_code == 413


def test_the_journal_is_bounded_in_bytes_and_counts_what_it_evicts():
    journal = Journal(limit=1000, max_bytes=10_000)
    for i in range(10):
        journal.add("accepted", "IF-031", SUP, transaction_id=f"T-{i}", size=3000)
    assert journal.bytes <= 10_000 and len(journal) == 2 and journal.evicted == 8
    assert journal.by_transaction("T-0") is None and journal.by_transaction("T-9") is not None
    journal.add("event", "-", None, note="x" * 50_000)  # one entry over the limit alone is kept
    assert len(journal) == 1 and journal.evicted == 10


def test_hostile_batches_are_journalled_within_the_byte_limit():
    cohorts, _ = load_cohorts(REPO / "cohorts")
    config = config_from_cohorts(cohorts.values(), version="1.8.2", signing="optional", journal_max_bytes=MIB)
    with EmbeddedSimulator(config) as s:
        for _ in range(20):
            r = requests.post(f"{s.url}/dip-channel/IF-031", json=[{"payload": {}}] * 1000, headers=key(s), timeout=30)
            assert r.status_code == 400
        health = requests.get(f"{s.url}/_sim/health", headers=s.control_headers, timeout=5).json()
    assert health["journalBytes"] <= MIB and health["journalMaxBytes"] == MIB and health["evicted"] > 0
