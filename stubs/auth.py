"""Who is calling: API key, request signature and TLS client certificate, checked as the DIP checks them.

Refusals (docs/simulator.md#authentication):

* 401 ``MSG1000 - Unauthorised``: no ``X-API-Key``, or one this run never issued.
* 401 ``MSG1000 - Message Signature Invalid``: signature headers missing (when signing is
  required), malformed, content hash mismatch, forged signature, a certificate not issued by the
  run's CA, expired, or a signature date outside the allowed skew (stale or replayed).
* 403 ``MSG1000 - Forbidden``: valid credentials, but not the API key's participant's: a signing
  certificate or a TLS client certificate of another DIP ID.

The DIP has no ``MSG`` code for signatures; ``RCP9999 Message Signature Invalid`` is the code a
*recipient* gives the DIP, so ingress uses ``MSG1000`` with the RCP9999 wording and a help text.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from starlette.types import Scope

from mhhs_sit.dip.signing import (
    SIGNATURE_HEADERS,
    ProblemKind,
    SignatureProblem,
    is_issued_by,
    verify,
)
from mhhs_stubs.config import SimParticipant, SimulatorConfig
from mhhs_stubs.tls import dip_id_of

SIGNATURE_INVALID = "Message Signature Invalid"


@dataclass(frozen=True)
class AuthRefusal:
    status: int  # 401 or 403
    code: str  # MSG1000
    text: str
    help: str  # a sentence a tester can act on
    kind: str  # api-key-missing, api-key-unknown, client-certificate-not-owner, or a signing ProblemKind
    claimed: str | None = None  # the DIP ID the API key belongs to, when it is known

    @property
    def note(self) -> str:
        return f"{self.status} {self.kind}: {self.help}"


class Authenticator:
    """Identifies the caller of a DIP endpoint from the request (the body must already be read)."""

    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.credentials = config.credentials

    def authenticate(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        peer_cert: x509.Certificate | None = None,
    ) -> SimParticipant | AuthRefusal:
        """The API key names the caller; a TLS client certificate and a signature must then be its own."""
        caller = self._key_owner(headers.get("x-api-key") or headers.get("X-API-Key"))
        if isinstance(caller, AuthRefusal):
            return caller
        refusal = self._certificate_refusal(peer_cert, caller) or self._signature_refusal(
            method, url, headers, body, caller
        )
        return refusal or caller

    def key_owner(self, headers: Mapping[str, str]) -> SimParticipant | AuthRefusal:
        """The caller by its API key alone (``/validate``, whose operation lists no signature)."""
        return self._key_owner(headers.get("x-api-key") or headers.get("X-API-Key"))

    def _key_owner(self, key: str | None) -> SimParticipant | AuthRefusal:
        if not key:
            return AuthRefusal(
                401, "MSG1000", "Unauthorised",
                "missing X-API-Key header: send the API key issued to your DIP ID for this run",
                "api-key-missing",
            )  # fmt: skip
        caller = self.config.by_key(key)
        if caller is None:
            return AuthRefusal(
                401, "MSG1000", "Unauthorised",
                "X-API-Key is not one this simulator issued: keys are fresh per run, take yours from this "
                "run's credentials",
                "api-key-unknown",
            )  # fmt: skip
        return caller

    def _certificate_refusal(self, peer_cert: x509.Certificate | None, caller: SimParticipant) -> AuthRefusal | None:
        """A TLS client certificate, when there is one, must be the API key's participant's."""
        if peer_cert is None or self._brought_by(peer_cert, caller.dip_id):
            return None
        owner = self._owner(peer_cert)
        if owner == caller.dip_id:
            return None
        return AuthRefusal(
            403, "MSG1000", "Forbidden",
            f"the TLS client certificate is {owner or 'no participant'}'s but the X-API-Key is "
            f"{caller.dip_id}'s: connect with the certificate issued to {caller.dip_id}",
            "client-certificate-not-owner", caller.dip_id,
        )  # fmt: skip

    def _checks_signature(self, headers: Mapping[str, str]) -> bool:
        """Signing "off": no request is checked; "optional": only one that carries signature headers."""
        if self.config.signing == "off":
            return False
        lower = {k.lower() for k in headers}
        return self.config.signing != "optional" or any(h.lower() in lower for h in SIGNATURE_HEADERS)

    def _signature_refusal(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, caller: SimParticipant
    ) -> AuthRefusal | None:
        if not self._checks_signature(headers):
            return None
        result = verify(
            method, url, headers, body, lambda cert: self._trust(cert, caller), self.config.signature_max_skew
        )
        if result.ok:
            return None
        not_owner = [p for p in result.problems if p.kind is ProblemKind.CERTIFICATE_NOT_OWNER]
        status, first = (403, not_owner[0]) if not_owner else (401, result.problems[0])
        return AuthRefusal(
            status, "MSG1000", "Forbidden" if status == 403 else SIGNATURE_INVALID,
            "; ".join(p.detail for p in result.problems), str(first.kind), caller.dip_id,
        )  # fmt: skip

    def _trust(self, cert: x509.Certificate, caller: SimParticipant) -> SignatureProblem | None:
        """The caller's registered signing certificate is trusted; another participant's is named as such."""
        if self._brought_by(cert, caller.dip_id):
            return None
        registered = self.credentials.registered(caller.dip_id)
        fingerprint = fingerprint_of(cert)
        if registered is not None and fingerprint_of(registered.cert) == fingerprint:
            return None
        owner = self._owner(cert)
        if owner is not None:
            return SignatureProblem(
                ProblemKind.CERTIFICATE_NOT_OWNER,
                f"the request is signed with {owner}'s certificate but the X-API-Key is {caller.dip_id}'s: "
                f"sign with the key and certificate issued to {caller.dip_id}",
            )
        return SignatureProblem(
            ProblemKind.CERTIFICATE_UNTRUSTED,
            f"the signing certificate is not {caller.dip_id}'s registered certificate nor issued by this run's CA",
        )

    def _brought_by(self, cert: x509.Certificate, dip_id: str) -> bool:
        """Whether the certificate is one the participant brought (stubs up --participant-cert)."""
        fingerprint = fingerprint_of(cert)
        return any(fingerprint_of(c) == fingerprint for c in self.credentials.trusted(dip_id))

    def _owner(self, cert: x509.Certificate) -> str | None:
        """The DIP ID a trusted certificate belongs to (issued by the run's CA, a participant's own
        files, or a certificate it brought)."""
        fingerprint = fingerprint_of(cert)
        for dip_id in self.credentials.brought():
            if self._brought_by(cert, dip_id):
                return dip_id
        for p in self.config.participants.values():
            if p.key_file:
                own = self.credentials.registered(p.dip_id)
                if own is not None and fingerprint_of(own.cert) == fingerprint:
                    return p.dip_id
        if is_issued_by(cert, self.credentials.ca.cert):
            return dip_id_of(cert)
        return None


@functools.lru_cache(maxsize=1024)
def fingerprint_of(cert: x509.Certificate) -> bytes:
    """A certificate's SHA-256 fingerprint, once per certificate: every signed request compares a
    few (a third of the cost of checking a signature went to hashing the same certificates)."""
    return cert.fingerprint(hashes.SHA256())


_PEER_CACHE: dict[str, x509.Certificate] = {}
_PEER_LOCK = threading.Lock()


def peer_certificate(scope: Scope) -> x509.Certificate | None:
    """The TLS client certificate from the ASGI TLS extension (``stubs.server`` puts it there)."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return None
    pem = chain[0]
    with _PEER_LOCK:
        cert = _PEER_CACHE.get(pem)
        if cert is None:
            if len(_PEER_CACHE) > 256:
                _PEER_CACHE.clear()
            cert = _PEER_CACHE[pem] = x509.load_pem_x509_certificate(pem.encode("ascii"))
    return cert


def dip_callback_headers(config: SimulatorConfig, method: str, url: str, body: bytes) -> dict[str, str]:
    """The DIP's signature headers for a webhook delivery (the receiver verifies them with ``dip.pem``)."""
    return config.credentials.dip_signer().headers(method, url, body)
