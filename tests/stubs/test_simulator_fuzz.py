"""Bad input never crashes the simulator: every answer is a documented 4xx (or 2xx), never a 500."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import FIXTURES
from tests.test_simulator import message as appointment

SUP = "2300000101"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def sim():
    cohorts, problems = load_cohorts(FIXTURES / "cohorts")
    assert not problems
    config = config_from_cohorts(cohorts.values(), version="1.8.2", check_responses=True, max_body_bytes=4096)
    with EmbeddedSimulator(config) as s:
        yield s
        assert s.sim.defects == []


def _mutations():
    def mutate(path_and_value):
        path, value = path_and_value
        m = appointment()
        target = m
        for key in path[:-1]:
            target = target.setdefault(key, {}) if isinstance(target, dict) else target
        if isinstance(target, dict):
            target[path[-1]] = value
        return [{"payload": m}]

    paths = st.sampled_from(
        [
            ("CommonBlock", "S0", "interfaceID"),
            ("CommonBlock", "S1", "senderTimestamp"),
            ("CommonBlock", "S1", "senderDIPID"),
            ("CommonBlock", "A0", "primaryRecipients"),
            ("CommonBlock", "M0", "MPANCore"),
            ("CustomBlock", "B071"),
            ("CommonBlock",),
            ("CustomBlock",),
        ]
    )
    return st.tuples(paths, json_values).map(mutate)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, _mutations()))
def test_any_json_body_gets_a_documented_answer(sim, body):
    r = requests.post(
        f"{sim.url}/dip-channel/IF-031", json=body, headers={"X-API-Key": sim.config.api_keys[SUP]}, timeout=10
    )
    assert r.status_code in (201, 400, 413), r.text  # json=None sends no body: 400 (no JSON Content-Type)
    assert r.json()["messageArray"], "every answer says why"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=6000), ctype=st.sampled_from(["application/json", "text/plain", "", "application/xml"]))
def test_any_bytes_get_a_clear_4xx(sim, raw, ctype):
    headers = {"X-API-Key": sim.config.api_keys[SUP]}
    if ctype:
        headers["Content-Type"] = ctype
    r = requests.post(f"{sim.url}/dip-channel/IF-031", data=raw, headers=headers, timeout=10)
    try:
        json.loads(raw)
        parsed = True
    except ValueError:
        parsed = False
    assert r.status_code < 500
    if not parsed and "json" in ctype and len(raw) <= 4096:
        assert r.status_code == 400 and "not valid JSON" in r.json()["messageArray"][0]["help"]
    if len(raw) > 4096:
        assert r.status_code == 413


FILLED = {"{id}": "IF-031", "{recipient-id}": SUP, "{transactionID}": "T-1", "{mpan}": "1100000000077",
          "{dip_id}": SUP, "{fault_id}": "f", "{eventCode}": "DSApp"}  # fmt: skip


def _operations(sim) -> list[tuple[str, str]]:
    """Every documented operation with its path filled in."""
    document = requests.get(f"{sim.url}/openapi.json", timeout=5).json()
    out = []
    for path, operations in document["paths"].items():
        for name, value in FILLED.items():
            path = path.replace(name, value)
        out += [(method.upper(), path) for method in operations]
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), body=json_values, as_control=st.booleans(), as_participant=st.booleans())
def test_every_path_answers_any_json_without_a_5xx(sim, data, body, as_control, as_participant):
    """As a participant, as the control client, as both or neither: a documented answer (the module's
    fixture holds each to /openapi.json) and never a 5xx."""
    method, path = data.draw(st.sampled_from(_operations(sim)))
    headers = {**(sim.control_headers if as_control else {})}
    if as_participant:
        headers["X-API-Key"] = sim.config.api_keys[SUP]
    params = {"timeout": 0} if path in ("/_sim/idle", "/_sim/wait") else None  # no waiting out timeouts
    r = requests.request(method, f"{sim.url}{path}", json=body, headers=headers, params=params, timeout=10)
    requests.delete(f"{sim.url}/_sim/faults", headers=sim.control_headers, timeout=5)  # none outlives its example
    assert r.status_code < 500, (method, path, r.status_code, r.text)
