"""Packing a run directory into one evidence archive, and verifying such an archive.

The pack is a zip: the run's evidence files under a folder named after the run directory, and
``MANIFEST.json`` at the root (written last, after the files it describes). It is deterministic
— names sorted, fixed timestamps and permissions, ``created`` taken from the run — so packing
the same run twice gives identical bytes, and a reviewer can re-pack to compare. Each file is
read once: the bytes scanned for secrets are the bytes hashed and the bytes packed.

Only the run's evidence is packed (results.json, junit.xml, allure-results/, report/,
completion-report.*, rttm.*); anything else in the directory is listed as not packed, and
symbolic links are never followed. Packing is refused when a file holds the value of a
secret-looking environment variable or of the signing key, as is or encoded (base64, gzip, zip:
see :mod:`mhhs_sit.evidence.secretscan`), naming every such file. Verifying is
:mod:`mhhs_sit.evidence.verify`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from xml.etree import ElementTree

from mhhs_sit.core.atomic import atomic_path
from mhhs_sit.errors import ConfigError
from mhhs_sit.evidence.manifest import MANIFEST_NAME, FileEntry, Manifest, digest
from mhhs_sit.evidence.redact import secret_variables
from mhhs_sit.evidence.secretscan import Forms, forms, scan
from mhhs_sit.evidence.signing import Signer

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
    variable: str  # the variable's name (or the key's description), never its value; "" if not searchable
    encoding: str = ""  # how the file wraps it, e.g. "base64 > gzip"; "" when it holds it as is


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
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w") as zf:  # MANIFEST.json comes last: a whole pack or none
        entries = _add_files(zf, run_dir, top, files, secrets)
        manifest = Manifest(created=_created(run, run_dir), run=run, files=entries)
        if signer is not None:
            manifest = replace(manifest, signature=signer.sign(manifest.signed_bytes()))
        _add(zf, MANIFEST_NAME, manifest.to_json())
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


def _secrets(environ: Mapping[str, str] | None, signer: Signer | None) -> dict[str, Forms]:
    """The names redact.py masks at the source, and the signer's: the pack is the last check before evidence leaves."""
    secrets = {name: forms(value) for name, value in secret_variables(environ).items()}
    if signer is not None:
        secrets.update({name: forms(value) for name, value in signer.secrets().items()})
    return secrets


def _add_files(
    zf: zipfile.ZipFile,
    run_dir: Path,
    top: str,
    files: Sequence[tuple[str, Path]],
    secrets: Mapping[str, Forms],
) -> tuple[FileEntry, ...]:
    """Each file into the archive, under ``top``; ``ConfigError`` naming every leak when any file
    holds a secret, encoded or not (see :mod:`mhhs_sit.evidence.secretscan`)."""
    entries: list[FileEntry] = []
    leaks: list[Leak] = []
    for rel, path in files:
        data = path.read_bytes()
        leaks += [Leak(rel, found.variable, found.encoding) for found in scan(data, secrets)] if secrets else []
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
    lines += [_leak_line(leak) for leak in sorted(set(leaks), key=str)]
    lines.append(
        "Remove them from these files (or, if a variable is not secret, unset it for this command) and pack again."
    )
    return "\n".join(lines)


def _leak_line(leak: Leak) -> str:
    if not leak.variable:
        return f"  {leak.path} cannot be searched for secrets: {leak.encoding}"
    how = f" (encoded: {leak.encoding})" if leak.encoding else ""
    return f"  {leak.path} contains the value of {leak.variable}{how}"
