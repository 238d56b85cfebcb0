"""DIP request signing: the header format, and verification telling each mistake apart."""

import base64
import datetime as dt
import hashlib
import re

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from mhhs_sit.dip.signing import (
    CONTENT_HASH,
    SIGNATURE,
    SIGNATURE_CERTIFICATE,
    SIGNATURE_DATE,
    ProblemKind,
    Signer,
    content_hash,
    issued_by,
    sign_headers,
    signature_date,
    string_to_sign,
    verify,
)
from mhhs_stubs.tls import RunCA

URL = "https://DIP.example:8443/dip-channel/IF-031"
BODY = b'[{"payload":{"a":1}}]'
NOW = dt.datetime.now(dt.UTC).replace(microsecond=123456)  # within the certificates' validity


@pytest.fixture(scope="module")
def ca():
    return RunCA()


@pytest.fixture(scope="module")
def alice(ca):
    return ca.participant("2300000101")


@pytest.fixture(scope="module")
def mallory(ca):
    return ca.participant("2300000202")


def signed(cred, body=BODY, now=NOW, method="POST", url=URL):
    return sign_headers(method, url, body, cred.key, cred.cert_pem, now=now)


def test_headers_follow_the_dip_recipe(alice):
    h = signed(alice, now=dt.datetime(2026, 11, 23, 15, 4, 5, 123456, tzinfo=dt.UTC))
    assert h[CONTENT_HASH] == base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert h[SIGNATURE_DATE] == "2026-11-23T15:04:05.123Z"
    assert base64.b64decode(h[SIGNATURE_CERTIFICATE]).startswith(b"-----BEGIN CERTIFICATE-----")
    # RSA PKCS#1 v1.5 / SHA-256 over METHOD;lower(url);date;hash, checked with the primitive itself
    text = f"POST;{URL.lower()};2026-11-23T15:04:05.123Z;{h[CONTENT_HASH]}".encode()
    alice.key.public_key().verify(base64.b64decode(h[SIGNATURE]), text, padding.PKCS1v15(), hashes.SHA256())


