"""Authentication by the embedded DIP simulator, over real loopback HTTP and HTTPS (mutual TLS).

Each refusal is checked for its status, DIP code and a help text naming what to fix, and the
same request with the right credentials is shown to pass, so no refusal passes by accident.
"""

import datetime as dt
import json
import os
import time
from dataclasses import replace

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.dip.client import DipClient
from mhhs_sit.dip.envelope import ReferenceSource, Sender, build_message
from mhhs_sit.dip.signing import CONTENT_HASH, SIGNATURE, SIGNATURE_CERTIFICATE, SIGNATURE_DATE, Signer
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from mhhs_stubs.tls import RunCA
from tests.helpers import FIXTURES, REPO
from tests.stubs.messages import b071

SUP1, SUP2, SDS1 = "2300000101", "2300000202", "1400000101"
B071 = b071(SDS1)
REFS = ReferenceSource()


def config(**kw):
    cohorts, problems = load_cohorts(FIXTURES / "cohorts")
    assert not problems
    return config_from_cohorts(cohorts.values(), version="1.8.2", **kw)


@pytest.fixture(scope="module")
def sim():
    with EmbeddedSimulator(config(signing="required")) as s:
        yield s


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    with EmbeddedSimulator(config(signing="required", tls=True)) as s:
        s.files = s.write_credentials(tmp_path_factory.mktemp("credentials"), [SUP1, SUP2])
        yield s


def batch(sender=SUP1):
    message = build_message(
        interface_id="IF-031", event="DSApp", sender=Sender(sender, "SUP"), environment_tag="DEV", refs=REFS,
        custom={"B071": B071}, recipients=["2200000101"], mpan="1000000000011", distributor_dip_id="2500000101",
    )  # fmt: skip
    return json.dumps([{"payload": message}], separators=(",", ":")).encode()


def signer(sim, dip_id):
    return sim.config.credentials.participant(dip_id).signer()


def post(sim, body=None, *, key_of=SUP1, sign_as=SUP1, path="/dip-channel/IF-031", now=None, tamper=None, **kw):
    """POST as ``key_of``'s API key, signed with ``sign_as``'s key (None: unsigned)."""
    body = batch() if body is None else body
    url = sim.url + path
    headers = {"Content-Type": "application/json"}
    if key_of:
        headers["X-API-Key"] = sim.config.api_keys.get(key_of, key_of)
    if sign_as:
        headers.update(signer(sim, sign_as).headers("POST", url, body, now=now))
    if tamper:
        body = tamper(headers, body)
    return requests.post(url, data=body, headers=headers, timeout=10, **kw)


def refusal(r):
    item = r.json()["messageArray"][0]
    return r.status_code, item["message"], item["help"]


def test_a_signed_request_with_the_right_key_is_accepted(sim):
    r = post(sim)
    assert r.status_code == 201, r.text


def test_missing_api_key_is_401(sim):
    status, message, help_ = refusal(post(sim, key_of=None))
    assert (status, message) == (401, "MSG1000 - Unauthorised") and "missing X-API-Key" in help_


def test_unknown_api_key_is_401(sim):
    status, message, help_ = refusal(post(sim, key_of="not-a-key-of-this-run"))
    assert (status, message) == (401, "MSG1000 - Unauthorised") and "not one this simulator issued" in help_


def test_a_missing_signature_is_401_when_signing_is_required(sim):
    status, message, help_ = refusal(post(sim, sign_as=None))
    assert (status, message) == (401, "MSG1000 - Message Signature Invalid")
    assert "X-DIP-Signature" in help_ and "X-DIP-Content-Hash" in help_


def test_a_forged_signature_is_refused(sim):
    def present_sup1_certificate(headers, body):  # signed with SUP2's key, claiming SUP1's certificate
        headers[SIGNATURE_CERTIFICATE] = signer(sim, SUP1).headers("POST", "x", b"")[SIGNATURE_CERTIFICATE]
        return body

    status, message, help_ = refusal(post(sim, sign_as=SUP2, tamper=present_sup1_certificate))
    assert (status, message) == (401, "MSG1000 - Message Signature Invalid")
    assert "X-DIP-Signature does not verify" in help_


def test_a_signature_from_another_ca_is_refused(sim):
    stranger = RunCA().participant(SUP1)  # right DIP ID, wrong issuer

    def resign(headers, body):
        headers.update(stranger.signer().headers("POST", sim.url + "/dip-channel/IF-031", body))
        return body

    status, message, help_ = refusal(post(sim, tamper=resign))
    assert (status, message) == (401, "MSG1000 - Message Signature Invalid")
    assert "nor issued by this run's CA" in help_


def test_a_body_altered_after_signing_is_refused(sim):
    status, message, help_ = refusal(post(sim, tamper=lambda h, body: body.replace(b'"C-1"', b'"C-2"')))
    assert (status, message) == (401, "MSG1000 - Message Signature Invalid")
    assert "X-DIP-Content-Hash" in help_ and "does not verify" not in help_


