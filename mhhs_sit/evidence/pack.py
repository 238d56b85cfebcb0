"""Packing a run directory into one evidence archive, and verifying such an archive.

The pack is a zip: the run's evidence files under a folder named after the run directory, and
``MANIFEST.json`` at the root (written last, after the files it describes). It is deterministic
— names sorted, fixed timestamps and permissions, ``created`` taken from the run — so packing
the same run twice gives identical bytes, and a reviewer can re-pack to compare. Each file is
read once: the bytes scanned for secrets are the bytes hashed and the bytes packed.

Only the run's evidence is packed (results.json, junit.xml, allure-results/, report/,
completion-report.*, rttm.*); anything else in the directory is listed as not packed, and
symbolic links are never followed. Packing is refused when a file holds the value of a
secret-looking environment variable or of the signing key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import os
import urllib.parse
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from xml.etree import ElementTree

from mhhs_sit.errors import ConfigError
from mhhs_sit.evidence.manifest import MANIFEST_NAME, FileDiff, FileEntry, Manifest, compare, digest
from mhhs_sit.evidence.redact import json_forms, secret_variables
from mhhs_sit.evidence.signing import SignatureCheck, Signer, check

RESULTS = "results.json"
EVIDENCE_DIRS = ("allure-results", "report")
EVIDENCE_FILES = ("results.json", "junit.xml", "completion-report.*", "rttm.*")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: the pack's bytes never depend on a clock


@dataclass(frozen=True)
class Skipped:
    path: str  # relative to the run directory; a trailing "/" for a whole directory
    reason: str


@dataclass(frozen=True)
class Leak:
    path: str  # relative to the run directory
    variable: str  # the variable's name (or the key's description), never its value


@dataclass(frozen=True)
class PackResult:
    path: Path
    manifest: Manifest
    sha256: str  # of the archive itself: worth recording where the pack is handed over
    skipped: tuple[Skipped, ...]


def default_out(run_dir: Path) -> Path:
    """``RUN_DIR.evidence.zip`` beside the run directory (never inside it)."""
    run_dir = Path(run_dir).resolve()
    return run_dir.with_name(run_dir.name + ".evidence.zip")


def collect(run_dir: Path) -> tuple[list[tuple[str, Path]], list[Skipped]]:
    """The evidence files (path relative to the run directory, file), sorted, and what was left out."""
    files: list[tuple[str, Path]] = []
    skipped: list[Skipped] = []
    for entry in sorted(run_dir.iterdir(), key=lambda p: p.name):
        if entry.is_symlink():
            skipped.append(Skipped(entry.name, "symbolic link, not followed"))
        elif entry.is_dir() and entry.name in EVIDENCE_DIRS:
            _walk(run_dir, entry, files, skipped)
        elif entry.is_dir():
            skipped.append(Skipped(entry.name + "/", "not part of the evidence"))
        elif entry.is_file() and any(fnmatchcase(entry.name, pat) for pat in EVIDENCE_FILES):
            files.append((entry.name, entry))
        else:
            skipped.append(Skipped(entry.name, "not part of the evidence"))
    files.sort()
    return files, skipped


def _walk(root: Path, top: Path, files: list[tuple[str, Path]], skipped: list[Skipped]) -> None:
    for dirpath, dirnames, filenames in os.walk(top):  # os.walk does not descend into linked directories
        here = Path(dirpath)
        for name in sorted(dirnames + filenames):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                skipped.append(Skipped(rel, "symbolic link, not followed"))
            elif path.is_file():
                files.append((rel, path))
            elif not path.is_dir():
                skipped.append(Skipped(rel, "not a regular file"))


def _forms(value: str) -> set[bytes]:
    """How a value can appear in a file: as is, JSON-escaped, HTML/XML-escaped, URL-encoded."""
    forms = {
        value,
        *json_forms(value),
        html.escape(value, quote=True),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
    }
    return {f.encode("utf-8") for f in forms if f}


def pack(
    run_dir: Path,
    out: Path | None = None,
    *,
    signer: Signer | None = None,
    environ: Mapping[str, str] | None = None,
) -> PackResult:
    """Pack ``run_dir`` into ``out`` (default :func:`default_out`); ``ConfigError`` if it cannot or must not."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir} is not a directory: give the run directory `mhhs-sit run --out` wrote")
    run = _run_metadata(run_dir)
    files, skipped = collect(run_dir)
    unreadable = [f"{rel}: {why}" for rel, path in files if (why := unreadable_artefact(rel, path)) is not None]
    if unreadable:
        raise ConfigError(
            f"{run_dir} holds artefacts a reviewer could not read (a run killed while writing them?): "
            + "; ".join(unreadable)
            + ". Re-create them (e.g. `mhhs-sit rttm`, `mhhs-sit completion`) or remove them, then pack again"
        )
    out = Path(out) if out is not None else default_out(run_dir)
    top = run_dir.resolve().name or "run"
    secrets = _secrets(environ, signer)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            entries = _add_files(zf, run_dir, top, files, secrets)
            manifest = Manifest(created=_created(run, run_dir), run=run, files=entries)
            if signer is not None:
                manifest = replace(manifest, signature=signer.sign(manifest.signed_bytes()))
            _add(zf, MANIFEST_NAME, manifest.to_json())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    with out.open("rb") as f:
        sha, _ = digest(f)
    return PackResult(out, manifest, sha, tuple(skipped))


