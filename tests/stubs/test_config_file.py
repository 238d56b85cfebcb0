"""The simulator config file: every dataclass field round-trips, added ones included; 0600; clear errors."""

from __future__ import annotations

import dataclasses
import enum
import json
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.errors import ConfigError
from mhhs_stubs import SimParticipant, config_from_cohorts
from mhhs_stubs.config_file import dumps, from_jsonable, loads, read_config, to_jsonable, write_config
from tests.helpers import FIXTURES


class Mode(enum.Enum):
    PUSH = "push"
    PULL = "pull"


@dataclass(frozen=True)
class Fault:
    kind: str
    count: int | None = None
    probability: float = 0.0
    interfaces: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Tls:
    ca_pem: bytes
    key_file: Path | None = None


@dataclass(frozen=True)
class LaterParticipant(SimParticipant):
    """What another engineer might add: key material, a delivery mode, faults."""

    client_cert_pem: bytes | None = None
    mode: Mode = Mode.PUSH
    faults: tuple[Fault, ...] = ()
    retry_after: Mapping[int, float] = field(default_factory=dict)
    tls: Tls | None = None


def test_fields_added_later_round_trip_with_no_change_to_the_serialiser():
    p = LaterParticipant(
        "2300000101", "SUP", "SUPA", "k" * 32, False, "C1", "Alpha",
        client_cert_pem=b"-----BEGIN CERTIFICATE-----\n\x00\xff",
        mode=Mode.PULL,
        faults=(Fault("5xx", count=2, interfaces=frozenset({"IF-031", "IF-033"})), Fault("latency", probability=0.5)),
        retry_after={429: 1.5},
        tls=Tls(b"ca", Path("/tmp/key.pem")),
    )  # fmt: skip
    data = json.loads(json.dumps(to_jsonable(p)))  # through real JSON text
    assert data["client_cert_pem"] == {"$bytes": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCgD/"}
    assert data["faults"][0]["interfaces"] == ["IF-031", "IF-033"]
    assert from_jsonable(LaterParticipant, data) == p


def test_the_real_config_round_trips_through_a_0600_file(tmp_path):
    cohorts, _ = load_cohorts(FIXTURES / "cohorts")
    config = config_from_cohorts(cohorts.values(), version="1.8.2", responder_delay=0.25)
    path = write_config(config, tmp_path / "run" / "sim.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_config(path) == config
    # a file that was there already, world-readable, is narrowed too
    path.chmod(0o644)
    write_config(config, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_problems_name_the_field(tmp_path):
    cohorts, _ = load_cohorts(FIXTURES / "cohorts")
    doc = json.loads(dumps(config_from_cohorts(cohorts.values())))
    doc["config"]["delivery"]["attempts"] = "four"
    with pytest.raises(ConfigError, match=r"^sim.json.delivery.attempts: expected int, found str$"):
        loads(json.dumps(doc), "sim.json")
    doc["config"]["delivery"] = {"attempts": 4, "jitter": 1}
    with pytest.raises(ConfigError, match=r"sim.json.delivery: unknown field 'jitter' for DeliveryPolicy"):
        loads(json.dumps(doc), "sim.json")
    with pytest.raises(ConfigError, match=r"not a simulator config file"):
        loads('{"participants": {}}', "sim.json")
    with pytest.raises(ConfigError, match=r"cannot read the simulator config: No such file"):
        read_config(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match=r"config.participants\['x'\].hook: a function cannot be written"):
        to_jsonable(dataclasses.replace(config_from_cohorts([]), participants={"x": Hooked(lambda: None)}))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Hooked:
    hook: object
