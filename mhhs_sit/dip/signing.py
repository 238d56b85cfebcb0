"""DIP request signing: one implementation for the client, the simulator and the webhook receiver.

The DIP signs and checks every request the same way (DOMAIN-FACTS §1.2)::

    X-DIP-Content-Hash          = base64(sha256(raw body))
    stringToSign                = METHOD ";" lower(full URL) ";" X-DIP-Signature-Date ";" content hash
    X-DIP-Signature             = base64(RSA PKCS#1 v1.5 over SHA-256 of stringToSign)
    X-DIP-Signature-Certificate = base64(PEM text of the signing certificate)
    X-DIP-Signature-Date        = ISO-8601 UTC with milliseconds and Z, e.g. 2026-11-23T15:04:05.123Z

Verification reports *every* problem it finds, each with a kind a caller can map to a status
(a forged signature and a stale date are different mistakes and a tester needs to know which).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNATURE = "X-DIP-Signature"
SIGNATURE_DATE = "X-DIP-Signature-Date"
CONTENT_HASH = "X-DIP-Content-Hash"
SIGNATURE_CERTIFICATE = "X-DIP-Signature-Certificate"
SIGNATURE_HEADERS = (SIGNATURE, SIGNATURE_DATE, CONTENT_HASH, SIGNATURE_CERTIFICATE)

DEFAULT_MAX_SKEW_S = 300.0


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def signature_date(now: dt.datetime | None = None) -> str:
    """``2026-11-23T15:04:05.123Z`` (what JavaScript's ``toISOString`` gives, as the DIP expects)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def string_to_sign(method: str, url: str, timestamp: str, hash_: str) -> str:
    return f"{method.upper()};{url.lower()};{timestamp};{hash_}"


def certificate_header(cert_pem: bytes | str) -> str:
    text = cert_pem.encode("ascii") if isinstance(cert_pem, str) else cert_pem
    return base64.b64encode(text).decode("ascii")


def sign_headers(
    method: str,
    url: str,
    body: bytes,
    key: rsa.RSAPrivateKey,
    cert_pem: bytes | str,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """The four signature headers for one request."""
    return Signer(key, cert_pem).headers(method, url, body, now)


class Signer:
    """A participant's (or the DIP's) signing key and certificate; the certificate header is encoded once."""

    def __init__(self, key: rsa.RSAPrivateKey, cert_pem: bytes | str):
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("DIP signatures are RSA PKCS#1 v1.5: the signing key must be an RSA private key")
        self.key = key
        self.cert_pem = cert_pem.encode("ascii") if isinstance(cert_pem, str) else cert_pem
        self._cert_header = certificate_header(self.cert_pem)

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes) -> Signer:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("DIP signatures are RSA PKCS#1 v1.5: the signing key must be an RSA private key")
        return cls(key, cert_pem)

    def headers(self, method: str, url: str, body: bytes, now: dt.datetime | None = None) -> dict[str, str]:
        hash_ = content_hash(body)
        timestamp = signature_date(now)
        signature = self.key.sign(
            string_to_sign(method, url, timestamp, hash_).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
        )
        return {
            CONTENT_HASH: hash_,
            SIGNATURE_DATE: timestamp,
            SIGNATURE: base64.b64encode(signature).decode("ascii"),
            SIGNATURE_CERTIFICATE: self._cert_header,
        }


# -- verification ---------------------------------------------------------------------------------


class ProblemKind(StrEnum):
    MISSING_HEADER = "missing-header"
    MALFORMED_HEADER = "malformed-header"
    CONTENT_HASH_MISMATCH = "content-hash-mismatch"
    SIGNATURE_INVALID = "signature-invalid"  # forged, or signed over something else
    CERTIFICATE_UNTRUSTED = "certificate-untrusted"  # not issued by the trusted CA / not a known certificate
    CERTIFICATE_NOT_OWNER = "certificate-not-owner"  # a trusted certificate, but another participant's
    CERTIFICATE_EXPIRED = "certificate-expired"
    DATE_TOO_OLD = "signature-date-too-old"  # expired or replayed
    DATE_IN_FUTURE = "signature-date-in-future"


@dataclass(frozen=True)
class SignatureProblem:
    kind: ProblemKind
    detail: str  # a sentence a tester can act on

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass
class Verification:
    problems: list[SignatureProblem] = field(default_factory=list)
    certificate: x509.Certificate | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> set[ProblemKind]:
        return {p.kind for p in self.problems}

    def __str__(self) -> str:
        return "signature valid" if self.ok else "; ".join(str(p) for p in self.problems)


CertificateCheck = Callable[[x509.Certificate], "SignatureProblem | None"]
Trusted = x509.Certificate | Sequence[x509.Certificate] | CertificateCheck


def pinned(*certs: x509.Certificate) -> CertificateCheck:
    """Trust exactly these certificates (a participant's registered signing certificate)."""
    wanted = {c.fingerprint(hashes.SHA256()) for c in certs}

    def check(cert: x509.Certificate) -> SignatureProblem | None:
        if cert.fingerprint(hashes.SHA256()) in wanted:
            return None
        return SignatureProblem(
            ProblemKind.CERTIFICATE_UNTRUSTED,
            f"the signing certificate ({subject_cn(cert) or 'no CN'}) is not the registered signing certificate",
        )

    return check


def issued_by(ca: x509.Certificate) -> CertificateCheck:
    """Trust any certificate the CA issued (and that is within its validity period)."""

    def check(cert: x509.Certificate) -> SignatureProblem | None:
        if not is_issued_by(cert, ca):
            return SignatureProblem(
                ProblemKind.CERTIFICATE_UNTRUSTED,
                f"the signing certificate ({subject_cn(cert) or 'no CN'}) was not issued by the trusted CA "
                f"({subject_cn(ca)})",
            )
        return None

    return check


def is_issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def subject_cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


_CERT_CACHE: dict[str, x509.Certificate] = {}
_CERT_CACHE_LOCK = threading.Lock()


def certificate_from_header(value: str) -> x509.Certificate:
    """The certificate in an ``X-DIP-Signature-Certificate`` header (base64 of PEM; base64 of DER accepted)."""
    with _CERT_CACHE_LOCK:
        cached = _CERT_CACHE.get(value)
    if cached is not None:
        return cached
    raw = base64.b64decode(value.strip(), validate=True)
    pem = raw.lstrip().startswith(b"-----BEGIN")
    cert = x509.load_pem_x509_certificate(raw) if pem else x509.load_der_x509_certificate(raw)
    with _CERT_CACHE_LOCK:
        if len(_CERT_CACHE) > 256:  # certificates repeat: a handful per run
            _CERT_CACHE.clear()
        _CERT_CACHE[value] = cert
    return cert


def parse_signature_date(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        raise ValueError("no time zone (expected UTC with a trailing Z)")
    return parsed.astimezone(dt.UTC)


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    trusted: Trusted,
    max_skew_s: float = DEFAULT_MAX_SKEW_S,
    now: dt.datetime | None = None,
) -> Verification:
    """Check a signed request; every problem is listed, none is raised."""
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in SIGNATURE_HEADERS if not lower.get(h.lower())]
    if missing:
        return Verification(
            [
                SignatureProblem(
                    ProblemKind.MISSING_HEADER,
                    f"missing {', '.join(missing)}: every request must be signed "
                    "(content hash, date, signature and certificate headers)",
                )
            ]
        )
    result = Verification()
    problems = result.problems
    sent_hash = lower[CONTENT_HASH.lower()]
    timestamp = lower[SIGNATURE_DATE.lower()]
    current = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    problems.extend(_hash_problems(sent_hash, body))
    problems.extend(_date_problems(timestamp, current, max_skew_s))
    try:
        cert = certificate_from_header(lower[SIGNATURE_CERTIFICATE.lower()])
    except ValueError as exc:
        problems.append(
            SignatureProblem(
                ProblemKind.MALFORMED_HEADER,
                f"{SIGNATURE_CERTIFICATE} is not a base64-encoded PEM certificate ({str(exc)[:120]})",
            )
        )
        return result
    result.certificate = cert
    problems.extend(_certificate_problems(cert, current, trusted))
    if not _signature_verifies(cert, lower[SIGNATURE.lower()], string_to_sign(method, url, timestamp, sent_hash)):
        problems.append(
            SignatureProblem(
                ProblemKind.SIGNATURE_INVALID,
                f"{SIGNATURE} does not verify with the certificate's key over "
                f"'{method.upper()};{url.lower()};{timestamp};<content hash>': sign with the certificate's "
                "private key, over the full URL as sent, lower-cased",
            )
        )
    return result


