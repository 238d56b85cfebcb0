"""The DIP client's own behaviour, pinned with ``responses`` (no server involved)."""

import json

import pytest
import requests
import responses

from mhhs_sit.dip.client import DipClient
from mhhs_sit.dip.envelope import response_code
from mhhs_sit.errors import EnvironmentBroken

BASE = "http://dip.test"


def client(**kw):
    return DipClient(BASE, api_key_for=lambda dip_id: f"key-{dip_id}", backoff=0, **kw)


def standard(code):
    return {"messageArray": [{"message": f"{code} - x"}], "timestamp": "2026-01-01T00:00:00+00:00"}


@responses.activate
def test_send_posts_a_dip_message_array_with_the_participants_key():
    responses.post(f"{BASE}/dip-channel/IF-031", json=standard("MSG0000"), status=201)
    ex = client().send("IF-031", [{"CommonBlock": {}, "CustomBlock": {}}], dip_id="2300000101")
    call = responses.calls[0].request
    assert json.loads(call.body) == [{"payload": {"CommonBlock": {}, "CustomBlock": {}}}]
    assert call.headers["X-API-Key"] == "key-2300000101"
    assert ex.status == 201 and response_code(ex.response_body) == "MSG0000"
    assert ex.request_headers["X-API-Key"] == "***"  # never recorded in evidence


@responses.activate
def test_retry_resends_the_same_body_and_reads_msg1006_as_accepted_earlier():
    responses.post(f"{BASE}/dip-channel/IF-031", status=502)  # a gateway error: maybe processed
    responses.post(f"{BASE}/dip-channel/IF-031", json=standard("MSG1006"), status=400)
    ex = client().send("IF-031", [{"CommonBlock": {"S1": {"x": 1}}}], dip_id="2300000101")
    bodies = [c.request.body for c in responses.calls]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    # recorded as it came: the refusal, marked as an acceptance by the earlier attempt (no answer invented)
    assert ex.status == 400 and ex.recovered and response_code(ex.response_body) == "MSG1006"
    assert "accepted by an earlier attempt whose answer was lost (HTTP 502)" in ex.note
    assert ex.attempts == 2
    assert ex.as_dict()["recovered"] == {"transactionID": None}


@responses.activate
def test_after_a_503_a_duplicate_refusal_is_a_real_duplicate():
    """503 (and 408, 429) say the request was not processed: MSG1006 then means the reference was
    already used by another message, and the client must not call that an acceptance."""
    responses.post(f"{BASE}/dip-channel/IF-031", status=503)
    responses.post(f"{BASE}/dip-channel/IF-031", json=standard("MSG1006"), status=400)
    ex = client().send("IF-031", [{"CommonBlock": {"S1": {"x": 1}}}], dip_id="2300000101")
    assert ex.status == 400 and not ex.recovered and ex.attempts == 2


@responses.activate
def test_an_empty_answer_to_a_send_is_asked_again():
    responses.post(f"{BASE}/dip-channel/IF-031", body=b"", status=201)
    responses.post(f"{BASE}/dip-channel/IF-031", json=standard("MSG1006"), status=400)
    ex = client().send("IF-031", [{"CommonBlock": {"S1": {"x": 1}}}], dip_id="2300000101")
    assert ex.attempts == 2 and ex.recovered and ex.status == 400


@responses.activate
def test_a_first_time_duplicate_is_not_hidden():
    responses.post(f"{BASE}/dip-channel/IF-031", json=standard("MSG1006"), status=400)
    ex = client().send("IF-031", [{}], dip_id="2300000101")
    assert ex.status == 400 and ex.note == ""


@responses.activate
def test_connection_errors_become_environment_broken_after_retries():
    responses.post(f"{BASE}/dip-channel/IF-031", body=requests.ConnectionError("Connection refused"))
    with pytest.raises(EnvironmentBroken, match=r"cannot connect: Connection refused \(after 3 attempts\)"):
        client(retries=2).send("IF-031", [{}], dip_id="2300000101")
    assert len(responses.calls) == 3


