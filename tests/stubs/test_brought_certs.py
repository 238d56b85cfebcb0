"""``stubs up --participant-cert``: a participant's own certificate, trusted for its DIP ID only.

A real client signs with its own key (and presents its certificate over mutual TLS) against
``stubs up`` in a process of its own on loopback; a certificate it did not bring is refused as
the DIP refuses one: 401 for a signature, the TLS handshake for a client certificate.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mhhs_sit.cli.app import main
from mhhs_sit.dip.signing import Signer
from tests.stubs.messages import appointment
from tests.stubs.test_stubs_cli import Running, stubs_up

SUP = "2300000101"  # C1's supplier: under test in the cohort file


@dataclass(frozen=True)
class Own:
    """A certificate and key an organisation has, written as PEM files."""

    cert: Path
    key: Path

    def signer(self) -> Signer:
        return Signer.from_pem(self.key.read_bytes(), self.cert.read_bytes())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def own_certificate(directory: Path, name: str, cn: str = SUP, *, issuer: Own | None = None) -> Own:
    """An RSA key and a certificate for ``cn``: self-signed, or issued by ``issuer`` (a CA)."""
    key = rsa.generate_private_key(65537, 2048)
    now = dt.datetime.now(dt.UTC)
    signing_key = serialization.load_pem_private_key(issuer.key.read_bytes(), None) if issuer else key
    issuer_name = x509.load_pem_x509_certificate(issuer.cert.read_bytes()).subject if issuer else _name(cn)
    is_ca = name.endswith("ca")
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(signing_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    own = Own(directory / f"{name}.pem", directory / f"{name}.key")
    own.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    own.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return own


def send_signed(up: Running, own: Own, mpan: str, **kw: object) -> requests.Response:
    """IF-031 as C1's supplier with its X-API-Key, signed with ``own``'s key."""
    url, data = f"{up.url}/dip-channel/IF-031", json.dumps([{"payload": appointment(mpan)}]).encode()
    headers = {"X-API-Key": up.participant("SUP")["api_key"], "Content-Type": "application/json"}
    headers.update(own.signer().headers("POST", url, data))
    return requests.post(url, data=data, headers=headers, timeout=5, **kw)  # type: ignore[arg-type]


def test_a_brought_certificate_is_trusted_for_its_dip_id_and_another_is_refused(tmp_path):
    own, stranger = own_certificate(tmp_path, "sup-own"), own_certificate(tmp_path, "stranger")
    with stubs_up("--cohort", "C1", "--participant-cert", f"{SUP}={own.cert}") as up:
        assert f"  {SUP} (SUP) signs with its own certificate: {own.cert.resolve()}" in up.lines
        creds = up.creds()
        assert creds["keys"]["own_certificates"] == {SUP: [str(own.cert.resolve())]}
        assert not (Path(creds["keys"]["directory"]) / f"{SUP}.key").exists()  # no key made for it

        ok = send_signed(up, own, "1000000000011")
        assert ok.status_code == 201, ok.text
        refused = send_signed(up, stranger, "1000000000029")
        assert refused.status_code == 401, refused.text
        assert refused.json()["messageArray"][0]["message"] == "MSG1000 - Message Signature Invalid"
        assert "not 2300000101's registered certificate" in refused.text
        assert up.interrupt()[0] == 0


def test_over_mutual_tls_the_brought_certificate_connects_and_a_wrong_one_does_not(tmp_path):
    ca = own_certificate(tmp_path, "org-ca", "Alpha Energy issuing CA")
    issued = own_certificate(tmp_path, "sup-issued", issuer=ca)  # issued by the organisation's CA, not self-signed
    stranger = own_certificate(tmp_path, "stranger")
    with stubs_up("--tls", "--cohort", "C1", "--participant-cert", f"{SUP}={issued.cert}") as up:
        verify = up.creds()["keys"]["ca"]
        ok = send_signed(up, issued, "1000000000011", verify=verify, cert=(str(issued.cert), str(issued.key)))
        assert ok.status_code == 201, ok.text
        with pytest.raises(requests.ConnectionError):  # the handshake refuses a certificate nobody brought
            send_signed(up, issued, "1000000000029", verify=verify, cert=(str(stranger.cert), str(stranger.key)))
        assert up.interrupt()[0] == 0


def test_a_list_file_names_certificates_relative_to_itself(tmp_path):
    own = own_certificate(tmp_path, "sup-own")
    listing = tmp_path / "certs.txt"
    listing.write_text(f"# our signing certificates\n{SUP} = {own.cert.name}\n")
    with stubs_up("--cohort", "C1", "--participant-certs", str(listing)) as up:
        assert send_signed(up, own, "1000000000011").status_code == 201
        assert up.interrupt()[0] == 0


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["2300000101"], "is not DIPID=cert.pem"),
        (["9999999999={pem}"], "9999999999 is no participant of the chosen cohorts; under test: 2300000101"),
        (["2200000101={pem}"], "2200000101 (REGS) is simulated"),
        (["2300000101={missing}"], "cannot read the certificate of 2300000101"),
        (["2300000101={key}"], "not a PEM certificate"),
        (["2300000101={ec}"], "DIP signatures need an RSA certificate"),
    ],
)
def test_a_wrong_certificate_option_is_one_clear_line(tmp_path, capsys, given, expected):
    own = own_certificate(tmp_path, "sup-own")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    ec_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(SUP))
        .issuer_name(_name(SUP))
        .public_key(ec_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ec_key, hashes.SHA256())
    )
    (tmp_path / "ec.pem").write_bytes(ec_cert.public_bytes(serialization.Encoding.PEM))
    paths = {"pem": own.cert, "missing": tmp_path / "none.pem", "key": own.key, "ec": tmp_path / "ec.pem"}
    args = [f"--participant-cert={g.format(**paths)}" for g in given]
    assert main(["stubs", "up", "--cohort", "C1", *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
