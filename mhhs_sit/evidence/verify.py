"""Verifying an evidence pack: a zip, or the directory it was unpacked into.

A pack comes from someone else, so nothing in it is trusted before it is checked: a symbolic
link is never followed (it is reported, with where it points), a FIFO, device or socket is never
opened (reading one would hang or never end), and a path that would land outside the pack when
unpacked (``..``, an absolute path, a link in the archive) is refused. Each refusal is a finding
that makes the verdict FAIL, never a traceback. The signature is checked only against a key the
reviewer names (:func:`mhhs_sit.evidence.signing.check`).
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mhhs_sit.errors import ConfigError
from mhhs_sit.evidence.manifest import MANIFEST_NAME, FileDiff, Manifest, compare, digest
from mhhs_sit.evidence.signing import SignatureCheck, check

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)


@dataclass(frozen=True)
class Refused:
    """Something in the pack that verify would not read: its path and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Contents:
    """What a pack holds: its manifest's bytes, every other file's (sha256, size), and what was refused."""

    manifest: bytes
    found: Mapping[str, tuple[str, int]]
    duplicates: tuple[str, ...] = ()  # names stored more than once in a zip
    refused: tuple[Refused, ...] = ()


def read_pack(path: Path) -> Contents:
    """A pack as a zip file or as the directory it was unpacked into; ``ConfigError`` if it is neither."""
    path = Path(path)
    if path.is_dir():
        return _read_dir(path)
    if not path.exists() and not path.is_symlink():
        raise ConfigError(f"{path} does not exist")
    if not path.is_file():
        raise ConfigError(f"{path} is {_kind(path)}, not a zip archive or a directory: not an evidence pack")
    if not zipfile.is_zipfile(path):
        raise ConfigError(f"{path} is not a zip archive (nor a directory): not an evidence pack")
    try:
        with zipfile.ZipFile(path) as zf:
            return _read_zip(path, zf)
    except zipfile.BadZipFile as exc:
        raise ConfigError(f"{path} is not a readable zip archive: {exc}") from None


