"""What the simulator needs to know: the participants it serves and how it behaves."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from mhhs_sit.definitions.model import Cohort
from mhhs_stubs.tls import Credentials

Signing = Literal["required", "optional", "off"]
SIGNING_MODES = ("required", "optional", "off")
CONTROL_HEADER = "X-Sim-Control-Key"  # the control client's credential on every /_sim path


def new_control_key() -> str:
    return "ctl-" + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class SimParticipant:
    dip_id: str
    role: str
    mpid: str
    api_key: str
    simulated: bool  # answered by a participant simulator inside the simulator
    cohort: str
    name: str = ""
    # The participant's own signing/mTLS key and certificate (PEM files); None: generated per run.
    key_file: str | None = None
    cert_file: str | None = None
    # Certificates the participant brings without its key (PEM files; stubs up --participant-cert):
    # trusted for this DIP ID's signatures and TLS client certificate, as the DIP trusts an onboarded
    # participant's certificate. The simulator then never makes a key of its own for the participant.
    trusted_cert_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeliveryPolicy:
    """Push retries; the local environments shorten these so a dead-letter test takes seconds."""

    attempts: int = 4
    backoff: float = 0.05  # seconds before the second attempt
    factor: float = 2.0  # backoff multiplier per further attempt
    max_backoff: float = 5.0
    timeout: float = 5.0  # per attempt


@dataclass(frozen=True)
class SimulatorConfig:
    participants: Mapping[str, SimParticipant]  # by DIP ID
    environment_tag: str = "DEV"
    version: str | None = None  # interface catalogue version to validate against
    dip_spec: str | None = None  # or the official DIP spec at this path
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    responder_delay: float = 0.0  # seconds a simulated participant takes to answer
    # Limits checked before work (docs/simulator.md#security), on the control API as on the DIP paths.
    max_body_bytes: int = 5 * 1024 * 1024  # 413 before a byte more is read, authentication or not
    max_json_depth: int = 64  # arrays/objects nested deeper: 400 MSG1001 (a DIP message needs ~6)
    max_batch_items: int = 1_000  # messages (or status items, faults, dry-run messages) per request: 413
    body_timeout: float = 30.0  # seconds a request's body may take to arrive: 408 (a slow client)
    # seconds from a connection's start, or a request's first byte, until its headers are complete;
    # then the connection is dropped (one that sends nothing, or its headers a byte at a time)
    header_timeout: float = 20.0
    journal_limit: int = 100_000
    # The journal's bytes as well: each entry counts the JSON received for it (Python holds a
    # few times that); the oldest entries are evicted first and counted (/_sim/health "evicted").
    journal_max_bytes: int = 256 * 1024 * 1024
    allow_remote_webhooks: bool = False  # local environments keep every push on loopback
    # Beyond loopback, only these "HOST" (any port) or "HOST:PORT" ("[v6]:PORT") take webhooks:
    # a system under test on another machine (stubs up --allow-webhook-host).
    webhook_hosts: tuple[str, ...] = ()
    check_responses: bool = False  # hold every response to /openapi.json (the framework's tests do)
    faults: tuple[Mapping[str, object], ...] = ()  # fault specs active from the start (mhhs_stubs.faults)
    fault_seed: int | str = 0
    rules_dir: str | None = None  # the participant simulators' rule files, if not the shipped stubs/rules
    # Authentication (docs/simulator.md#authentication). "required": every request carries valid
    # X-DIP-* signature headers, as on the real DIP; "optional": unsigned requests pass on the API
    # key alone, signed ones are verified in full; "off": signature headers are ignored.
    signing: Signing = "optional"
    signature_max_skew: float = 300.0  # seconds X-DIP-Signature-Date may be old (or ahead)
    tls: bool = False  # HTTPS with the run's CA (EmbeddedSimulator); plain HTTP on loopback is faster
    mtls: bool = True  # with tls: a client certificate from the run's CA is required
    # Keys made during the run; never written to a config file (a process gets key files instead).
    credentials: Credentials = field(default_factory=Credentials, repr=False, compare=False, metadata={"runtime": True})
    # The control client's key for /_sim (docs/simulator.md#security): fresh per start unless
    # given, and never one of the participants' API keys, so no participant can act as it.
    control_key: str = field(default_factory=new_control_key, repr=False)

    def __post_init__(self) -> None:
        if self.signing not in SIGNING_MODES:
            raise ValueError(f"signing must be one of {', '.join(SIGNING_MODES)}, not {self.signing!r}")
        if len(self.control_key) < 16:
            raise ValueError("control_key must be at least 16 characters (it guards every /_sim path)")
        if any(self.is_control_key(getattr(p, "api_key", None)) for p in self.participants.values()):
            raise ValueError("control_key must differ from every participant's API key")
        for p in self.participants.values():
            key_file, cert_file = getattr(p, "key_file", None), getattr(p, "cert_file", None)
            if key_file and cert_file:
                self.credentials.use_files(p.dip_id, key_file, cert_file)
            brought = getattr(p, "trusted_cert_files", ())
            if brought:
                self.credentials.trust_files(p.dip_id, brought)

    @property
    def api_keys(self) -> dict[str, str]:
        return {p.dip_id: p.api_key for p in self.participants.values()}

    def is_control_key(self, key: str | None) -> bool:
        return bool(key) and secrets.compare_digest(self.control_key.encode(), (key or "").encode())

    def by_key(self, api_key: str) -> SimParticipant | None:
        for p in self.participants.values():
            if secrets.compare_digest(p.api_key, api_key):
                return p
        return None


def config_from_cohorts(
    cohorts: Iterable[Cohort],
    *,
    environment_tag: str = "DEV",
    version: str | None = None,
    keys: Mapping[str, str] | None = None,
    credential_files: Mapping[str, tuple[str, str]] | None = None,
    **kwargs: object,
) -> SimulatorConfig:
    """One participant per DIP ID across cohorts; API keys, CA and keys are fresh per run unless given.

    ``credential_files`` maps a DIP ID to its own ``(key_file, cert_file)`` PEM files.
    """
    files = dict(credential_files or {})
    participants: dict[str, SimParticipant] = {}
    for cohort in cohorts:
        for role, p in cohort.participants.items():
            if p.dip_id in participants:
                continue
            key = (keys or {}).get(p.dip_id) or secrets.token_urlsafe(24)
            key_file, cert_file = files.get(p.dip_id, (None, None))
            participants[p.dip_id] = SimParticipant(
                p.dip_id, role, p.mpid, key, role in cohort.simulated, cohort.id, p.name, key_file, cert_file
            )
    return SimulatorConfig(participants, environment_tag, version, **kwargs)  # type: ignore[arg-type]
