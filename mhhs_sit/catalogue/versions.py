"""Version names: canonical DIP spec versions plus interim-release (IR) aliases.

Testers write whichever name their test plan uses (``IR8.2``, ``ir8.2``, ``v1.8.2``, ``1.8``);
everything inside the framework uses the canonical name so that caches and reports agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from mhhs_sit.catalogue.data import DATA_DIR
from mhhs_sit.catalogue.model import Version
from mhhs_sit.errors import ConfigError

VERSIONS_FILE = DATA_DIR / "versions.yaml"


def _key(name: str) -> str:
    """Spelling-insensitive lookup key: case, spaces, a leading 'v' and trailing '.0's ignored."""
    key = re.sub(r"\s+", "", name).lower()
    if re.fullmatch(r"v\d.*", key):
        key = key[1:]
    patch_zero = re.fullmatch(r"(\d+\.\d+)\.0", key)
    return patch_zero.group(1) if patch_zero else key


@dataclass(frozen=True)
class VersionTable:
    """The known versions, oldest first, and the alias table that maps names onto them."""

    versions: tuple[Version, ...]
    default: str
    _keys: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for version in self.versions:
            for label in (version.name, *version.aliases):
                self._keys[_key(label)] = version.name
                self._keys.setdefault(label, version.name)  # exact spellings skip normalising

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.versions)

    def resolve(self, name: str) -> str:
        """The canonical name for ``name``; a ConfigError listing the known versions otherwise."""
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"a catalogue version is needed; known versions: {self.known()}")
        found = self._keys.get(name) or self._keys.get(_key(name))
        if found is not None:
            return found
        raise ConfigError(f"unknown catalogue version {name!r}; known versions: {self.known()}")

    def get(self, name: str) -> Version:
        canonical = self.resolve(name)
        return next(v for v in self.versions if v.name == canonical)

    def index(self, name: str) -> int:
        return self.names.index(self.resolve(name))

    def known(self) -> str:
        return ", ".join(v.label for v in self.versions)


@cache
def shipped_versions() -> VersionTable:
    """The shipped catalogue's versions, read alone: resolving ``--ir`` needs no interface, and a
    run of ``http`` steps never loads the rest (about 0.1 s). The catalogue's loader checks the same
    file field by field, and a test holds the two tables equal."""
    from mhhs_sit.catalogue.parsecache import load_cached

    data = load_cached(VERSIONS_FILE).data
    top = data if isinstance(data, dict) else {}
    entries = [e for e in top.get("versions") or [] if isinstance(e, dict)]
    versions = tuple(
        Version(
            str(e.get("name", "")),
            tuple(str(a) for a in e.get("aliases") or ()),
            str(e.get("released", "")),
            "published" if e.get("source") == "published" else "modelled",
            " ".join(str(e.get("summary", "")).split()),
        )
        for e in entries
    )
    return VersionTable(versions, str(top.get("default", versions[-1].name if versions else "")))
