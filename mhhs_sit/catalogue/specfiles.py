"""The files of a multi-file ("unresolved") OpenAPI spec, with their ``$ref``s mapped offline.

Elexon publishes the DIP spec as YAML modules whose references are raw-GitHub URLs such as
``https://raw.githubusercontent.com/elexon-data/dip-api-documentation/main/DataTypes-unresolved.yaml#/components/schemas/DT-003-DateTime``.
Each such URL is mapped to the file with that path (or, failing that, that name) in the
directory the user gave. Nothing is ever fetched: a reference that maps to no local file is a
definition problem reported at the file and line of the ``$ref``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, load_yaml
from mhhs_sit.errors import Problem

RAW_GITHUB = re.compile(r"^https?://raw\.githubusercontent\.com/[^/]+/[^/]+/[^/]+/(?P<path>[^#?]+)$")


class RefError(LookupError):
    """A ``$ref`` that cannot be followed; the message says why."""


class MissingFile(RefError):
    """A ``$ref`` into a file that is not among the files given."""

    def __init__(self, message: str, relative: str):
        super().__init__(message)
        self.relative = relative


@dataclass
class SpecFiles:
    """Loads spec files on first use and resolves references between them."""

    directory: Path
    problems: list[Problem] = field(default_factory=list)
    _docs: dict[str, YamlDoc | None] = field(default_factory=dict)

    def doc(self, name: str) -> YamlDoc | None:
        """The parsed file ``name`` (relative to the directory); None if it cannot be read."""
        if name not in self._docs:
            path = self.directory / name
            doc = load_yaml(path, display=str(path))
            if doc.data is None:  # duplicate keys are the spec's own business; unreadable YAML is not
                self.problems.extend(doc.problems or [Problem(str(path), 0, 0, "", "the file is empty")])
            self._docs[name] = None if doc.data is None else doc
        return self._docs[name]

    @property
    def loaded(self) -> dict[str, YamlDoc]:
        return {name: doc for name, doc in self._docs.items() if doc is not None}

    def resolve(self, ref: object, base: str) -> tuple[str, tuple[str, ...]]:
        """The file and JSON-pointer parts that ``ref`` (found in file ``base``) refers to."""
        if not isinstance(ref, str):
            raise RefError(f"$ref must be a string, not {type(ref).__name__}")
        target, _, fragment = ref.partition("#")
        if not target:
            name = base
        else:
            match = RAW_GITHUB.match(target)
            if match:
                name = self._local(match.group("path"), ref)
            elif re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                raise RefError(
                    f"$ref {ref!r} points outside the spec; only raw.githubusercontent.com URLs of "
                    "the spec's own files are mapped to local files (nothing is fetched)"
                )
            else:
                name = str(PurePosixPath(base).parent / target).removeprefix("./")
                name = self._local(name, ref)
        parts = tuple(unquote(p).replace("~1", "/").replace("~0", "~") for p in fragment.split("/")[1:])
        return name, parts

    def _local(self, relative: str, ref: str) -> str:
        if (self.directory / relative).is_file():
            return relative
        basename = PurePosixPath(relative).name
        matches = sorted(p for p in self.directory.rglob(basename) if p.is_file())
        if matches:
            return matches[0].relative_to(self.directory).as_posix()
        raise MissingFile(
            f"$ref {ref!r} maps to {relative}, which is not in {self.directory} "
            "(references are resolved offline, against the files given)",
            relative,
        )

    def node(self, name: str, parts: tuple[PathPart, ...]) -> object:
        """The value at ``parts`` in file ``name``; a RefError naming what is missing."""
        doc = self.doc(name)
        if doc is None:
            raise RefError(f"{name} cannot be read")
        value: object = doc.data
        for i, part in enumerate(parts):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and str(part).isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                where = "/".join(str(p) for p in parts[: i + 1])
                raise RefError(f"{name} has nothing at #/{where}")
        return value
