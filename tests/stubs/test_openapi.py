"""The simulator's /openapi.json is true: every route is documented and every response conforms."""

from __future__ import annotations

import pytest
import requests
from starlette.routing import Route

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.conformance import Conformance
from mhhs_stubs.openapi import build_document
from tests.helpers import REPO
from tests.stubs.test_delivery_engine import SDS2, SUP2, advisory
from tests.test_simulator import message as appointment

SUP, REGS = "2300000101", "2200000101"


@pytest.fixture(scope="module")
def sim():
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    with EmbeddedSimulator(config_from_cohorts(cohorts.values(), version="1.8.2", check_responses=True)) as s:
        yield s


def test_every_route_is_in_the_document(sim):
    doc = requests.get(f"{sim.url}/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, item in doc["paths"].items() for method in item}
    for route in sim.sim.starlette.routes:
        assert isinstance(route, Route)
        template = route.path.replace("{interface_id}", "{id}").replace("{recipient}", "{recipient-id}")
        template = template.replace("{event_code}", "{eventCode}").replace("{transaction_id}", "{transactionID}")
        for method in route.methods - {"HEAD"}:
            assert (template, method) in documented, f"{method} {route.path} is not in /openapi.json"


def test_traffic_on_every_path_conforms_to_the_document(sim):
    u = sim.url
    k = {d: {"X-API-Key": sim.config.api_keys[d]} for d in (SUP, REGS, SUP2, SDS2)}
    ctl = sim.control_headers
    calls = [
        requests.post(f"{u}/dip-channel/IF-031", json=[{"payload": appointment()}], headers=k[SUP]),
        requests.post(f"{u}/dip-channel/IF-031", json=[{"payload": {"x": 1}}], headers=k[SUP]),
        requests.post(f"{u}/dip-channel/IF-031", json=[{"payload": appointment()}]),
        requests.post(f"{u}/dip-channel/IF-999", json=[], headers=k[SUP]),
        requests.post(f"{u}/dip-channel/IF-031", data="{", headers={**k[SUP], "Content-Type": "application/json"}),
        requests.post(f"{u}/dip-channel/IF-031", data="x", headers={**k[SUP], "Content-Type": "text/plain"}),
        requests.get(f"{u}/dip-channel/IF-031", headers=k[SUP]),
        requests.get(f"{u}/no/such/path"),
        requests.post(f"{u}/dip-channel/IF-024/pubconfig/{SDS2}", json={"callbackURL": "http://127.0.0.1:9/h"},
                      headers=k[SDS2]),
        requests.post(f"{u}/dip-channel/IF-024/pubconfig/{SDS2}", json={"callbackURL": "ftp://x"}, headers=k[SDS2]),
        requests.post(f"{u}/dip-channel/IF-024/pubconfig/{SDS2}", json={}, headers=k[SUP2]),
        requests.delete(f"{u}/dip-channel/IF-024/pubconfig/{SDS2}", headers=k[SDS2]),
        requests.post(f"{u}/dip-channel/IF-024/replay/{SDS2}", json={"datetimeFrom": None, "datetimeTo": None,
                      "eventCode": None, "MPAN": None, "version": None}, headers=k[SDS2]),
        requests.post(f"{u}/dip-channel/IF-024/replay/{SDS2}", json={}, headers=k[SDS2]),
        requests.post(f"{u}/dip-channel/IF-024/requeue/{SDS2}", json={"datetimeFrom": None, "datetimeTo": None,
                      "eventCode": None, "MPAN": None, "version": None}, headers=k[SDS2]),
        requests.post(f"{u}/statusmessage", json=[{"message": "x"}], headers=k[SDS2]),
        requests.post(f"{u}/statusmessage/config/{SUP2}", json={"callbackURL": "http://127.0.0.1:9/s"},
                      headers=k[SUP2]),
        requests.delete(f"{u}/statusmessage/config/{SUP2}", headers=k[SUP2]),
        requests.post(f"{u}/validate/IF-031/DSApp", json=[{"payload": appointment()}], headers=k[SUP]),
        requests.post(f"{u}/validate/IF-031/DSApp", json=[{"payload": {}}], headers=k[SUP]),
        requests.post(f"{u}/validate/IF-031/DSApp", json=[{"payload": {}}]),
        requests.get(f"{u}/_sim/health", headers=sim.control_headers),
        requests.get(f"{u}/_sim/messages", headers=sim.control_headers, params={"interface": "IF-031", "limit": 5}),
        requests.get(f"{u}/_sim/messages", headers=sim.control_headers, params={"nonsense": 1}),
        requests.get(f"{u}/_sim/messages/T-nope", headers=sim.control_headers),
        requests.get(f"{u}/_sim/wait", headers=sim.control_headers, params={"interface": "IF-031", "timeout": 0.2}),
        requests.get(f"{u}/_sim/wait", headers=sim.control_headers, params={"mpan": "1999999999999", "timeout": 0.1}),
        requests.get(f"{u}/_sim/deliveries", headers=sim.control_headers, params={"status": "delivered"}),
        requests.get(f"{u}/_sim/deliveries", headers=sim.control_headers, params={"status": "sideways"}),
        requests.post(f"{u}/_sim/route/IF-024", json=[{"payload": advisory()}], headers={**k[SUP2], **ctl}),
        requests.post(f"{u}/_sim/route/IF-024", headers=sim.control_headers, json=[{"payload": advisory()}]),
        requests.post(f"{u}/_sim/appointments", headers=sim.control_headers, json={"1100000000077": {"SUP": SUP}}),
        requests.post(f"{u}/_sim/appointments", headers=sim.control_headers, json=[]),
        requests.get(f"{u}/_sim/appointments/1100000000077", headers=sim.control_headers),
        requests.get(f"{u}/_sim/inbox/{SDS2}", headers=k[SDS2]),
        requests.get(f"{u}/_sim/inbox/{SDS2}", headers=k[SUP2]),
        requests.post(f"{u}/_sim/inbox/{SDS2}/ack", json={"transactionIDs": []}, headers=k[SDS2]),
        requests.post(f"{u}/_sim/inbox/{SDS2}/ack", json={}, headers=k[SDS2]),
        requests.post(f"{u}/_sim/idle", headers=sim.control_headers),
    ]  # fmt: skip
    statuses = {r.status_code for r in calls}
    assert {200, 201, 204, 400, 401, 403, 404, 405} <= statuses
    health = requests.get(f"{u}/_sim/health", headers=sim.control_headers, timeout=5).json()
    assert sim.sim.defects == [] and health["defects"] == 0


def test_the_checker_catches_a_response_that_drifts_from_the_document():
    check = Conformance(build_document("test"))
    ok = b'{"messageArray": [], "timestamp": "2026-01-01T00:00:00+00:00"}'
    assert check.problems("POST", "/dip-channel/IF-031", 201, "application/json", ok) == []
    missing = check.problems("POST", "/dip-channel/IF-031", 201, "application/json", b'{"messageArray": []}')
    assert missing and "timestamp" in missing[0]
    assert "not documented" in check.problems("POST", "/dip-channel/IF-031", 418, "application/json", ok)[0]
    assert "Content-Type" in check.problems("POST", "/dip-channel/IF-031", 201, "text/html", ok)[0]
    assert "not in /openapi.json" in check.problems("GET", "/_sim/secret", 200, "application/json", b"{}")[0]
    bad_item = b'{"messageArray": [{"message": "hello"}], "timestamp": "2026-01-01T00:00:00+00:00"}'
    assert check.problems("POST", "/dip-channel/IF-031", 400, "application/json", bad_item)
