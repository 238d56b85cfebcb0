"""The simulator's answers against the official DIP spec's own response schemas, read from
``../shared/dip-api-spec`` (never copied into the project): accepted and refused sends, every
kind of refusal, webhooks, status messages, ``/validate``; and ``Allow`` on a 405."""

import copy
from pathlib import Path

import pytest
import requests
from jsonschema import Draft4Validator

from mhhs_sit.catalogue.openapi import Inliner
from mhhs_sit.catalogue.specfiles import SpecFiles
from mhhs_stubs.answers import HELP_LIMIT, STANDARD_FIELDS, bounded_help
from mhhs_stubs.openapi import STANDARD_ITEM_FIELDS
from tests.helpers import REPO, simulating
from tests.stubs.messages import appointment

SPEC_DIR = REPO.parent / "shared" / "dip-api-spec"
ROOT = "SubmitEvents-unresolved.yaml"
SUP, SDS2, SUP2 = "2300000101", "1400000202", "2300000202"


@pytest.fixture(scope="module")
def official():
    if not (SPEC_DIR / ROOT).is_file():
        pytest.skip(f"the official DIP spec is not at {SPEC_DIR} (../shared/dip-api-spec)")
    inliner = Inliner(SpecFiles(Path(SPEC_DIR)))
    schema = inliner.schema(ROOT, ("components", "schemas", "StandardResponse"))
    assert not inliner.problems
    # the official object leaves its keys optional at the top; the DIP always sends both
    return Draft4Validator({**schema, "required": ["messageArray", "timestamp"]})


@pytest.fixture(scope="module")
def sim():
    with simulating(REPO / "cohorts") as s:
        yield s


def key(sim, dip_id=SUP):
    return {"X-API-Key": sim.config.api_keys[dip_id]}


def many_violations() -> dict:
    bad = copy.deepcopy(appointment())
    block = bad["CustomBlock"]["B071"]
    for name in list(block):
        block[name] = 42 if not isinstance(block[name], int) else "x"
    bad["CommonBlock"]["S1"]["senderUniqueReference"] = "not a SUR " * 30
    return bad


def answers(sim):
    u = sim.url
    post = requests.post
    return {
        "accepted": post(f"{u}/dip-channel/IF-031", json=[{"payload": appointment()}], headers=key(sim)),
        "many violations": post(f"{u}/dip-channel/IF-031", json=[{"payload": many_violations()}], headers=key(sim)),
        "no key": post(f"{u}/dip-channel/IF-031", json=[{"payload": appointment()}]),
        "unknown key": post(f"{u}/dip-channel/IF-031", json=[], headers={"X-API-Key": "nope"}),
        "unknown interface": post(f"{u}/dip-channel/IF-999", json=[], headers=key(sim)),
        "not JSON": post(f"{u}/dip-channel/IF-031", data="{", headers={**key(sim), "Content-Type": "application/json"}),
        "too deep": post(f"{u}/dip-channel/IF-031", data="[" * 200 + "]" * 200,
                         headers={**key(sim), "Content-Type": "application/json"}),
        "too many": post(f"{u}/dip-channel/IF-031", json=[{}] * 1001, headers=key(sim)),
        "not allowed": requests.request("TRACE", f"{u}/dip-channel/IF-031"),
        "no such path": requests.get(f"{u}/nowhere"),
        "webhook": post(f"{u}/dip-channel/IF-024/pubconfig/{SDS2}", json={"callbackURL": "http://127.0.0.1:9/h"},
                        headers=key(sim, SDS2)),
        "webhook for another": post(f"{u}/dip-channel/IF-024/pubconfig/{SDS2}", json={}, headers=key(sim, SUP2)),
        "status about nothing": post(f"{u}/statusmessage", json=[{"transactionID": "T-1", "message": "x"}],
                                     headers=key(sim, SDS2)),
        "control without key": requests.get(f"{u}/_sim/messages"),
    }  # fmt: skip


def test_every_standard_response_is_valid_against_the_official_schema(sim, official):
    got = answers(sim)
    for what, r in got.items():
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in official.iter_errors(r.json())]
        assert not errors, (what, r.status_code, errors)
    accepted = got["accepted"].json()["messageArray"][0]
    assert accepted["recipientID"] == SUP and accepted["senderID"] == "0000000000"  # from the DIP, to the sender
    refused = got["no key"].json()["messageArray"][0]
    assert refused["sentTimestamp"] and refused["senderID"] and refused["recipientID"] is None


def test_a_long_list_of_violations_is_cut_with_a_count_and_kept_whole_elsewhere(sim):
    r = requests.post(f"{sim.url}/dip-channel/IF-031", json=[{"payload": many_violations()}], headers=key(sim))
    item, violations = r.json()["messageArray"][0], r.json()["violations"]
    assert len(item["help"]) <= HELP_LIMIT and len(violations) > 5
    shown = [v for v in violations if f"{v['pointer']}: {v['message']}" in item["help"]]
    assert shown and item["help"].startswith(f"{shown[0]['pointer']}: {shown[0]['message']}")
    assert item["help"].endswith(f" (and {len(violations) - len(shown)} more; every one is in the journal)")


def test_the_documented_item_has_every_field_the_answers_carry():
    assert set(STANDARD_ITEM_FIELDS) == set(STANDARD_FIELDS)


def test_bounded_help():
    assert bounded_help(["a", "b"]) == "a; b"
    cut = bounded_help(["x" * 300, "y" * 300, "z"])
    assert cut == "x" * 300 + " (and 2 more; every one is in the journal)"
    alone = bounded_help(["w" * 900])
    assert len(alone) == HELP_LIMIT and alone.endswith("…")
    assert len(bounded_help(["v" * 900, "u"])) == HELP_LIMIT


def test_405_says_what_is_allowed(sim):
    assert requests.request("TRACE", f"{sim.url}/dip-channel/IF-031").headers["Allow"] == "POST"
    r = requests.put(f"{sim.url}/_sim/faults", headers=sim.control_headers)
    assert r.status_code == 405 and r.headers["Allow"] == "DELETE, GET, HEAD, POST"
    r = requests.get(f"{sim.url}/statusmessage/config/{SUP}", headers=key(sim))
    assert r.status_code == 405 and r.headers["Allow"] == "DELETE, POST"


def test_validate_answers_json_strings_as_the_spec_says(sim):
    spec_responses = {"201", "400", "500"}  # what the official /validate operations list
    ok = requests.post(f"{sim.url}/validate/IF-031/DSApp", json=[{"payload": appointment()}], headers=key(sim))
    bad = requests.post(f"{sim.url}/validate/IF-031/DSApp", json=[{"payload": {}}], headers=key(sim))
    for r in (ok, bad):
        assert str(r.status_code) in spec_responses and r.headers["content-type"] == "application/json"
        assert isinstance(r.json(), str)
    assert ok.json() == "Message OK" and "/0/payload" in bad.json()