def unreadable_artefact(rel: str, path: Path) -> str | None:
    """Why a report the run writes (the run folder's own files) cannot be read: empty, or not what
    its name says; None if it can. A leftover temporary file of an unfinished write anywhere."""
    if path.name.startswith(".") and ".tmp" in path.name:
        return "a temporary file of a write that never finished"
    kind = ARTEFACT_KINDS.get(path.suffix.lower())
    if kind is None or "/" in rel:
        return None
    if path.stat().st_size == 0:
        return "empty (0 bytes)"
    try:
        kind(path)
    except (ValueError, zipfile.BadZipFile, ElementTree.ParseError, OSError) as exc:
        return f"not a readable {path.suffix.lstrip('.')} file ({str(exc)[:120]})"
    return None


def _json(path: Path) -> None:
    json.loads(path.read_bytes())


def _xlsx(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        bad = zf.testzip()
        if bad is not None or "[Content_Types].xml" not in zf.namelist():
            raise zipfile.BadZipFile(f"damaged member {bad}" if bad else "no workbook content")


def _xml(path: Path) -> None:
    ElementTree.parse(path)


def _html(path: Path) -> None:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 4096))
        if b"</html>" not in f.read().lower():
            raise ValueError("it ends before </html>")


ARTEFACT_KINDS: dict[str, Callable[[Path], None]] = {
    ".json": _json,
    ".xlsx": _xlsx,
    ".xml": _xml,
    ".html": _html,
    ".md": lambda path: None,  # any text, once not empty
}


def _secrets(environ: Mapping[str, str] | None, signer: Signer | None) -> dict[str, set[bytes]]:
    """The names redact.py masks at the source, and the signer's: the pack is the last check before evidence leaves."""
    secrets = {name: _forms(value) for name, value in secret_variables(environ).items()}
    if signer is not None:
        secrets.update({name: _forms(value) for name, value in signer.secrets().items()})
    return secrets


def _add_files(
    zf: zipfile.ZipFile, run_dir: Path, top: str, files: Sequence[tuple[str, Path]], secrets: Mapping[str, set[bytes]]
) -> tuple[FileEntry, ...]:
    """Each file into the archive, under ``top``; ``ConfigError`` naming every leak when any file holds a secret."""
    entries: list[FileEntry] = []
    leaks: list[Leak] = []
    for rel, path in files:
        data = path.read_bytes()
        leaks += [Leak(rel, name) for name, forms in secrets.items() if any(f in data for f in forms)]
        if leaks:
            continue  # keep scanning, to name every leak at once, but pack nothing more
        entries.append(FileEntry(f"{top}/{rel}", hashlib.sha256(data).hexdigest(), len(data)))
        _add(zf, f"{top}/{rel}", data)
    if leaks:
        raise ConfigError(_leak_message(run_dir, leaks))
    return tuple(entries)


