"""What a qualification session needs: the system under test, its cohort, and from the role's
qualification scenarios the roles the framework plays and the webhooks the system must register."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from mhhs_sit.core.yamlsrc import load_yaml
from mhhs_sit.definitions.model import Cohort
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.definitions.schemas import ROLES
from mhhs_sit.errors import ConfigError

# The folder under qualification/ that holds a role's scenarios, where it is not the role's own name.
FOLDERS = {"SDS": "supplier_agent"}


def scenario_folder(role: str) -> str:
    """``ldso`` for LDSO, ``supplier_agent`` for the smart data service."""
    return FOLDERS.get(role, role.lower())


@dataclass(frozen=True)
class SystemUnderTest:
    role: str
    dip_id: str
    mpid: str
    name: str


@dataclass(frozen=True)
class Needs:
    """What the scenarios ask of a session: the roles they send as (played by the framework) and
    the interfaces they send to the role under test (the webhooks its system must register)."""

    drives: frozenset[str]
    webhooks: tuple[str, ...]


def find_system(
    cohorts: Mapping[str, Cohort], role: str, participant: str, wanted: list[str] | None
) -> tuple[SystemUnderTest, Cohort]:
    """The participant of ``role`` with this MPID or DIP ID, and its cohort (one of ``wanted``)."""
    if role not in ROLES:
        raise ConfigError(f"--role: unknown role {role!r}{suggest(role, ROLES)}; role codes are {', '.join(ROLES)}")
    chosen = [cohorts[c] for c in wanted or [] if c in cohorts] if wanted else list(cohorts.values())
    unknown = [c for c in wanted or [] if c not in cohorts]
    if unknown:
        raise ConfigError(f"--cohort: unknown cohort {unknown[0]!r}{suggest(unknown[0], cohorts)}")
    given = participant.strip()
    for cohort in chosen:
        p = cohort.participants.get(role)
        if p is not None and given in (p.dip_id, p.mpid, p.mpid.upper()):
            return SystemUnderTest(role, p.dip_id, p.mpid, p.name), cohort
    known = [f"{p.mpid}/{p.dip_id} ({c.id})" for c in chosen if (p := c.participants.get(role)) is not None]
    raise ConfigError(
        f"--participant: no {role} with MPID or DIP ID {given!r} in cohort(s) {', '.join(c.id for c in chosen)}; "
        f"{role}s there: {', '.join(known) or 'none'}"
    )


def scenario_needs(paths: list[Path], role: str) -> Needs:
    """The driving roles and the webhooks the scenario files under ``paths`` need (the YAML as
    written: anchors resolved, templates not rendered; validate checks the files themselves)."""
    drives: set[str] = set()
    webhooks: list[str] = []
    for send in _sends(paths):
        sender, interface = send.get("as"), send.get("interface")
        if isinstance(sender, str) and sender != role:
            drives.add(sender)
            if isinstance(interface, str) and interface.upper() not in webhooks:
                webhooks.append(interface.upper())
    return Needs(frozenset(drives), tuple(sorted(webhooks)))


def _sends(paths: list[Path]) -> Iterator[dict[str, object]]:
    for path in paths:
        files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
        for f in files:
            doc = load_yaml(f)  # bounded: size, depth and alias expansion, as every user's file is read
            if doc.problems:
                raise ConfigError(f"{doc.problems[0]}; mhhs-sit validate says more")
            yield from _send_steps(doc.data)


def _send_steps(node: object) -> Iterator[dict[str, object]]:
    if isinstance(node, dict):
        send = node.get("send")
        if isinstance(send, dict):
            yield send
        for value in node.values():
            yield from _send_steps(value)
    elif isinstance(node, list):
        for item in node:
            yield from _send_steps(item)