def test_string_to_sign_and_date_format():
    assert string_to_sign("post", "HTTP://H/X?Q=A", "T", "H=") == "POST;http://h/x?q=a;T;H="
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", signature_date())
    assert content_hash(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_a_good_signature_verifies_against_the_pinned_certificate_or_the_ca(alice, ca):
    h = signed(alice)
    assert verify("POST", URL, h, BODY, alice.cert, now=NOW).ok
    assert verify("post", URL.lower(), h, BODY, issued_by(ca.cert), now=NOW).ok
    # header names are case-insensitive
    assert verify("POST", URL, {k.lower(): v for k, v in h.items()}, BODY, alice.cert, now=NOW).ok


def test_missing_headers_are_named(alice):
    h = signed(alice)
    del h[SIGNATURE], h[CONTENT_HASH]
    result = verify("POST", URL, h, BODY, alice.cert, now=NOW)
    assert result.kinds() == {ProblemKind.MISSING_HEADER}
    assert "X-DIP-Signature," in str(result) and "X-DIP-Content-Hash" in str(result)


def test_a_body_changed_after_signing_is_a_content_hash_mismatch_only(alice):
    result = verify("POST", URL, signed(alice), BODY.replace(b"1", b"2"), alice.cert, now=NOW)
    assert result.kinds() == {ProblemKind.CONTENT_HASH_MISMATCH}


def test_a_forged_signature_is_invalid(alice, mallory):
    # Mallory signs with her key but presents Alice's certificate
    h = signed(mallory)
    h[SIGNATURE_CERTIFICATE] = signed(alice)[SIGNATURE_CERTIFICATE]
    assert verify("POST", URL, h, BODY, alice.cert, now=NOW).kinds() == {ProblemKind.SIGNATURE_INVALID}
    # a signature over another URL or method is invalid too
    assert verify("POST", URL + "x", signed(alice), BODY, alice.cert, now=NOW).kinds() == {
        ProblemKind.SIGNATURE_INVALID
    }
    assert verify("DELETE", URL, signed(alice), BODY, alice.cert, now=NOW).kinds() == {ProblemKind.SIGNATURE_INVALID}


def test_a_recomputed_hash_without_a_new_signature_is_invalid(alice):
    h = signed(alice)
    other = b"[]"
    h[CONTENT_HASH] = content_hash(other)
    assert verify("POST", URL, h, other, alice.cert, now=NOW).kinds() == {ProblemKind.SIGNATURE_INVALID}


def test_another_certificate_is_untrusted(alice, mallory):
    result = verify("POST", URL, signed(mallory), BODY, alice.cert, now=NOW)
    assert result.kinds() == {ProblemKind.CERTIFICATE_UNTRUSTED}
    assert verify("POST", URL, signed(mallory), BODY, issued_by(RunCA().cert), now=NOW).kinds() == {
        ProblemKind.CERTIFICATE_UNTRUSTED
    }


@pytest.mark.parametrize(
    ("offset", "kind"),
    [(-301, ProblemKind.DATE_TOO_OLD), (301, ProblemKind.DATE_IN_FUTURE), (-299, None), (299, None)],
)
def test_the_signature_date_must_be_within_the_skew(alice, offset, kind):
    h = signed(alice, now=NOW + dt.timedelta(seconds=offset))
    result = verify("POST", URL, h, BODY, alice.cert, max_skew_s=300, now=NOW)
    assert result.kinds() == ({kind} if kind else set())


def test_the_skew_is_settable(alice):
    h = signed(alice, now=NOW - dt.timedelta(seconds=10))
    assert verify("POST", URL, h, BODY, alice.cert, max_skew_s=5, now=NOW).kinds() == {ProblemKind.DATE_TOO_OLD}


def test_malformed_headers_are_reported_not_raised(alice):
    h = signed(alice)
    h[SIGNATURE_CERTIFICATE] = "not base64!"
    h[SIGNATURE_DATE] = "yesterday"
    result = verify("POST", URL, h, BODY, alice.cert, now=NOW)
    assert result.kinds() == {ProblemKind.MALFORMED_HEADER}
    assert len(result.problems) == 2
    h = signed(alice)
    h[SIGNATURE] = "%%%"
    assert verify("POST", URL, h, BODY, alice.cert, now=NOW).kinds() == {ProblemKind.SIGNATURE_INVALID}


def test_an_expired_certificate_is_reported(alice):
    later = NOW + dt.timedelta(days=3)
    h = signed(alice, now=later)
    assert ProblemKind.CERTIFICATE_EXPIRED in verify("POST", URL, h, BODY, alice.cert, now=later).kinds()


def test_signer_needs_an_rsa_key(ca):
    with pytest.raises(TypeError, match="RSA"):
        Signer(ca.key, ca.cert_pem)  # the CA's key is EC


def _runtime(tmp_path, auth: str, **kw):
    from mhhs_sit.definitions.environments import load_environment
    from mhhs_sit.execution.runtime import Runtime

    (tmp_path / "real.yaml").write_text(
        "environment: real\nenvironment_tag: SIT\nstubs: none\ndip_url: https://dip.test\n" + auth
    )
    env, problems = load_environment("real", tmp_path, tmp_path)
    assert not problems, problems
    return Runtime(environment=env, dip_url="https://dip.test", cohorts={}, run_id="r1", **kw)


def test_on_a_real_dip_the_runtime_signs_with_the_client_certificate(tmp_path, alice):
    (tmp_path / "c.pem").write_bytes(alice.cert_pem)
    (tmp_path / "c.key").write_bytes(alice.key_pem)
    runtime = _runtime(tmp_path, f"auth: {{client_cert: {tmp_path / 'c.pem'}, client_key: {tmp_path / 'c.key'}}}\n")
    h = runtime.signer_for("2300000101").headers("POST", URL, BODY)
    assert verify("POST", URL, h, BODY, alice.cert).ok
    assert _runtime(tmp_path, "").signer_for("2300000101") is None  # no certificate: nothing to sign with


def test_with_the_local_simulator_the_runtime_uses_each_participants_own_key(tmp_path, alice, mallory, ca):
    from mhhs_stubs.tls import Credentials

    creds = Credentials(ca=ca)
    for cred in (alice, mallory):  # participants bringing their own key files
        (tmp_path / f"{cred.name}.k").write_bytes(cred.key_pem)
        (tmp_path / f"{cred.name}.c").write_bytes(cred.cert_pem)
        creds.use_files(cred.name, str(tmp_path / f"{cred.name}.k"), str(tmp_path / f"{cred.name}.c"))
    creds.write(tmp_path / "run", ["2300000101", "2300000202"], dip=False)
    runtime = _runtime(tmp_path, "", credentials_dir=str(tmp_path / "run"))
    for cred in (alice, mallory):
        h = runtime.signer_for(cred.name).headers("POST", URL, BODY)
        assert verify("POST", URL, h, BODY, cred.cert).ok
    assert runtime.cert_for("2300000101") == (
        str(tmp_path / "run/2300000101.pem"),
        str(tmp_path / "run/2300000101.key"),
    )
    assert runtime.cert_for("9999999999") is None and runtime.signer_for("9999999999") is None


def test_own_key_files_are_checked(tmp_path, alice, mallory, ca):
    from mhhs_sit.errors import ConfigError
    from mhhs_stubs.tls import load_credential

    (tmp_path / "a.key").write_bytes(alice.key_pem)
    (tmp_path / "m.pem").write_bytes(mallory.cert_pem)
    (tmp_path / "ec.key").write_bytes(ca.server().key_pem)
    with pytest.raises(ConfigError, match=r"m\.pem does not certify the key in .*a\.key"):
        load_credential("2300000101", tmp_path / "a.key", tmp_path / "m.pem")
    with pytest.raises(ConfigError, match="need an RSA key"):
        load_credential("2300000101", tmp_path / "ec.key", tmp_path / "m.pem")
    with pytest.raises(ConfigError, match="cannot read the credentials of 2300000101"):
        load_credential("2300000101", tmp_path / "missing.key", tmp_path / "m.pem")
