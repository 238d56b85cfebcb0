"""Bad input never crashes the simulator: every answer is a documented 4xx (or 2xx), never a 500."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import REPO
from tests.test_simulator import message as appointment

SUP = "2300000101"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def sim():
    cohorts, problems = load_cohorts(REPO / "cohorts")
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
