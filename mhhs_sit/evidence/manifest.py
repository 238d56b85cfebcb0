"""MANIFEST.json: what an evidence pack holds, and the exact bytes its signature covers.

The manifest lists every packed file with its SHA-256 and size, and the run's metadata. A
signature covers :func:`signed_bytes` — the manifest *without* its ``signature`` member, as
canonical JSON — so the file hashes, the run metadata and the creation time are all covered,
and changing any packed file (or the manifest itself) is detected.

Canonical JSON, exactly: the manifest object minus ``signature``, serialised with keys sorted at
every level, no whitespace between tokens (``","`` and ``":"``), every non-ASCII character as a
``\\uXXXX`` escape, NaN/Infinity refused — i.e. Python's
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)`` —
encoded as ASCII. Verification recomputes these bytes from the parsed MANIFEST.json, and the
manifest is read strictly (no unknown keys), so nothing in it escapes the signature.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO

from mhhs_sit.errors import ConfigError

FORMAT = "mhhs-sit-evidence/1"
MANIFEST_NAME = "MANIFEST.json"
_KEYS = frozenset({"format", "created", "run", "files", "signature"})
_FILE_KEYS = frozenset({"path", "sha256", "size"})
_CHUNK = 1 << 20


@dataclass(frozen=True, order=True)
class FileEntry:
    """One packed file: its path inside the pack (POSIX, relative) and its content's digest."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """The manifest as packed; ``signature`` is ``None`` for an unsigned pack."""

    created: str
    run: Mapping[str, object]
    files: tuple[FileEntry, ...]
    signature: Mapping[str, str] | None = None
    format: str = FORMAT

    def to_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "created": self.created,
            "run": dict(self.run),
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in self.files],
            "signature": dict(self.signature) if self.signature is not None else None,
        }

    def to_json(self) -> bytes:
        """The MANIFEST.json file: indented for people; the signature is over :func:`signed_bytes`."""
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=True) + "\n").encode("ascii")

    def signed_bytes(self) -> bytes:
        return signed_bytes(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes) -> tuple[Manifest, bytes]:
        """The manifest and the bytes its signature must cover; ``ConfigError`` if it is malformed."""
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{MANIFEST_NAME} is not valid JSON: {exc}") from None
        return cls.from_dict(doc), signed_bytes(doc)

    @classmethod
    def from_dict(cls, doc: object) -> Manifest:
        if not isinstance(doc, dict):
            raise ConfigError(f"{MANIFEST_NAME} must hold a JSON object")
        if doc.get("format") != FORMAT:
            raise ConfigError(f"{MANIFEST_NAME} has format {doc.get('format')!r}; this version reads {FORMAT!r}")
        if set(doc) != _KEYS:
            raise ConfigError(
                f"{MANIFEST_NAME} must have exactly the keys {sorted(_KEYS)}; "
                f"missing {sorted(_KEYS - set(doc))}, unexpected {sorted(set(doc) - _KEYS)}"
            )
        if not isinstance(doc["created"], str) or not isinstance(doc["run"], dict):
            raise ConfigError(f"{MANIFEST_NAME}: 'created' must be a string and 'run' an object")
        signature = doc["signature"]
        if signature is not None and not (
            isinstance(signature, dict) and all(isinstance(v, str) for v in signature.values())
        ):
            raise ConfigError(f"{MANIFEST_NAME}: 'signature' must be null or an object of strings")
        return cls(created=doc["created"], run=doc["run"], files=_entries(doc["files"]), signature=signature)


def _entries(files: object) -> tuple[FileEntry, ...]:
    if not isinstance(files, list):
        raise ConfigError(f"{MANIFEST_NAME}: 'files' must be a list")
    out: list[FileEntry] = []
    for i, f in enumerate(files):
        if not (
            isinstance(f, dict)
            and set(f) == _FILE_KEYS
            and isinstance(f["path"], str)
            and isinstance(f["sha256"], str)
            and isinstance(f["size"], int)
        ):
            raise ConfigError(f"{MANIFEST_NAME}: files[{i}] must be {{path: str, sha256: str, size: int}}")
        out.append(FileEntry(f["path"], f["sha256"], f["size"]))
    paths = [e.path for e in out]
    if len(set(paths)) != len(paths):
        raise ConfigError(f"{MANIFEST_NAME} lists a path more than once")
    return tuple(out)


def canonical_json(obj: object) -> bytes:
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except ValueError as exc:  # NaN or Infinity: no canonical form
        raise ConfigError(f"the manifest cannot be serialised canonically: {exc}") from None
    return text.encode("ascii")


def signed_bytes(doc: Mapping[str, object]) -> bytes:
    """The bytes a signature covers: the manifest minus ``signature``, as canonical JSON."""
    return canonical_json({k: v for k, v in doc.items() if k != "signature"})


def digest(stream: IO[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and size of a stream, read in chunks so large reports need little memory."""
    h = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


@dataclass(frozen=True)
class Altered:
    path: str
    expected: str
    got: str
    expected_size: int
    got_size: int


@dataclass(frozen=True)
class FileDiff:
    """How the files found differ from the manifest; empty when they match exactly."""

    altered: tuple[Altered, ...] = ()
    added: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.altered or self.added or self.missing)


def compare(expected: Iterable[FileEntry], found: Mapping[str, tuple[str, int]]) -> FileDiff:
    """Manifest entries against what is there (path -> (sha256, size)), each list sorted by path."""
    want = {e.path: e for e in expected}
    altered = tuple(
        Altered(p, want[p].sha256, found[p][0], want[p].size, found[p][1])
        for p in sorted(want.keys() & found.keys())
        if (want[p].sha256, want[p].size) != found[p]
    )
    return FileDiff(
        altered=altered,
        added=tuple(sorted(found.keys() - want.keys())),
        missing=tuple(sorted(want.keys() - found.keys())),
    )