@responses.activate
def test_non_idempotent_http_post_is_not_retried():
    responses.post(f"{BASE}/other", status=503)
    ex = client(retries=3).request("POST", "/other", body={"a": 1})
    assert ex.status == 503 and len(responses.calls) == 1


@responses.activate
def test_get_is_retried_and_honours_retry_after():
    responses.get(f"{BASE}/q", status=429, headers={"Retry-After": "0"})
    responses.get(f"{BASE}/q", json={"ok": True}, status=200)
    ex = client().request("GET", "/q")
    assert ex.status == 200 and ex.response_body == {"ok": True} and ex.attempts == 2


@responses.activate
def test_webhook_refusal_is_broken_with_the_reason():
    responses.post(f"{BASE}/dip-channel/IF-032/pubconfig/2300000101", json=standard("MSG1009"), status=403)
    with pytest.raises(EnvironmentBroken, match="refused the webhook for IF-032"):
        client().configure_webhook("IF-032", "2300000101", "http://127.0.0.1:1/hook")


@responses.activate
def test_a_webhook_refused_by_an_injected_fault_names_the_fault():
    """The answer's message and help, not its JSON cut at a length that ends before the help."""
    item = {k: None for k in ("transactionID", "senderUniqueReference", "correlationID", "recipientID")}
    item |= {"sentTimestamp": "2026-01-01T00:00:00+00:00", "senderID": "0000000000", "DIPConnectionProviderID": None}
    item |= {"message": "MSG1000 - Service Unavailable", "help": "HTTP 503 injected by simulator fault busy-dip"}
    body = {"messageArray": [item], "timestamp": "2026-01-01T00:00:00+00:00"}
    for _ in range(4):
        responses.post(f"{BASE}/dip-channel/IF-032/pubconfig/2300000101", json=body, status=503)
    with pytest.raises(
        EnvironmentBroken, match="HTTP 503 MSG1000 - Service Unavailable HTTP 503 injected by simulator fault busy-dip"
    ):
        client().configure_webhook("IF-032", "2300000101", "http://127.0.0.1:1/hook")


# -- signing ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def credential():
    from mhhs_stubs.tls import RunCA

    return RunCA().participant("2300000101")


@responses.activate
def test_every_request_is_signed_verifiably_and_evidence_keeps_no_secret(credential):
    from mhhs_sit.dip.signing import SIGNATURE, Signer, verify

    responses.post(f"{BASE}/dip-channel/IF-031", status=503)
    responses.post(f"{BASE}/dip-channel/IF-031", json=standard("MSG0000"), status=201)
    ex = client(signer_for=lambda dip_id: Signer(credential.key, credential.cert_pem)).send(
        "IF-031", [{"CommonBlock": {}}], dip_id="2300000101"
    )
    assert ex.status == 201 and len(responses.calls) == 2
    for call in responses.calls:  # each attempt carries its own, valid signature
        req = call.request
        result = verify(req.method, req.url, req.headers, req.body, credential.cert)
        assert result.ok, str(result)
    evidence = json.dumps(ex.as_dict())
    for call in responses.calls:
        assert call.request.headers[SIGNATURE] not in evidence
    assert "key-2300000101" not in evidence
    assert ex.request_headers[SIGNATURE] == "***"
    assert len(ex.request_headers["X-DIP-Signature-Certificate"]) < 60  # shortened, not the whole PEM


@responses.activate
def test_the_signature_covers_the_query_string_and_an_empty_body(credential):
    from mhhs_sit.dip.signing import CONTENT_HASH, Signer, content_hash, verify

    responses.get(f"{BASE}/q", json={}, status=200)
    client(signer_for=lambda dip_id: Signer(credential.key, credential.cert_pem)).request(
        "GET", "/q", dip_id="2300000101", params={"a": "B c"}
    )
    req = responses.calls[0].request
    assert req.url == f"{BASE}/q?a=B+c"
    assert req.headers[CONTENT_HASH] == content_hash(b"")
    assert verify("GET", req.url, req.headers, b"", credential.cert).ok
    assert not verify("GET", f"{BASE}/q", req.headers, b"", credential.cert).ok


