"""Parsed catalogue files kept between runs, as ``.pyc`` files keep compiled modules.

Every process loads the catalogue, and parsing its YAML is most of that cost. A file that
parsed without problems is stored in marshal form (plain data only, never code) under the
data directory's ``__pycache__``, keyed by the SHA-1 of its bytes; the next process reads it
back in a millisecond. The YAML text is still read (to hash it, and so that a problem the
loader finds later can be located by line). Where ``__pycache__`` cannot be written the files
are simply parsed each time.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from pathlib import Path

from mhhs_sit.core.jsonvalue import JsonValue
from mhhs_sit.core.yamlsrc import YamlDoc, parse_yaml
from mhhs_sit.errors import Problem

CACHE_DIR = "__pycache__"
_MAGIC = b"mhhs-sit-yaml-1\n"


def load_cached(path: Path) -> YamlDoc:
    """The file as :func:`~mhhs_sit.core.yamlsrc.load_yaml` gives it, from the cache when it is current."""
    name = str(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return YamlDoc(name, None, problems=[Problem(name, 0, 0, "", f"cannot read file: {exc}")])
    digest = hashlib.sha1(raw, usedforsecurity=False).digest()
    cache = path.parent / CACHE_DIR / f"{path.name}.marshal"
    cached = _read(cache, digest)
    if cached is not None:
        return YamlDoc(name, cached[0], text)
    doc = parse_yaml(text, name)
    if doc.data is not None and not doc.problems:
        _write(cache, digest, doc.data)
    return doc


def _read(cache: Path, digest: bytes) -> tuple[object] | None:
    try:
        blob = cache.read_bytes()
    except OSError:
        return None
    head = _MAGIC + digest
    if not blob.startswith(head):
        return None
    try:
        return (marshal.loads(blob[len(head) :]),)
    except (EOFError, ValueError, TypeError):
        return None


def _write(cache: Path, digest: bytes, data: JsonValue) -> None:
    """Write atomically (parallel workers may race); give up quietly where that is not possible."""
    try:
        payload = marshal.dumps(data)
    except ValueError:
        return
    temporary = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(exist_ok=True)
        temporary.write_bytes(_MAGIC + digest + payload)
        os.replace(temporary, cache)
    except OSError:
        with contextlib.suppress(OSError):  # there was nowhere to write it
            temporary.unlink(missing_ok=True)