def _run_metadata(run_dir: Path) -> dict[str, object]:
    path = run_dir / RESULTS
    if not path.is_file():
        raise ConfigError(
            f"no {RESULTS} in {run_dir}: an evidence pack needs the results of a run "
            "(give the directory `mhhs-sit run --out` wrote)"
        )
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path} must hold a JSON object (the run's metadata and its cases)")
    return {k: v for k, v in doc.items() if k != "cases"}


def _created(run: Mapping[str, object], run_dir: Path) -> str:
    """When the evidence was produced: the run's end (or start), so re-packing gives the same bytes."""
    for key in ("finished", "started"):
        if isinstance(run.get(key), str) and run[key]:
            return str(run[key])
    mtime = (run_dir / RESULTS).stat().st_mtime
    return dt.datetime.fromtimestamp(int(mtime), dt.UTC).isoformat()


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever the packing machine
    info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
    zf.writestr(info, data, compresslevel=9)


def _leak_message(run_dir: Path, leaks: Sequence[Leak]) -> str:
    lines = [f"refusing to pack {run_dir}: secret values found in its files (the values are not shown):"]
    lines += [f"  {leak.path} contains the value of {leak.variable}" for leak in sorted(set(leaks), key=str)]
    lines.append(
        "Remove them from these files (or, if a variable is not secret, unset it for this command) and pack again."
    )
    return "\n".join(lines)


# -- verify ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contents:
    """What a pack holds: its manifest's bytes and every other file's (sha256, size)."""

    manifest: bytes
    found: Mapping[str, tuple[str, int]]
    duplicates: tuple[str, ...] = ()  # names stored more than once in a zip


def read_pack(path: Path) -> Contents:
    """A pack as a zip file or as the directory it was unpacked into; ``ConfigError`` if it is neither."""
    path = Path(path)
    if path.is_dir():
        return _read_dir(path)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist")
    if not zipfile.is_zipfile(path):
        raise ConfigError(f"{path} is not a zip archive (nor a directory): not an evidence pack")
    try:
        with zipfile.ZipFile(path) as zf:
            return _read_zip(path, zf)
    except zipfile.BadZipFile as exc:
        raise ConfigError(f"{path} is not a readable zip archive: {exc}") from None


def _read_zip(path: Path, zf: zipfile.ZipFile) -> Contents:
    infos = [i for i in zf.infolist() if not i.is_dir()]
    names = [i.filename for i in infos]
    if MANIFEST_NAME not in names:
        raise ConfigError(f"{path} has no {MANIFEST_NAME} at its root: not an evidence pack")
    if names.count(MANIFEST_NAME) > 1:
        raise ConfigError(f"{path} holds {MANIFEST_NAME} more than once: which one is meant cannot be known")
    try:
        manifest = zf.read(MANIFEST_NAME)
    except (zipfile.BadZipFile, zlib.error) as exc:
        raise ConfigError(f"{MANIFEST_NAME} in {path} cannot be read: {exc}") from None
    duplicates = tuple(sorted({n for n in names if names.count(n) > 1}))
    return Contents(manifest, _zip_digests(zf, infos), duplicates)


def _zip_digests(zf: zipfile.ZipFile, infos: Sequence[zipfile.ZipInfo]) -> dict[str, tuple[str, int]]:
    """Each member's digest and size but the manifest's (the first of a name held twice)."""
    found: dict[str, tuple[str, int]] = {}
    for info in infos:
        if info.filename == MANIFEST_NAME or info.filename in found:
            continue
        try:
            with zf.open(info) as f:
                found[info.filename] = digest(f)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # bytes edited inside the archive
            found[info.filename] = (f"unreadable ({exc})", -1)
    return found


def _read_dir(path: Path) -> Contents:
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ConfigError(f"{path} has no {MANIFEST_NAME}: not an unpacked evidence pack")
    found: dict[str, tuple[str, int]] = {}
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            file = Path(dirpath) / name
            rel = file.relative_to(path).as_posix()
            if rel != MANIFEST_NAME:
                with file.open("rb") as f:
                    found[rel] = digest(f)
    return Contents(manifest_path.read_bytes(), found)


@dataclass(frozen=True)
class Verification:
    source: Path
    manifest: Manifest
    files: FileDiff
    signature: SignatureCheck
    duplicates: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.files.clean and not self.duplicates and self.signature.passed

    def render(self) -> str:
        run = self.manifest.run
        lines = [
            f"evidence pack {self.source}: run {run.get('run_id', '?')} in {run.get('environment', '?')}, "
            f"{len(self.manifest.files)} files listed, created {self.manifest.created}"
        ]
        for a in self.files.altered:
            if a.expected != a.got:
                lines.append(f"ALTERED {a.path} (sha256 expected {a.expected} got {a.got})")
            else:
                lines.append(f"ALTERED {a.path} (size expected {a.expected_size} got {a.got_size})")
        lines += [f"ADDED {p}" for p in self.files.added]
        lines += [f"ADDED {p} (stored more than once in the archive)" for p in self.duplicates]
        lines += [f"MISSING {p}" for p in self.files.missing]
        sig = self.signature
        what = f" ({sig.scheme}, key_id {sig.key_id})" if sig.scheme else ""
        lines.append(f"SIGNATURE {sig.status}{what}")
        lines += [f"  note: {n}" for n in sig.notes]
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)


def verify(path: Path, *, hmac_key: bytes | None = None, public_key: bytes | None = None) -> Verification:
    """Check every file against the manifest and the manifest against its signature."""
    contents = read_pack(path)
    manifest, signed = Manifest.from_json(contents.manifest)
    return Verification(
        source=Path(path),
        manifest=manifest,
        files=compare(manifest.files, contents.found),
        signature=check(manifest.signature, signed, hmac_key=hmac_key, public_key=public_key),
        duplicates=contents.duplicates,
    )