def test_a_stale_signature_date_is_refused(sim):
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    status, _, help_ = refusal(post(sim, now=old))
    assert status == 401 and "X-DIP-Signature-Date" in help_ and "old" in help_


def test_a_signature_date_in_the_future_is_refused(sim):
    status, _, help_ = refusal(post(sim, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)))
    assert status == 401 and "in the future" in help_


def test_a_signature_by_a_with_the_api_key_of_b_is_403(sim):
    status, message, help_ = refusal(post(sim, batch(SUP2), key_of=SUP2, sign_as=SUP1))
    assert (status, message) == (403, "MSG1000 - Forbidden")
    assert f"signed with {SUP1}'s certificate but the X-API-Key is {SUP2}'s" in help_
    assert post(sim, batch(SUP2), key_of=SUP2, sign_as=SUP2).status_code == 201  # B's own credentials pass


def test_sending_as_another_dip_id_is_still_msg1009(sim):
    r = post(sim, batch(SUP2))  # SUP1's key and signature, SUP2 as senderDIPID
    assert r.status_code == 400 and r.json()["messageArray"][0]["message"].startswith("MSG1009")


def test_webhook_configuration_is_authenticated_too(sim):
    body = json.dumps({"callbackURL": "http://127.0.0.1:9/hook"}).encode()
    path = f"/dip-channel/IF-032/pubconfig/{SUP1}"
    assert refusal(post(sim, body, path=path, sign_as=None))[0] == 401
    assert post(sim, body, path=path).status_code == 201


def test_refusals_are_journalled(sim):
    post(sim, key_of=SUP1, sign_as=None)
    journal = requests.get(
        f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"kind": "refused"}, timeout=5
    ).json()
    notes = [m.get("note") or "" for m in journal["messages"]]
    assert any(n.startswith("401 missing-header") for n in notes), notes


@pytest.mark.parametrize("mode", ["optional", "off"])
def test_signing_can_be_relaxed(mode):
    with EmbeddedSimulator(config(signing=mode)) as s:
        assert post(s, sign_as=None).status_code == 201  # the API key alone is enough
        altered = post(s, tamper=lambda h, body: body.replace(b'"C-1"', b'"C-2"'))
        # optional: a signature that is sent must be right; off: it is ignored
        assert altered.status_code == (401 if mode == "optional" else 201)
        assert post(s, key_of=None).status_code == 401  # never without a key


def test_an_unknown_signing_mode_is_refused():
    with pytest.raises(ValueError, match="signing must be one of required, optional, off"):
        replace(config(), signing="sometimes")


# -- mutual TLS -----------------------------------------------------------------------------------


def client_cert(sim, dip_id):
    return (str(sim.files / f"{dip_id}.pem"), str(sim.files / f"{dip_id}.key"))


def test_https_with_the_participants_client_certificate_is_accepted(tls_sim):
    assert tls_sim.url.startswith("https://127.0.0.1:")
    r = post(tls_sim, verify=str(tls_sim.files / "ca.pem"), cert=client_cert(tls_sim, SUP1))
    assert r.status_code == 201, r.text


# With TLS 1.3 the server checks the client certificate after the client's side of the handshake
# is done: the client sees an SSL error or the connection closed, depending on timing.
def test_a_client_without_a_certificate_cannot_connect(tls_sim):
    with pytest.raises(requests.exceptions.ConnectionError):
        post(tls_sim, verify=str(tls_sim.files / "ca.pem"))


def test_a_client_certificate_from_another_ca_cannot_connect(tls_sim, tmp_path):
    other = RunCA().participant(SUP1)
    (tmp_path / "c.pem").write_bytes(other.cert_pem)
    (tmp_path / "c.key").write_bytes(other.key_pem)
    with pytest.raises(requests.exceptions.ConnectionError):
        post(tls_sim, verify=str(tls_sim.files / "ca.pem"), cert=(str(tmp_path / "c.pem"), str(tmp_path / "c.key")))


def test_the_server_certificate_is_issued_by_the_runs_ca(tls_sim):
    with pytest.raises(requests.exceptions.SSLError):
        post(tls_sim, cert=client_cert(tls_sim, SUP1))  # the system CA store does not know the run's CA


def test_another_participants_client_certificate_is_403(tls_sim):
    # SUP2's key and signature, over a TLS connection authenticated as SUP1
    r = post(
        tls_sim, batch(SUP2), key_of=SUP2, sign_as=SUP2, verify=str(tls_sim.files / "ca.pem"),
        cert=client_cert(tls_sim, SUP1),
    )  # fmt: skip
    status, message, help_ = refusal(r)
    assert (status, message) == (403, "MSG1000 - Forbidden")
    assert f"client certificate is {SUP1}'s but the X-API-Key is {SUP2}'s" in help_


