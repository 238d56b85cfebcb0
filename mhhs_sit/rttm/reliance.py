"""Placing reliance: requirements a qualification RTTM counts as evidenced by earlier evidence.

A participant's system may have proved a requirement already, in pre-integration testing (PIT) or
an earlier qualification session (QT). A reliance file names, per requirement, that evidence — an
evidence pack (``mhhs-sit evidence pack``) or a run folder's ``results.json`` — and its SHA-256,
so the matrix can say exactly which bytes it relies on. Every entry is checked when the file is
loaded (the requirement exists and applies to the role under test, the file is there, its hash is
the one written, a pack verifies), and any entry that fails is reported with its file and line, so
a session never starts on reliance it cannot honour::

    reliance:
      - requirement: QUAL-LDSO-05
        evidence: packs/pit.evidence.zip      # relative to this file
        sha256: 3f1c...                       # sha256sum of the file
        stage: PIT                            # PIT or QT
        note: IF-019 answered in PIT cycle 2  # optional
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, load_yaml
from mhhs_sit.definitions.requirements import Requirement
from mhhs_sit.errors import DefinitionError, MhhsSitError, Problem

QUALIFICATION_STAGES = ("PIT", "QT")  # pre-integration testing, qualification testing
DEFAULT_STAGE = "QT"
_FIELDS = ("requirement", "evidence", "sha256", "stage", "note")
_REQUIRED = ("requirement", "evidence", "sha256", "stage")
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Reliance:
    """One requirement evidenced by an earlier run or evidence pack, checked when it was loaded."""

    requirement: str
    evidence: str  # as the reliance file names it
    sha256: str
    stage: str  # one of QUALIFICATION_STAGES
    kind: str  # "evidence pack" or "run results"
    run_id: str = ""  # the run the evidence is of, as it says
    note: str = ""
    location: str = ""  # file:line of the entry

    @property
    def shown(self) -> str:
        """One line for a cell: what is relied on, of which run and stage, pinned by its hash."""
        run = f", run {self.run_id}" if self.run_id else ""
        note = f"; {self.note}" if self.note else ""
        return f"{self.kind} {self.evidence}{run} ({self.stage}), sha256 {self.sha256}{note}"

    def to_json(self) -> dict[str, str]:
        return {
            "evidence": self.evidence,
            "sha256": self.sha256,
            "stage": self.stage,
            "kind": self.kind,
            "run_id": self.run_id,
            "note": self.note,
            "location": self.location,
        }


def check_stage(value: str, option: str = "--qualification-stage") -> str:
    """The qualification stage a session's own cases carry, spelled as the programme does."""
    stage = value.strip().upper()
    if stage not in QUALIFICATION_STAGES:
        raise MhhsSitError(f"{option} {value}: use one of {', '.join(QUALIFICATION_STAGES)}")
    return stage


def load_reliance(
    path: Path,
    requirements: Mapping[str, Requirement],
    roles: Sequence[str],
    *,
    public_key: bytes | None = None,
    display: str | None = None,
) -> tuple[Reliance, ...]:
    """Every entry of the reliance file at ``path``, checked; ``DefinitionError`` naming each bad
    entry's file, line and field otherwise. ``public_key`` (Ed25519) makes a pack's signature by
    that key required; without it a pack must still match its own manifest."""
    doc = load_yaml(path, display=display)
    if doc.problems:
        raise DefinitionError(doc.problems)
    data = doc.data.get("reliance") if isinstance(doc.data, dict) else doc.data
    prefix: list[PathPart] = ["reliance"] if isinstance(doc.data, dict) else []
    if not isinstance(data, list) or (isinstance(doc.data, dict) and set(doc.data) != {"reliance"}):
        raise DefinitionError([doc.problem([], "a reliance file is a list of entries under 'reliance:'")])
    checker = _Checker(doc, path.parent, requirements, frozenset(roles), public_key)
    found = [checker.entry(raw, [*prefix, i]) for i, raw in enumerate(data)]
    if checker.problems:
        raise DefinitionError(checker.problems)
    return tuple(r for r in found if r is not None)


