"""Finding a secret's value in a packed file, whatever encoding the file wraps it in.

A plain substring search misses a secret the file holds encoded: the Allure report embeds every
result and attachment as base64 inside ``index.html``, an attachment may be gzipped, an RTTM
workbook is a zip of deflated XML. So a file is searched as it is and then, recursively (to
:data:`MAX_DEPTH`), in every form it decodes to: each run of base64 (standard or URL-safe, also
inside ``data:`` URIs), each zip member, a gzip or zlib stream. Inside each of those views the
secret is looked for as is and in the escaped forms text formats give it (JSON, HTML/XML,
URL-encoding). Decoding is bounded (:data:`MAX_DECODED_BYTES` per file), so a compression bomb
costs a bounded amount of memory and is reported rather than skipped silently.
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import re
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mhhs_sit.evidence.redact import json_forms

MAX_DEPTH = 4  # e.g. index.html > base64 > JSON attachment > base64 body: deep enough, and bounded
MAX_DECODED_BYTES = 256 << 20  # per packed file, over every view decoded from it
MIN_BASE64 = 16  # shorter runs are words and identifiers, and hide less than a secret's 8 characters
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/\-_]{%d,}={0,2}" % MIN_BASE64)
_GZIP = b"\x1f\x8b"
_ZIP = b"PK\x03\x04"
_ZLIB_HEADERS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")


@dataclass(frozen=True)
class Found:
    """A secret found in a file: the secret's name, and how it was wrapped (e.g. ``base64``)."""

    variable: str
    encoding: str  # "" when the file holds it as is (or escaped as the file's text format escapes it)


@dataclass(frozen=True)
class Forms:
    """The byte strings that betray a secret: as text writes it, and as base64 of that text."""

    plain: frozenset[bytes]
    base64: frozenset[bytes]


def forms(value: str) -> Forms:
    """How a value can appear in text: as is, JSON-escaped (also with ``\\/``), HTML/XML-escaped,
    URL-encoded; and the base64 of each, at each of the three alignments a longer text puts it."""
    texts = {
        value,
        *json_forms(value),
        *(f.replace("/", "\\/") for f in json_forms(value)),
        html.escape(value, quote=True),
        html.escape(value, quote=False),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
    }
    plain = {t.encode("utf-8") for t in texts if t}
    return Forms(frozenset(plain), frozenset(b for p in plain for b in _base64_cores(p)))


def _base64_cores(data: bytes) -> set[bytes]:
    """The base64 characters that encode ``data`` wherever it starts in a longer text: for each of
    the three offsets, the characters that depend only on ``data`` (edges dropped)."""
    cores: set[bytes] = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * offset + data)
            start = (offset * 4 + 2) // 3  # the first character untouched by the padding bytes
            end = len(text) - (4 if (offset + len(data)) % 3 else 0)  # the last group mixes in '=' padding
            core = text[start:end].rstrip(b"=")
            if len(core) >= 8:
                cores.add(core)
    return cores


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_DECODED_BYTES
        self.exhausted = False

    def take(self, n: int) -> bool:
        if n > self.left:
            self.exhausted = True
            return False
        self.left -= n
        return True


def scan(data: bytes, secrets: Mapping[str, Forms]) -> list[Found]:
    """Every secret (by name) ``data`` holds, in any view of it; a ``Found`` named
    ``decoding limit`` when the views could not all be decoded within the budget."""
    found: dict[str, str] = {}
    budget = _Budget()
    for encoding, view in _views(data, "", 0, budget):
        for name, wanted in secrets.items():
            if name in found:
                continue
            if any(w in view for w in wanted.plain):
                found[name] = encoding
            elif any(w in view for w in wanted.base64):
                found[name] = f"{encoding} > base64" if encoding else "base64"
        if len(found) == len(secrets):
            break
    result = [Found(name, how) for name, how in found.items()]
    if budget.exhausted and len(found) < len(secrets):
        result.append(Found("", f"more than {MAX_DECODED_BYTES >> 20} MB when decoded: not fully searched"))
    return result


def _views(data: bytes, encoding: str, depth: int, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    yield encoding, data
    if depth >= MAX_DEPTH:
        return
    for how, inner in _decoded(data, budget):
        yield from _views(inner, f"{encoding} > {how}" if encoding else how, depth + 1, budget)


def _decoded(data: bytes, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    if data.startswith(_ZIP):
        yield from _zip_members(data, budget)
        return
    if data.startswith(_GZIP):
        inflated = _inflate(data, zlib.MAX_WBITS | 16, budget)
        if inflated is not None:
            yield "gzip", inflated
        return
    if data[:2] in _ZLIB_HEADERS:
        inflated = _inflate(data, zlib.MAX_WBITS, budget)
        if inflated is not None:
            yield "zlib", inflated
    for match in _BASE64_RUN.finditer(data):
        decoded = _b64(match.group())
        if decoded is not None and budget.take(len(decoded)):
            yield "base64", decoded


def _b64(run: bytes) -> bytes | None:
    run = run.rstrip(b"=")
    run = run[: len(run) - len(run) % 4] if len(run) % 4 == 1 else run  # one stray character cannot decode
    padded = run + b"=" * (-len(run) % 4)
    altchars = b"-_" if (b"-" in run or b"_" in run) else None
    try:
        return base64.b64decode(padded, altchars=altchars, validate=False)
    except (binascii.Error, ValueError):
        return None


def _inflate(data: bytes, wbits: int, budget: _Budget) -> bytes | None:
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, budget.left + 1)
    except zlib.error:
        return None
    if not budget.take(len(out)):
        return None
    return out


def _zip_members(data: bytes, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                if not budget.take(info.file_size):
                    return
                with zf.open(info) as member:
                    body = member.read(info.file_size + 1)
                yield f"zip member {info.filename}", body
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError):
        return