def test_credentials_are_written_for_a_system_under_test(tls_sim):
    files = {p.name: p.stat().st_mode & 0o777 for p in tls_sim.files.iterdir()}
    assert files[f"{SUP1}.key"] == 0o600 and files["server.key"] == 0o600
    assert {"ca.pem", "server.pem", "dip.pem", f"{SUP1}.pem", f"{SUP2}.pem"} <= set(files)
    assert tls_sim.files.stat().st_mode & 0o777 == 0o700


# -- the framework's client against it ---------------------------------------------------------


def test_dip_client_signs_and_uses_mtls_and_keeps_secrets_out_of_evidence(tls_sim):
    keys = tls_sim.config.api_keys
    client = DipClient(
        tls_sim.url, api_key_for=keys.get, verify=str(tls_sim.files / "ca.pem"),
        signer_for=lambda d: Signer.from_pem(
            (tls_sim.files / f"{d}.key").read_bytes(), (tls_sim.files / f"{d}.pem").read_bytes()
        ),
        cert_for=lambda d: client_cert(tls_sim, d),
    )  # fmt: skip
    try:
        ex = client.send("IF-031", [json.loads(batch())[0]["payload"]], dip_id=SUP1)
        assert ex.status == 201, ex.response_body
        hook = client.configure_webhook("IF-032", SUP2, "http://127.0.0.1:9/hook")
        assert hook.status == 201
    finally:
        client.close()
    evidence = json.dumps(ex.as_dict())
    assert keys[SUP1] not in evidence
    assert ex.request_headers["X-API-Key"] == "***" and ex.request_headers[SIGNATURE] == "***"
    assert ex.request_headers[CONTENT_HASH] and ex.request_headers[SIGNATURE_DATE].endswith("Z")


# -- the DIP's signature on webhook deliveries ---------------------------------------------------


def test_a_receiver_given_the_dips_certificate_checks_each_delivery(sim):
    from mhhs_sit.dip.receiver import Receiver
    from mhhs_stubs.auth import dip_callback_headers

    receiver = Receiver(dip_certificate=sim.config.credentials.dip().cert)
    try:
        url = receiver.callback_url(SUP1, "IF-032")
        body = json.dumps([{"payload": {"n": 1}}]).encode()
        signed = dip_callback_headers(sim.config, "POST", url, body)
        h = {"Content-Type": "application/json", **signed}
        assert requests.post(url, data=body, headers=h, timeout=5).status_code == 201
        altered = requests.post(url, data=body.replace(b"1", b"2"), headers=h, timeout=5)
        assert altered.status_code == 401
        assert altered.json()["messageArray"][0]["message"].startswith("RCP9999 - Message Signature Invalid")
        unsigned = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=5)
        assert unsigned.status_code == 401
        # a participant's signature is not the DIP's
        participant = signer(sim, SUP1).headers("POST", url, body)
        assert requests.post(url, data=body, headers={**h, **participant}, timeout=5).status_code == 401
        assert receiver.inbox.next_seq == 1  # only the good delivery reached the inbox
        assert receiver.inbox.wait_for(lambda item: True, since=0, timeout=1).payload == {"n": 1}
        assert len(receiver.refused) == 3
    finally:
        receiver.close()


def test_the_embedded_environment_runs_signed_over_mutual_tls(tmp_path):
    """What ``mhhs-sit run`` builds: start_stubs, then the runtime's client, as a worker would."""
    from mhhs_sit.definitions.environments import load_environment
    from mhhs_sit.execution.local_stubs import start_stubs
    from mhhs_sit.execution.runtime import Runtime

    cohorts, _ = load_cohorts(FIXTURES / "cohorts")
    env, problems = load_environment("local", FIXTURES / "environments", REPO)
    assert not problems
    stubs = start_stubs(env, cohorts, tls=True)
    try:
        assert stubs.url.startswith("https://")
        runtime = Runtime(env, stubs.url, cohorts, "r1", issued_keys=stubs.api_keys,
                          credentials_dir=stubs.credentials_dir)  # fmt: skip
        try:
            ex = runtime.client.send("IF-031", [json.loads(batch())[0]["payload"]], dip_id=SUP1)
            assert ex.status == 201, ex.response_body
        finally:
            runtime.close()
        unsigned = requests.post(
            stubs.url + "/dip-channel/IF-031", data=batch(), timeout=5,
            headers={"X-API-Key": stubs.api_keys[SUP1], "Content-Type": "application/json"},
            verify=f"{stubs.credentials_dir}/ca.pem",
            cert=(f"{stubs.credentials_dir}/{SUP1}.pem", f"{stubs.credentials_dir}/{SUP1}.key"),
        )  # fmt: skip
        assert unsigned.status_code == 401  # the embedded environment requires signatures
    finally:
        started = time.monotonic()
        stubs.stop()
    # a TLS connection the client dropped without close_notify must not hold up the stop (it took 10 s)
    assert time.monotonic() - started < 3
    assert not os.path.exists(stubs.credentials_dir)  # keys do not outlive the run