class _Checker:
    """Checks entries one by one, collecting every problem rather than stopping at the first."""

    def __init__(
        self,
        doc: YamlDoc,
        base: Path,
        requirements: Mapping[str, Requirement],
        roles: frozenset[str],
        public_key: bytes | None,
    ) -> None:
        self.doc, self.base, self.requirements, self.roles = doc, base, requirements, roles
        self.public_key = public_key
        self.problems: list[Problem] = []
        self.seen: dict[str, int] = {}  # requirement -> line of its first entry

    def fail(self, path: Sequence[PathPart], message: str) -> None:
        self.problems.append(self.doc.problem(path, message))

    def entry(self, raw: object, at: list[PathPart]) -> Reliance | None:
        if not isinstance(raw, dict):
            self.fail(at, "an entry is a mapping: requirement, evidence, sha256, stage (and note)")
            return None
        before = len(self.problems)
        for key in raw:
            if key not in _FIELDS:
                self.fail([*at, str(key)], f"unknown field {key!r}: use {', '.join(_FIELDS)}")
        for key in _REQUIRED:
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                where = [*at, key] if key in raw else at
                self.fail(where, f"{key}: required, a text (quote a value YAML would read as a number)")
        if len(self.problems) > before:
            return None
        requirement = self._requirement(raw["requirement"].strip(), [*at, "requirement"])
        stage = self._stage(raw["stage"], [*at, "stage"])
        found = self._evidence(raw["evidence"].strip(), raw["sha256"].strip().lower(), at)
        if requirement is None or stage is None or found is None:
            return None
        line, _ = self.doc.position(at)
        return Reliance(
            requirement=requirement,
            evidence=raw["evidence"].strip(),
            sha256=raw["sha256"].strip().lower(),
            stage=stage,
            kind=found[0],
            run_id=found[1],
            note=str(raw.get("note") or "").strip(),
            location=f"{self.doc.file}:{line}",
        )

    def _requirement(self, rid: str, at: list[PathPart]) -> str | None:
        req = self.requirements.get(rid)
        if req is None:
            self.fail(at, f"{rid} is not in the requirements catalogue: check the id (mhhs-sit requirements)")
            return None
        if self.roles and not req.applies_to(self.roles):
            self.fail(
                at,
                f"{rid} is a requirement of {', '.join(req.roles)}, not of {', '.join(sorted(self.roles))}: "
                "only the role under test's requirements can be relied on",
            )
            return None
        line, _ = self.doc.position(at)
        if rid in self.seen:
            self.fail(at, f"{rid} is relied on twice (first on line {self.seen[rid]}): keep one entry")
            return None
        self.seen[rid] = line
        return rid

    def _stage(self, value: str, at: list[PathPart]) -> str | None:
        stage = value.strip().upper()
        if stage not in QUALIFICATION_STAGES:
            self.fail(at, f"stage {value!r}: use {' or '.join(QUALIFICATION_STAGES)}")
            return None
        return stage

    def _evidence(self, name: str, sha256: str, at: list[PathPart]) -> tuple[str, str] | None:
        """(kind, run id) of the evidence file, once it is there, has the hash written and, for a
        pack, verifies."""
        path = Path(name) if Path(name).is_absolute() else self.base / name
        if not path.is_file():
            hint = " (a run folder: name its results.json)" if path.is_dir() else ""
            self.fail([*at, "evidence"], f"no file {path}{hint}: the path is relative to the reliance file")
            return None
        if not _HEX.match(sha256):
            self.fail([*at, "sha256"], "sha256: 64 hexadecimal digits, as sha256sum prints them")
            return None
        actual = _sha256(path)
        if actual != sha256:
            self.fail([*at, "sha256"], f"{name} has sha256 {actual}, not {sha256}: the evidence changed, or name it")
            return None
        if path.name == "results.json" or path.suffix.lower() == ".json":
            return self._results(path, [*at, "evidence"])
        return self._pack(path, [*at, "evidence"])

    def _results(self, path: Path, at: list[PathPart]) -> tuple[str, str] | None:
        from mhhs_sit.evidence.outcomes import load_run

        try:
            info, _ = load_run(path)
        except MhhsSitError as exc:
            self.fail(at, f"{path.name} is not a run's results.json: {str(exc).splitlines()[0]}")
            return None
        return "run results", info.run_id

    def _pack(self, path: Path, at: list[PathPart]) -> tuple[str, str] | None:
        from mhhs_sit.evidence.verify import verify

        try:
            result = verify(path, public_key=self.public_key, allow_unsigned=self.public_key is None)
        except MhhsSitError as exc:
            self.fail(at, f"{path.name} is not an evidence pack: {exc}")
            return None
        if not result.passed:
            findings = [line for line in result.render().splitlines()[1:] if line != "FAIL"]
            self.fail(at, f"{path.name} does not verify, so it cannot be relied on: {'; '.join(findings)}")
            return None
        return "evidence pack", str(result.manifest.run.get("run_id") or "")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
