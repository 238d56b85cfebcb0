"""Version names: canonical DIP spec versions plus interim-release (IR) aliases.

Testers write whichever name their test plan uses (``IR8.2``, ``ir8.2``, ``v1.8.2``, ``1.8``);
everything inside the framework uses the canonical name so that caches and reports agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mhhs_sit.catalogue.model import Version
from mhhs_sit.errors import ConfigError


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

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.versions)

    def resolve(self, name: str) -> str:
        """The canonical name for ``name``; a ConfigError listing the known versions otherwise."""
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"a catalogue version is needed; known versions: {self.known()}")
        wanted = _key(name)
        for version in self.versions:
            if wanted in (_key(version.name), *(_key(a) for a in version.aliases)):
                return version.name
        raise ConfigError(f"unknown catalogue version {name!r}; known versions: {self.known()}")

    def get(self, name: str) -> Version:
        canonical = self.resolve(name)
        return next(v for v in self.versions if v.name == canonical)

    def index(self, name: str) -> int:
        return self.names.index(self.resolve(name))

    def known(self) -> str:
        return ", ".join(v.label for v in self.versions)
