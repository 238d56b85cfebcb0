"""Signing a manifest (HMAC-SHA256 or Ed25519) and checking a signature.

Hashes alone only show that files match the manifest: whoever changes a file can rewrite the
manifest too. A signature over the manifest (see :func:`mhhs_sit.evidence.manifest.signed_bytes`)
closes that gap. HMAC needs a key shared with the reviewer and proves nothing to anyone else;
Ed25519 lets anyone check with the public key, but a public key *embedded in the pack* proves
nothing — anyone can re-sign a changed pack with their own — so a signature is checked only
against the key the reviewer names, and a pack checked without one does not pass unless the
reviewer asks for an integrity-only check (``--allow-unsigned``). Keys are never written into a
pack: only a key id (a digest prefix).

``cryptography`` is needed for Ed25519 only, and imported only then.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from mhhs_sit.errors import ConfigError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HMAC_SHA256 = "hmac-sha256"
ED25519 = "ed25519"
MIN_HMAC_KEY_BYTES = 16
PRIVATE_KEY_NAME = "evidence-signing.key.pem"
PUBLIC_KEY_NAME = "evidence-signing.pub.pem"


def key_id(key: bytes) -> str:
    """A short public name for a key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


class Signer(Protocol):
    def sign(self, data: bytes) -> dict[str, str]:
        """The manifest's ``signature`` object for ``data`` (the signed bytes)."""
        ...

    def secrets(self) -> dict[str, str]:
        """Secret values (by a name safe to print) that must not appear in any packed file."""
        ...


@dataclass(frozen=True)
class HmacSigner:
    key: bytes = field(repr=False)
    source: str = "the HMAC key"  # how to name the key in messages, e.g. the environment variable

    def sign(self, data: bytes) -> dict[str, str]:
        return {
            "scheme": HMAC_SHA256,
            "key_id": key_id(self.key),
            "value": hmac.new(self.key, data, hashlib.sha256).hexdigest(),
        }

    def secrets(self) -> dict[str, str]:
        return {self.source: self.key.decode("utf-8", errors="replace")}


