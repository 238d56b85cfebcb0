"""Key material for one simulator run: a throwaway CA, the server certificate, participant credentials.

Built on ``cryptography`` directly (not ``trustme``): the DIP's signatures need RSA keys and
client certificates whose CN is the participant's DIP ID with the clientAuth usage, and the DIP
needs its own signing key; ``cryptography`` gives that control and is a dependency already.

A participant gets one RSA key and one certificate, used both to sign requests and as its TLS
client certificate (the DIP onboarding issues one "Signing/mTLS certificate"). RSA keys cost
~80 ms each to generate, so they are made on first use, not for every participant up front; the
CA and server keys are EC (instant). A participant may bring its own key and certificate files
instead (``SimParticipant.key_file`` / ``cert_file``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mhhs_sit.dip.signing import Signer, subject_cn
from mhhs_sit.errors import ConfigError

DIP_SIGNER_ID = "DIP"  # the name of the DIP's own signing credential (webhook deliveries)
VALIDITY = dt.timedelta(days=2)


@dataclass(frozen=True)
class Credential:
    """A private key and its certificate, parsed and as PEM."""

    name: str
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def signer(self) -> Signer:
        if not isinstance(self.key, rsa.RSAPrivateKey):
            raise ConfigError(f"the key of {self.name} is not RSA: DIP signatures need an RSA key")
        return Signer(self.key, self.cert_pem)


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class RunCA:
    """A certificate authority that lives for one run; nothing it signs is trusted anywhere else."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        name = _name(f"mhhs-sit simulator CA {os.getpid()}-{id(self):x}", "mhhs-sit simulator (throwaway)")
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def _issue(
        self,
        cn: str,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        usage: x509.ObjectIdentifier,
        san: list[x509.GeneralName],
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn, "mhhs-sit simulator"))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def server(self, hosts: Iterable[str] = ("127.0.0.1", "localhost", "::1")) -> Credential:
        key = ec.generate_private_key(ec.SECP256R1())
        san: list[x509.GeneralName] = []
        for h in hosts:
            try:
                san.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                san.append(x509.DNSName(h))
        return Credential("server", key, self._issue("localhost", key, ExtendedKeyUsageOID.SERVER_AUTH, san))

    def participant(self, dip_id: str) -> Credential:
        """RSA key and certificate naming the DIP ID (CN and a ``urn:mhhs:dip:`` SAN): signing and mTLS."""
        key = rsa.generate_private_key(65537, 2048)
        san: list[x509.GeneralName] = [x509.UniformResourceIdentifier(f"urn:mhhs:dip:{dip_id}")]
        return Credential(dip_id, key, self._issue(dip_id, key, ExtendedKeyUsageOID.CLIENT_AUTH, san))