def _kind(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except OSError:
        return "a broken symbolic link" if path.is_symlink() else "unreadable"
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def outside(name: str) -> bool:
    """Whether a pack's path would land outside the folder it is unpacked into (or is not a plain path)."""
    if not name or "\\" in name or "\0" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    parts = PurePosixPath(name).parts
    return any(p in ("..", ".") for p in parts) or "/".join(parts) != name


def _read_zip(path: Path, zf: zipfile.ZipFile) -> Contents:
    infos = [i for i in zf.infolist() if not i.is_dir()]
    names = [i.filename for i in infos]
    if MANIFEST_NAME not in names:
        raise ConfigError(f"{path} has no {MANIFEST_NAME} at its root: not an evidence pack")
    if names.count(MANIFEST_NAME) > 1:
        raise ConfigError(f"{path} holds {MANIFEST_NAME} more than once: which one is meant cannot be known")
    refused = [Refused(i.filename, why) for i in infos if (why := _zip_refusal(i)) is not None]
    if any(r.path == MANIFEST_NAME for r in refused):
        raise ConfigError(f"{MANIFEST_NAME} in {path} is stored as a symbolic link: not an evidence pack")
    try:
        manifest = zf.read(MANIFEST_NAME)
    except (zipfile.BadZipFile, zlib.error) as exc:
        raise ConfigError(f"{MANIFEST_NAME} in {path} cannot be read: {exc}") from None
    duplicates = tuple(sorted({n for n in names if names.count(n) > 1}))
    readable = [i for i in infos if _zip_refusal(i) is None]
    return Contents(manifest, _zip_digests(zf, readable), duplicates, tuple(refused))


def _zip_refusal(info: zipfile.ZipInfo) -> str | None:
    if outside(info.filename):
        return "a path outside the pack (absolute, or with '..'): unpacking it would write elsewhere"
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return "stored as a symbolic link or special file: unpacking it would point elsewhere"
    return None


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


def _read_dir(root: Path) -> Contents:
    manifest = _read_regular(root, root / MANIFEST_NAME)
    if isinstance(manifest, Refused):
        raise ConfigError(f"{root}: {MANIFEST_NAME} is {manifest.reason}: not an unpacked evidence pack")
    found: dict[str, tuple[str, int]] = {}
    refused: list[Refused] = []
    for dirpath, dirnames, filenames in os.walk(root):  # never descends into a linked directory
        here = Path(dirpath)
        refused += [_link(root, here / d) for d in sorted(dirnames) if (here / d).is_symlink()]
        for name in sorted(filenames):
            file = here / name
            rel = file.relative_to(root).as_posix()
            if rel == MANIFEST_NAME:
                continue
            got = _digest_regular(root, file)
            if isinstance(got, Refused):
                refused.append(got)
            else:
                found[rel] = got
    return Contents(manifest, found, (), tuple(refused))


def _link(root: Path, path: Path) -> Refused:
    rel = path.relative_to(root).as_posix()
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    try:
        resolved = (path.parent / target).resolve()
    except (OSError, RuntimeError):  # a loop of links
        return Refused(rel, f"a symbolic link to {target} (a loop of links), not followed")
    if not resolved.exists():
        where = "broken: its target does not exist"
    elif not resolved.is_relative_to(root.resolve()):
        where = "pointing outside the pack"
    else:
        where = "inside the pack"
    return Refused(rel, f"a symbolic link to {target} ({where}), not followed")


def _opened(root: Path, path: Path) -> int | Refused:
    """A descriptor of ``path`` if it is a regular file (checked before and after opening), else why not."""
    rel = path.relative_to(root).as_posix()
    try:
        before = os.lstat(path)
    except OSError as exc:
        return Refused(rel, f"cannot be read ({exc.strerror})")
    if stat.S_ISLNK(before.st_mode):
        return _link(root, path)
    if not stat.S_ISREG(before.st_mode):
        return Refused(rel, f"{_KINDS.get(stat.S_IFMT(before.st_mode), 'not a regular file')}, not opened")
    try:
        fd = os.open(path, _OPEN_FLAGS)  # O_NOFOLLOW and O_NONBLOCK: a swapped-in link or FIFO cannot hang us
    except OSError as exc:
        return Refused(rel, f"cannot be opened ({exc.strerror})")
    after = os.fstat(fd)
    if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        return Refused(rel, "changed while it was being read (replaced by something else), not read")
    return fd


def _digest_regular(root: Path, path: Path) -> tuple[str, int] | Refused:
    fd = _opened(root, path)
    if isinstance(fd, Refused):
        return fd
    with os.fdopen(fd, "rb") as f:
        return digest(f)


def _read_regular(root: Path, path: Path) -> bytes | Refused:
    fd = _opened(root, path)
    if isinstance(fd, Refused):
        return fd
    with os.fdopen(fd, "rb") as f:
        return f.read()


@dataclass(frozen=True)
class Verification:
    source: Path
    manifest: Manifest
    files: FileDiff
    signature: SignatureCheck
    duplicates: tuple[str, ...] = ()
    refused: tuple[Refused, ...] = ()

    @property
    def passed(self) -> bool:
        return self.files.clean and not self.duplicates and not self.refused and self.signature.passed

    def render(self) -> str:
        run = self.manifest.run
        lines = [
            f"evidence pack {self.source}: run {run.get('run_id', '?')} in {run.get('environment', '?')}, "
            f"{len(self.manifest.files)} files listed, created {self.manifest.created}"
        ]
        lines += [f"REFUSED {r.path} ({r.reason})" for r in sorted(self.refused, key=lambda r: r.path)]
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


def verify(
    path: Path, *, hmac_key: bytes | None = None, public_key: bytes | None = None, allow_unsigned: bool = False
) -> Verification:
    """Check every file against the manifest and the manifest against its signature by the named key."""
    contents = read_pack(path)
    manifest, signed = Manifest.from_json(contents.manifest)
    listed_outside = tuple(
        Refused(e.path, "listed in the manifest with a path outside the pack")
        for e in manifest.files
        if outside(e.path)
    )
    refused_paths = {r.path for r in contents.refused}
    files = compare(manifest.files, contents.found)
    files = FileDiff(  # a refused file is reported once, as refused, not also as missing
        files.altered, files.added, tuple(p for p in files.missing if p not in refused_paths)
    )
    return Verification(
        source=Path(path),
        manifest=manifest,
        files=files,
        signature=check(
            manifest.signature, signed, hmac_key=hmac_key, public_key=public_key, allow_unsigned=allow_unsigned
        ),
        duplicates=contents.duplicates,
        refused=contents.refused + listed_outside,
    )