def hmac_key_from_env(var: str, environ: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key held in environment variable ``var`` (never in a file or on the command line)."""
    value = (os.environ if environ is None else environ).get(var, "")
    if not value:
        raise ConfigError(f"environment variable {var} is not set or is empty: it must hold the HMAC key")
    key = value.encode("utf-8")
    if len(key) < MIN_HMAC_KEY_BYTES:
        raise ConfigError(
            f"the HMAC key in {var} is shorter than {MIN_HMAC_KEY_BYTES} bytes; use a long random key, e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return key


def _crypto() -> tuple[ModuleType, ModuleType]:
    """cryptography's serialization and ed25519 modules, imported only when a pack is signed or checked."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise ConfigError("Ed25519 signing needs the 'cryptography' package: pip install cryptography") from None
    return serialization, ed25519


@dataclass(frozen=True)
class Ed25519Signer:
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def from_file(cls, path: Path) -> Ed25519Signer:
        serialization, ed25519 = _crypto()
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the Ed25519 private key {path}: {exc.strerror}") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:  # TypeError: the key is encrypted
            raise ConfigError(f"{path} is not an unencrypted PEM private key: {exc}") from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ConfigError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
        return cls(key)

    def _public_raw(self) -> bytes:
        serialization, _ = _crypto()
        return bytes(
            self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    def sign(self, data: bytes) -> dict[str, str]:
        public = self._public_raw()
        return {
            "scheme": ED25519,
            "key_id": key_id(public),
            "public_key": base64.b64encode(public).decode("ascii"),
            "value": base64.b64encode(self.private_key.sign(data)).decode("ascii"),
        }

    def secrets(self) -> dict[str, str]:
        serialization, _ = _crypto()
        der = self.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return {"the Ed25519 private key": base64.b64encode(der).decode("ascii")}  # the PEM's body


def load_public_key(path: Path) -> bytes:
    """The raw 32-byte Ed25519 public key from a PEM file (or a file holding its base64 raw form)."""
    serialization, ed25519 = _crypto()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the Ed25519 public key {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" in data:
        raise ConfigError(f"{path} is a private key: give the public key (keep the private key to yourself)")
    if b"-----BEGIN" in data:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise ConfigError(f"{path} is not a PEM public key: {exc}") from None
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise ConfigError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
        return bytes(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    raw = _b64(data.strip())
    if raw is None or len(raw) != 32:
        raise ConfigError(f"{path} is neither a PEM public key nor a base64 raw Ed25519 public key")
    return raw


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    key_id: str


def keygen(out_dir: Path) -> KeyPair:
    """A new Ed25519 key pair in ``out_dir``; the private key file is created with mode 0600."""
    serialization, ed25519 = _crypto()
    out_dir = Path(out_dir)
    private, public = out_dir / PRIVATE_KEY_NAME, out_dir / PUBLIC_KEY_NAME
    existing = [str(p) for p in (private, public) if p.exists()]
    if existing:
        raise ConfigError(f"refusing to overwrite {', '.join(existing)}: choose another --out or move them away")
    out_dir.mkdir(parents=True, exist_ok=True)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # whatever the umask
        f.write(pem)
    pub = key.public_key()
    public.write_bytes(pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KeyPair(private, public, key_id(raw))


def _b64(data: bytes | str) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class SignatureCheck:
    """``status`` is ok, INVALID, absent or unchecked; ``passed`` is what it means for the verdict."""

    status: str
    passed: bool
    notes: tuple[str, ...] = ()
    scheme: str | None = None
    key_id: str | None = None


ALLOW_HINT = (
    "give the signer's key (--hmac-key-env or --ed25519-public-key, obtained from them separately) to check it, "
    "or --allow-unsigned to accept a check of the files against the manifest only"
)


def check(
    signature: Mapping[str, str] | None,
    data: bytes,
    *,
    hmac_key: bytes | None = None,
    public_key: bytes | None = None,
    allow_unsigned: bool = False,
) -> SignatureCheck:
    """Check ``signature`` over ``data`` against the key the reviewer names, and only against it.

    Without a key nothing is checked (a pack's own embedded key proves nothing: anyone can re-sign
    a changed pack with theirs), so the check passes only when ``allow_unsigned`` says an
    integrity-only verdict is wanted; a key given makes a valid signature by that key required.
    """
    expected = HMAC_SHA256 if hmac_key is not None else ED25519 if public_key is not None else None
    if signature is None:
        if expected:
            return SignatureCheck("absent", False, (
                f"a {expected} signature was expected but the pack is unsigned: its files could have been "
                "changed together with the manifest",
            ))  # fmt: skip
        return SignatureCheck("absent", allow_unsigned, (
            "unsigned pack: this shows the files match the manifest, not that the manifest is the original",
            *(() if allow_unsigned else (f"FAIL without --allow-unsigned: {ALLOW_HINT}",)),
        ))  # fmt: skip
    scheme, kid = signature.get("scheme"), signature.get("key_id")
    if scheme not in (HMAC_SHA256, ED25519):
        return SignatureCheck("INVALID", False, (f"unknown signature scheme {scheme!r}",), scheme, kid)
    if expected is None:
        return SignatureCheck("unchecked", allow_unsigned, (
            f"signed with {scheme} (key_id {kid}) but no key was given, and a signature is checked only against "
            "a key the reviewer names: this shows only that the files match the manifest",
            *(() if allow_unsigned else (f"FAIL without --allow-unsigned: {ALLOW_HINT}",)),
        ), scheme, kid)  # fmt: skip
    if scheme != expected:
        return SignatureCheck(
            "INVALID", False, (f"the pack is signed with {scheme}, but the key given is for {expected}",), scheme, kid
        )
    if scheme == HMAC_SHA256 and hmac_key is not None:
        return _check_hmac(signature, data, hmac_key)
    assert public_key is not None  # expected == scheme == ED25519
    return _check_ed25519(signature, data, public_key)


def _check_hmac(signature: Mapping[str, str], data: bytes, key: bytes) -> SignatureCheck:
    kid = signature.get("key_id")
    good = hmac.new(key, data, hashlib.sha256).hexdigest()
    if hmac.compare_digest(good, str(signature.get("value", ""))):
        return SignatureCheck("ok", True, (), HMAC_SHA256, kid)
    notes = ["the HMAC does not match the manifest"]
    if kid != key_id(key):
        notes.append(f"signed with key_id {kid}; the key given has key_id {key_id(key)}")
    return SignatureCheck("INVALID", False, tuple(notes), HMAC_SHA256, kid)


def _check_ed25519(signature: Mapping[str, str], data: bytes, expected_key: bytes) -> SignatureCheck:
    _, ed25519 = _crypto()
    from cryptography.exceptions import InvalidSignature

    kid = signature.get("key_id")
    embedded = _b64(signature.get("public_key", ""))
    value = _b64(signature.get("value", ""))
    if value is None:
        return SignatureCheck("INVALID", False, ("the signature's value is not valid base64",), ED25519, kid)
    if embedded is not None and embedded != expected_key:
        return SignatureCheck("INVALID", False, (
            f"signed by the key with key_id {key_id(embedded)}, not by the expected key (key_id "
            f"{key_id(expected_key)})",
        ), ED25519, kid)  # fmt: skip
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(expected_key).verify(value, data)
    except InvalidSignature:
        return SignatureCheck("INVALID", False, ("the Ed25519 signature does not match the manifest",), ED25519, kid)
    return SignatureCheck("ok", True, (f"signed by the expected key (key_id {key_id(expected_key)})",), ED25519, kid)
