import threading
import time

import pytest
import requests

from mhhs_sit.dip.receiver import Receiver
from mhhs_sit.errors import ScenarioFailure


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def post(receiver, dip_id, interface, payloads):
    return requests.post(receiver.callback_url(dip_id, interface), json=[{"payload": p} for p in payloads], timeout=5)


def test_messages_that_arrived_before_the_wait_are_found(receiver):
    start = receiver.inbox.next_seq
    assert post(receiver, "2300000101", "IF-032", [{"n": 1}]).status_code == 201
    item = receiver.inbox.wait_for(lambda m: m.payload["n"] == 1, since=start, timeout=1)
    assert item is not None and item.dip_id == "2300000101" and item.interface_id == "IF-032"


def test_wait_blocks_until_a_matching_message_arrives(receiver):
    start = receiver.inbox.next_seq
    threading.Timer(0.2, post, args=(receiver, "1", "IF-033", [{"n": 2}])).start()
    t0 = time.monotonic()
    item = receiver.inbox.wait_for(lambda m: m.payload.get("n") == 2, since=start, timeout=5)
    assert item is not None and 0.15 < time.monotonic() - t0 < 2


def test_claimed_messages_are_not_matched_twice_and_timeouts_return_none(receiver):
    start = receiver.inbox.next_seq
    post(receiver, "1", "IF-033", [{"n": 3}])
    assert receiver.inbox.wait_for(lambda m: True, since=start, timeout=1, claim="a") is not None
    assert receiver.inbox.wait_for(lambda m: True, since=start, timeout=0.1, claim="b") is None


def test_a_raising_predicate_ends_the_wait_at_once(receiver):
    start = receiver.inbox.next_seq
    post(receiver, "1", "IF-035", [{"event": "rejected"}])

    def predicate(m):
        raise ScenarioFailure("forbidden")

    with pytest.raises(ScenarioFailure):
        receiver.inbox.wait_for(predicate, since=start, timeout=5)


def test_bad_bodies_are_refused_with_rcp_codes(receiver):
    r = requests.post(receiver.callback_url("1", "IF-1"), data=b"{not json", timeout=5)
    assert r.status_code == 400 and r.json()["messageArray"][0]["message"].startswith("RCP1001")
    r = requests.post(receiver.base_url + "/elsewhere", json=[], timeout=5)
    assert r.status_code == 404