@responses.activate
def test_no_signer_means_no_signature_headers():
    responses.post(f"{BASE}/dip-channel/IF-031", json=standard("MSG0000"), status=201)
    client(signer_for=lambda dip_id: None).send("IF-031", [{}], dip_id="2300000101")
    assert not any(h.lower().startswith("x-dip-") for h in responses.calls[0].request.headers)


@responses.activate
def test_a_request_carries_what_the_session_would_add_under_the_calls_own_headers():
    """The client prepares requests itself; the session's headers, params, cookies and hooks still
    apply as ``Session.request`` applies them."""
    responses.get(f"{BASE}/q", json={}, status=200)
    session = requests.Session()
    session.headers.update({"X-Team": "sit", "accept": "text/plain", "User-Agent": None})
    session.params = {"env": "a", "tag": "session"}
    session.cookies.set("sid", "42")
    seen = []
    session.hooks["response"].append(lambda r, **kw: seen.append(r.status_code))
    ex = client(session=session).request("GET", "/q", headers={"X-Case": "1"}, params={"tag": "call"})
    req = responses.calls[0].request
    assert req.url == f"{BASE}/q?env=a&tag=call"
    assert req.headers["X-Team"] == "sit" and req.headers["X-Case"] == "1"
    assert req.headers["Accept"] == "application/json"  # the call's, whatever the spelling
    assert "User-Agent" not in req.headers  # a header the session sets to None is not sent
    assert req.headers["Cookie"] == "sid=42"
    assert seen == [200] and ex.status == 200


@responses.activate
def test_the_same_url_prepared_again_is_the_same_url():
    responses.get(f"{BASE}/a%20b/é", json={}, status=200)
    first = client().request("GET", "/a b/é")
    second = client().request("GET", "/a b/é")
    assert first.status == second.status == 200
    assert responses.calls[0].request.url == responses.calls[1].request.url == f"{BASE}/a%20b/%C3%A9"


@responses.activate
def test_a_cookie_an_answer_sets_is_sent_with_the_next_call_and_a_redirect_is_followed():
    """As ``Session.send`` would: a portal's login cookie is kept, and a redirect leads on."""
    responses.post(f"{BASE}/login", json={}, status=200, headers={"Set-Cookie": "portal=abc; Path=/"})
    responses.get(f"{BASE}/old", status=302, headers={"Location": f"{BASE}/new"})
    responses.get(f"{BASE}/new", json={"moved": True}, status=200)
    c = client()
    c.request("POST", "/login", body={})
    ex = c.request("GET", "/old")
    assert ex.status == 200 and ex.response_body == {"moved": True}
    assert [call.request.url for call in responses.calls] == [f"{BASE}/login", f"{BASE}/old", f"{BASE}/new"]
    assert responses.calls[1].request.headers["Cookie"] == "portal=abc"
    assert responses.calls[2].request.headers["Cookie"] == "portal=abc"


@responses.activate
def test_a_redirect_is_followed_when_no_cookie_was_ever_set():
    """The empty cookie jar is skipped when preparing a call; following a redirect still has one."""
    responses.get(f"{BASE}/old", status=307, headers={"Location": f"{BASE}/new"})
    responses.get(f"{BASE}/new", json={"moved": True}, status=200)
    ex = client().request("GET", "/old")
    assert ex.status == 200 and ex.response_body == {"moved": True}
    assert "Cookie" not in responses.calls[1].request.headers


@responses.activate
def test_credentials_in_the_url_are_sent_as_basic_auth_as_requests_sends_them():
    responses.get("https://sit:pa55@dip.example.test/q", json={}, status=200)
    client().request("GET", "https://sit:pa55@dip.example.test/q")
    assert responses.calls[0].request.headers["Authorization"] == "Basic c2l0OnBhNTU="
