"""Participants' own certificates for the simulator (``--participant-cert DIPID=cert.pem``).

A system under test that qualifies signs with the certificate its organisation was issued, not
one the simulator made: the simulator then trusts that certificate, and only it, for the DIP ID's
request signatures and its mutual-TLS client certificate, as the DIP trusts an onboarded one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from mhhs_sit.errors import ConfigError

if TYPE_CHECKING:
    from mhhs_stubs.config import SimulatorConfig

OPTION = "--participant-cert"
LIST_OPTION = "--participant-certs"


def parse_pair(text: str, where: str = OPTION, base: Path | None = None) -> tuple[str, Path]:
    """``DIPID=cert.pem`` (or ``DIPID cert.pem`` in a list file) as (DIP ID, path)."""
    dip_id, sep, path = text.partition("=")
    if not sep:
        dip_id, _, path = text.strip().partition(" ")
    dip_id, path = dip_id.strip(), path.strip()
    if not dip_id or not path:
        raise ConfigError(f"{where}: {text.strip()!r} is not DIPID=cert.pem (e.g. 2500000101=ldso-signing.pem)")
    given = Path(path).expanduser()
    return dip_id, given if given.is_absolute() or base is None else base / given


def read_list(path: Path) -> list[tuple[str, Path]]:
    """A file of ``DIPID=cert.pem`` lines (``#`` comments; paths relative to the file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{LIST_OPTION}: cannot read {path}: {exc.strerror or exc}") from None
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            pairs.append(parse_pair(line, f"{path}:{number}", path.parent))
    return pairs


def given_pairs(single: Iterable[str] | None, lists: Iterable[str] | None) -> list[tuple[str, Path]]:
    """Every certificate named on the command line and in list files, in order."""
    pairs = [parse_pair(text) for text in single or []]
    for listed in lists or []:
        pairs += read_list(Path(listed))
    return pairs


def with_brought_certs(config: SimulatorConfig, pairs: list[tuple[str, Path]]) -> SimulatorConfig:
    """The config trusting each participant's brought certificates; each must be a participant
    played from outside (a simulated one signs with the simulator's key) and a readable RSA
    certificate, checked now so a wrong file is said before the simulator starts."""
    from mhhs_stubs.tls import load_certificate

    if not pairs:
        return config
    brought: dict[str, list[str]] = {}
    for dip_id, path in pairs:
        p = config.participants.get(dip_id)
        if p is None:
            known = ", ".join(sorted(q.dip_id for q in config.participants.values() if not q.simulated))
            raise ConfigError(f"{OPTION}: {dip_id} is no participant of the chosen cohorts; under test: {known}")
        if p.simulated:
            raise ConfigError(
                f"{OPTION}: {dip_id} ({p.role}) is simulated; bring a certificate for a role under test "
                f"(stubs up --except {p.role})"
            )
        load_certificate(dip_id, path)
        brought.setdefault(dip_id, []).append(str(path.resolve()))
    participants = {
        d: dataclasses.replace(p, trusted_cert_files=tuple(brought[d])) if d in brought else p
        for d, p in config.participants.items()
    }
    return dataclasses.replace(config, participants=participants)
