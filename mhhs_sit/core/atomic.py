"""Files a reader can trust: written under a temporary name, flushed to disk, then renamed.

A run killed while it writes a report leaves the previous file (or none) under the final name,
never a 0-byte or half-written one; the temporary name starts with a dot and ends in ``.tmp``
so nothing takes it for the artefact.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def temporary_name(path: Path) -> Path:
    """Beside ``path``, on the same file system (a rename is atomic only there), keeping its suffix."""
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to; renamed over ``path`` once flushed, removed on error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        settle(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def settle(tmp: Path, path: Path) -> None:
    """``tmp``, written in full, flushed and renamed over ``path`` (for a file another writer made)."""
    _flush(tmp)
    tmp.replace(path)
    _flush_directory(path.parent)


def write_text(path: Path, text: str) -> Path:
    """``path.write_text(text)`` (UTF-8), atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _flush(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flush_directory(directory: Path) -> None:
    """The rename itself reaches the disk (where the platform lets a directory be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