def dip_id_of(cert: x509.Certificate) -> str | None:
    """The DIP ID a certificate names: its ``urn:mhhs:dip:`` SAN, else its CN."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
            if uri.startswith("urn:mhhs:dip:"):
                return uri.removeprefix("urn:mhhs:dip:")
    except x509.ExtensionNotFound:
        pass
    return subject_cn(cert) or None


def load_credential(name: str, key_file: str | os.PathLike[str], cert_file: str | os.PathLike[str]) -> Credential:
    """A participant's own key and certificate (PEM files named in config)."""
    try:
        key_pem = Path(key_file).read_bytes()
        cert_pem = Path(cert_file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the credentials of {name}: {exc}") from exc
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{key_file}: not an unencrypted PEM private key ({exc})") from exc
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise ConfigError(f"{cert_file}: not a PEM certificate ({exc})") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{key_file}: DIP signatures need an RSA key, not {type(key).__name__}")
    certified = cert.public_key()
    if not isinstance(certified, rsa.RSAPublicKey) or certified.public_numbers() != key.public_key().public_numbers():
        raise ConfigError(f"{cert_file} does not certify the key in {key_file}")
    return Credential(name, key, cert)


def load_certificate(dip_id: str, cert_file: str | os.PathLike[str]) -> x509.Certificate:
    """A certificate a participant brings (a PEM file, no key): RSA, as DIP signatures need."""
    try:
        pem = Path(cert_file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the certificate of {dip_id} from {cert_file}: {exc.strerror or exc}") from None
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise ConfigError(f"{cert_file}: not a PEM certificate ({exc}); give the certificate of {dip_id}") from None
    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        raise ConfigError(
            f"{cert_file}: DIP signatures need an RSA certificate, not {type(cert.public_key()).__name__}"
        )
    return cert


class Credentials:
    """Everything secret for one run, made on first use and thread-safe (server loop and test threads)."""

    def __init__(self, files: Mapping[str, tuple[str, str]] | None = None, ca: RunCA | None = None):
        self._ca = ca
        self._files = dict(files or {})
        self._made: dict[str, Credential] = {}
        self._lock = threading.RLock()
        self._dip_signer: Signer | None = None
        self._brought: dict[str, tuple[str, ...]] = {}  # DIP ID -> certificate files it brings
        self._trusted: dict[str, tuple[x509.Certificate, ...]] = {}

    @property
    def ca(self) -> RunCA:
        with self._lock:
            if self._ca is None:
                self._ca = RunCA()
            return self._ca

    def use_files(self, dip_id: str, key_file: str, cert_file: str) -> None:
        """Use a participant's own PEM files instead of a generated key (read on first use)."""
        with self._lock:
            self._files[dip_id] = (key_file, cert_file)

    def trust_files(self, dip_id: str, cert_files: Iterable[str]) -> None:
        """Trust the participant's own certificates (PEM files, no key) for its DIP ID (read on first use)."""
        with self._lock:
            self._brought[dip_id] = tuple(cert_files)
            self._trusted.pop(dip_id, None)

    def brings_certificate(self, dip_id: str) -> bool:
        with self._lock:
            return dip_id in self._brought

    def trusted(self, dip_id: str) -> tuple[x509.Certificate, ...]:
        """The certificates the participant brought, parsed once; none when it brought none."""
        with self._lock:
            files = self._brought.get(dip_id)
            if files is None:
                return ()
            certs = self._trusted.get(dip_id)
            if certs is None:
                certs = self._trusted[dip_id] = tuple(load_certificate(dip_id, f) for f in files)
            return certs

    def brought(self) -> dict[str, tuple[x509.Certificate, ...]]:
        """Every participant's brought certificates, by DIP ID."""
        with self._lock:
            names = list(self._brought)
        return {dip_id: self.trusted(dip_id) for dip_id in names}

    def server(self) -> Credential:
        return self._get("server", self.ca.server)

    def participant(self, dip_id: str) -> Credential:
        """The participant's signing/mTLS credential: its files if config names them, else a fresh one."""
        if dip_id in self._files:
            key_file, cert_file = self._files[dip_id]
            return self._get(dip_id, lambda: load_credential(dip_id, key_file, cert_file))
        return self._get(dip_id, lambda: self.ca.participant(dip_id))

    def dip(self) -> Credential:
        """The DIP's own signing credential (webhook deliveries)."""
        return self._get(DIP_SIGNER_ID, lambda: self.ca.participant(DIP_SIGNER_ID))

    def dip_signer(self) -> Signer:
        """The DIP's signer, built once (it signs every delivery)."""
        signer = self._dip_signer
        if signer is None:
            signer = self._dip_signer = self.dip().signer()  # the same key either way: _get settles races
        return signer

    def registered(self, dip_id: str) -> Credential | None:
        """The participant's credential if it exists; never generates one (a stranger's request must not cost 80 ms)."""
        with self._lock:
            made = self._made.get(dip_id)
        if made is None and dip_id in self._files:
            return self.participant(dip_id)
        return made

    def _get(self, name: str, make: Callable[[], Credential]) -> Credential:
        with self._lock:
            made = self._made.get(name)
        if made is not None:
            return made
        fresh = make()  # outside the lock: RSA generation releases the GIL, so keys are made in parallel
        with self._lock:
            return self._made.setdefault(name, fresh)  # a racing thread's key wins for everyone

    def write(self, directory: str | os.PathLike[str], dip_ids: Iterable[str], *, dip: bool = True) -> Path:
        """Write the CA, the server and DIP certificates and each participant's key/cert for a system under test.

        Layout: ``ca.pem``, ``server.pem``/``server.key``, ``dip.pem`` (the DIP's signing
        certificate, unless ``dip`` is false), ``<DIP ID>.pem``/``<DIP ID>.key`` (none for a
        participant that brings its own certificate). Keys are 0600, the directory 0700.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        out.chmod(0o700)
        _write(out / "ca.pem", self.ca.cert_pem, 0o644)
        server = self.server()
        _write(out / "server.pem", server.cert_pem, 0o644)
        _write(out / "server.key", server.key_pem, 0o600)
        names = [d for d in dip_ids if not self.brings_certificate(d)]  # their keys are their own
        with ThreadPoolExecutor(2, thread_name_prefix="mhhs-keys") as pool:
            made = list(pool.map(self.participant, names))
            if dip:
                _write(out / "dip.pem", self.dip().cert_pem, 0o644)
        for dip_id, cred in zip(names, made, strict=True):
            _write(out / f"{dip_id}.pem", cred.cert_pem, 0o644)
            _write(out / f"{dip_id}.key", cred.key_pem, 0o600)
        return out


def client_trust_bundle(credentials: Credentials) -> bytes:
    """What a TLS server trusts for client certificates: the run's CA and every brought certificate."""
    brought = [c.public_bytes(serialization.Encoding.PEM) for certs in credentials.brought().values() for c in certs]
    return b"".join([credentials.ca.cert_pem, *brought])


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    path.chmod(mode)
