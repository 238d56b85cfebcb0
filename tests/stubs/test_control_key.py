"""The control API's own credential, over real loopback HTTP: every ``/_sim`` path but a
participant's own inbox (and its own journal entries) refuses a request without the run's
control key, before it reads a body; the framework presents the key on the simulator's
``/_sim`` paths and nowhere else."""

import http.server
import threading

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.dip.client import DipClient
from mhhs_sit.execution.local_stubs import CONTROL_HEADER as FRAMEWORK_HEADER
from mhhs_sit.execution.local_stubs import control_auth, write_control_key
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.config import CONTROL_HEADER
from mhhs_stubs.journal_access import participant_may_read
from mhhs_stubs.server import exposure_warning
from mhhs_stubs.service_desk_api import is_desk_path
from tests.helpers import FIXTURES

SUP, SDS2 = "2300000101", "1400000202"


def config(**kw):
    cohorts, problems = load_cohorts(FIXTURES / "cohorts")
    assert not problems
    return config_from_cohorts(cohorts.values(), version="1.8.2", check_responses=True, **kw)


@pytest.fixture(scope="module")
def sim():
    with EmbeddedSimulator(config()) as s:
        yield s


def control_operations(sim):
    """(method, concrete path) of every documented ``/_sim`` operation that needs the control key."""
    document = requests.get(f"{sim.url}/openapi.json", timeout=5).json()
    fill = {"{transactionID}": "T-1", "{id}": "IF-031", "{mpan}": "1100000000077", "{fault_id}": "f"}
    out = []
    for path, operations in document["paths"].items():
        if not path.startswith("/_sim") or path.startswith("/_sim/inbox"):
            continue
        for method, op in operations.items():
            assert op["security"][0].get("ControlKeyAuth") == [], f"{method} {path} does not declare the control key"
            for name, value in fill.items():
                path = path.replace(name, value)
            out.append((method.upper(), path))
    return out


def test_every_control_path_refuses_without_the_control_key(sim):
    operations = control_operations(sim)
    served = {(m, r.path) for r in sim.sim.starlette.routes for m in getattr(r, "methods", ()) if m != "HEAD"}
    gated = {(m, p) for m, p in served if p.startswith("/_sim") and not p.startswith("/_sim/inbox")}
    assert len(operations) == len(gated) == 20  # every served control route is documented and tried
    participant = sim.config.api_keys[SUP]
    wrong = (
        {},
        {CONTROL_HEADER: participant},
        {"X-API-Key": participant},
        {CONTROL_HEADER: sim.config.control_key[:-1] + ("y" if sim.config.control_key.endswith("x") else "x")},
    )
    for method, path in operations:
        for headers in wrong:
            if "X-API-Key" in headers and (participant_may_read(method, path) or is_desk_path(path)):
                continue  # a participant reads its own entries, raises its incidents there (their own tests)
            r = requests.request(method, f"{sim.url}{path}", headers=headers, json={}, timeout=5)
            assert r.status_code == 401, (method, path, headers, r.text)
            item = r.json()["messageArray"][0]
            assert item["message"] == "MSG1000 - Unauthorised" and CONTROL_HEADER in item["help"]
    assert sim.sim.defects == []  # every refusal is a documented answer
    health = requests.get(f"{sim.url}/_sim/health", headers=sim.control_headers, timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_refusals_are_journalled_without_the_key_given(sim):
    requests.get(f"{sim.url}/_sim/messages", headers={CONTROL_HEADER: "guessed-guessed-guessed"}, timeout=5)
    journal = requests.get(
        f"{sim.url}/_sim/messages", params={"kind": "refused"}, headers=sim.control_headers, timeout=5
    ).json()
    notes = [m["note"] for m in journal["messages"] if m["interface"] == "_sim"]
    assert any("401 control-key: GET /_sim/messages with an unknown" in n for n in notes)
    assert not any("guessed" in n for n in notes)


def test_the_inbox_is_its_owners_not_the_control_clients(sim):
    url = f"{sim.url}/_sim/inbox/{SDS2}"
    assert requests.get(url, headers={"X-API-Key": sim.config.api_keys[SDS2]}, timeout=5).status_code == 200
    assert requests.get(url, headers=sim.control_headers, timeout=5).status_code == 401
    assert requests.get(url, headers={"X-API-Key": sim.config.api_keys[SUP]}, timeout=5).status_code == 403


def test_the_key_is_fresh_per_start_and_never_a_participants():
    first, second = config(), config()
    assert first.control_key != second.control_key and len(first.control_key) >= 16
    with pytest.raises(ValueError, match="must differ from every participant's API key"):
        config(keys={SUP: "the-same-key-for-both"}, control_key="the-same-key-for-both")
    with pytest.raises(ValueError, match="at least 16 characters"):
        config(control_key="short")
    assert FRAMEWORK_HEADER == CONTROL_HEADER


def test_binding_beyond_loopback_is_warned_about():
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert exposure_warning(host) is None, host
    for host in ("0.0.0.0", "::", "192.168.1.20", "sim.example"):
        warning = exposure_warning(host)
        assert warning is not None and "beyond loopback" in warning and CONTROL_HEADER in warning


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = str(self.headers.get(CONTROL_HEADER)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_framework_presents_the_key_on_the_simulators_control_paths_only(sim, tmp_path):
    write_control_key(sim.config, tmp_path)
    assert (tmp_path / "control.key").stat().st_mode & 0o777 == 0o600
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    client = DipClient(sim.url, api_key_for=sim.config.api_keys.get)
    client.session.auth = control_auth(str(tmp_path), sim.url)
    try:
        assert client.request("GET", "/_sim/health").status == 200
        assert client.request("GET", f"{sim.url}/_sim/messages", params={"limit": 1}).status == 200
        assert client.request("GET", "/openapi.json").request_headers.get(CONTROL_HEADER) is None
        elsewhere = client.request("GET", f"http://127.0.0.1:{other.server_address[1]}/_sim/health")
        assert elsewhere.response_body == "None"  # another server never gets the key
    finally:
        client.close()
        other.shutdown()
        other.server_close()
    assert control_auth(None, sim.url) is None and control_auth(str(tmp_path / "none"), sim.url) is None