def _hash_problems(sent_hash: str, body: bytes) -> list[SignatureProblem]:
    actual = content_hash(body)
    if sent_hash == actual:
        return []
    return [
        SignatureProblem(
            ProblemKind.CONTENT_HASH_MISMATCH,
            f"{CONTENT_HASH} is {sent_hash[:60]!r} but the body received hashes to {actual!r}: "
            "hash the exact bytes sent, after serialising the JSON",
        )
    ]


def _date_problems(timestamp: str, current: dt.datetime, max_skew_s: float) -> list[SignatureProblem]:
    """The signature date: well-formed, and neither older nor further ahead than the allowed skew."""
    try:
        signed_at = parse_signature_date(timestamp)
    except ValueError as exc:
        return [
            SignatureProblem(
                ProblemKind.MALFORMED_HEADER,
                f"{SIGNATURE_DATE} {timestamp[:40]!r} is not an ISO-8601 UTC time such as "
                f"2026-11-23T15:04:05.123Z ({exc})",
            )
        ]
    age = (current - signed_at).total_seconds()
    if age > max_skew_s:
        return [
            SignatureProblem(
                ProblemKind.DATE_TOO_OLD,
                f"{SIGNATURE_DATE} {timestamp} is {age:.0f}s old (limit {max_skew_s:g}s): sign each request "
                "when it is sent; a re-sent old signature is treated as a replay",
            )
        ]
    if -age > max_skew_s:
        return [
            SignatureProblem(
                ProblemKind.DATE_IN_FUTURE,
                f"{SIGNATURE_DATE} {timestamp} is {-age:.0f}s in the future (limit {max_skew_s:g}s): "
                "check the sender's clock",
            )
        ]
    return []


def _certificate_problems(cert: x509.Certificate, current: dt.datetime, trusted: Trusted) -> list[SignatureProblem]:
    """The signing certificate: valid now, and one the receiver trusts."""
    problems: list[SignatureProblem] = []
    if not (cert.not_valid_before_utc <= current <= cert.not_valid_after_utc):
        problems.append(
            SignatureProblem(
                ProblemKind.CERTIFICATE_EXPIRED,
                f"the signing certificate is valid from {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} "
                f"to {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}, not now",
            )
        )
    trust_problem = _trust(trusted)(cert)
    if trust_problem is not None:
        problems.append(trust_problem)
    return problems


def _signature_verifies(cert: x509.Certificate, signature_header: str, signed_text: str) -> bool:
    public_key = cert.public_key()
    try:
        signature = base64.b64decode(signature_header.strip(), validate=True)
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise InvalidSignature("the certificate's key is not RSA")
        public_key.verify(signature, signed_text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def _trust(trusted: Trusted) -> CertificateCheck:
    if isinstance(trusted, x509.Certificate):
        return pinned(trusted)
    if callable(trusted):
        return trusted
    return pinned(*trusted)
