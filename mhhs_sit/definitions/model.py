"""The domain model: plain frozen data built once by the loader, read by everything else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

STAGES: Mapping[str, str] = {
    "pit": "PIT",
    "cit": "CIT",
    "sit-functional": "SIT Functional",
    "sit-migration": "SIT Migration",
    "sit-non-functional": "SIT Non-Functional",
    "sit-operational": "SIT Operational",
    "qualification": "Qualification Testing",
}

ONLY_WHEN_ASKED = frozenset({"qualification"})
"""Stages a run without ``--stage`` leaves out: a qualification scenario needs a participant's own
system under test, and ``mhhs-sit qualify`` runs it in a cohort arrangement of its own (every role
but the system under test simulated or played by the framework)."""


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Step:
    """One action of a case. ``spec`` keeps the action's YAML body; templates render at run time."""

    kind: str  # the key of its kind in the step registry the loader was given
    spec: object
    save: Mapping[str, str]
    name: str
    location: Location
    path: str  # YAML path, e.g. ``cases[0].steps[1]``
    default_title: str = ""  # the kind's one-line title, for a step without ``name``

    @property
    def title(self) -> str:
        return self.name or self.default_title or self.kind


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class

    id: str
    title: str
    priority: int
    data: Mapping[str, object]
    steps: tuple[Step, ...]
    tags: tuple[str, ...]
    requirements: tuple[str, ...]
    location: Location
    path: str
    drives: frozenset[str] = frozenset()  # roles the steps act as (``send as:``)
    listens: Mapping[str, Location] = field(default_factory=dict)  # roles observed (``expect at:``) -> first step


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    description: str
    stage: str
    theme: str
    requirements: tuple[str, ...]
    tags: tuple[str, ...]
    roles: tuple[str, ...]
    cases: tuple[TestCase, ...]
    location: Location
    since: str | None = None  # the first catalogue version its messages exist in (canonical name)

    @property
    def stage_title(self) -> str:
        return STAGES.get(self.stage, self.stage)

    @property
    def file(self) -> str:
        return self.location.file


UNOBSERVABLE = (
    "the framework observes only the roles it plays: a simulated role's deliveries go to the simulator, "
    "so an 'expect at:' one never sees them; expect at a role the case plays, or run in a cohort that "
    "does not simulate it"
)


@dataclass(frozen=True)
class Participant:
    role: str
    dip_id: str
    mpid: str
    name: str = ""
    distributor: str | None = None  # for LDSO / REGS: the 2-digit distributor id

    def as_template_value(self) -> dict[str, object]:
        return {
            "role": self.role,
            "dip_id": self.dip_id,
            "mpid": self.mpid,
            "name": self.name,
            "distributor": self.distributor,
        }


@dataclass(frozen=True)
class Cohort:
    id: str
    title: str
    participants: Mapping[str, Participant]  # by role code
    simulated: frozenset[str]  # roles answered by the participant simulators
    location: Location
    index: int = 0  # the cohort's data slot: its own slice of the MPAN space

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.participants)

    def ineligibility(self, scenario: Scenario, case: TestCase, *, local: bool) -> str | None:
        """Why this cohort cannot run ``case`` (None when it can).

        Beyond having every role the scenario needs: a case may not act as a role the cohort's
        simulators play (two parties would answer), and in a local environment every other role
        must be simulated, because no real system is there to play it.
        """
        missing = [r for r in scenario.roles if r not in self.participants]
        if missing:
            return f"cohort {self.id} has no {', '.join(missing)}"
        clash = sorted(case.drives & self.simulated)
        if clash:
            return f"the case acts as {', '.join(clash)}, which cohort {self.id} simulates"
        unseen = self.unobservable(case)
        if unseen:
            return (
                f"the case waits for messages at {', '.join(unseen)}, which cohort {self.id} simulates ({UNOBSERVABLE})"
            )
        if local:
            played = case.drives | set(case.listens)
            unplayed = [r for r in scenario.roles if r not in played and r not in self.simulated]
            if unplayed:
                return (
                    f"in a local environment nothing plays {', '.join(unplayed)} of cohort "
                    f"{self.id}: it is neither simulated nor driven by the case"
                )
        return None

    def unobservable(self, case: TestCase) -> list[str]:
        """The roles ``case`` observes (``expect at:``) that this cohort's simulators play."""
        return sorted(set(case.listens) & self.simulated)

    def participant(self, role: str) -> Participant:
        return self.participants[role]

    def as_template_value(self) -> dict[str, object]:
        value: dict[str, object] = {"id": self.id, "title": self.title}
        for role, p in self.participants.items():
            value[role] = p.as_template_value()
        return value


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 30.0
    expect: float = 30.0  # default ``within`` of an expect step


@dataclass(frozen=True)
class Auth:
    """Where secrets come from. Values are never stored here, only the names to read them by."""

    api_key_env: str | None = None  # e.g. ``MHHS_SITA_API_KEY_{dip_id}``
    client_cert: str | None = None  # PEM file path (may name an env var: ``env:VAR``)
    client_key: str | None = None
    ca_bundle: str | None = None


@dataclass(frozen=True)
class RunSubset:
    """An environment's own selection (``selection:``), e.g. a smoke set: cases with one of these
    tags, in these stages, each in at most ``cohorts_per_case`` of its eligible cohorts (spread so
    that as many cohorts as possible take part). Command-line options narrow it further."""

    tags: frozenset[str] = frozenset()
    stages: frozenset[str] = frozenset()
    cohorts_per_case: int | None = None


@dataclass(frozen=True)
class Environment:
    name: str
    title: str
    dip_url: str | None  # None: the local simulator is started and supplies it
    environment_tag: str
    ir: str | None
    stubs: str  # "embedded" | "container" | "none"
    auth: Auth
    timeouts: Timeouts
    retries: int
    webhook_listen: str  # host:port the framework's webhook receiver binds
    webhook_public_url: str | None  # how the DIP reaches that receiver, if not the listen address
    location: Location
    variables: Mapping[str, object] = field(default_factory=dict)
    faults: tuple[Mapping[str, object], ...] = ()  # simulator fault specs (mhhs_stubs.faults)
    fault_seed: int | str = 0
    delivery: Mapping[str, float] = field(default_factory=dict)  # simulator push retries (DeliveryPolicy)
    tls: bool = False  # local simulator over HTTPS with client certificates (mutual TLS), as the DIP
    concurrency: int = 1  # cases in flight at once when --mhhs-concurrency is not given
    subset: RunSubset = RunSubset()  # which cases a run in this environment takes (all by default)
    rules_dir: str | None = None  # the participant simulators' rules, if not the shipped stubs/rules
    webhook_hosts: tuple[str, ...] = ()  # beyond loopback, the local simulator's webhook hosts (HOST[:PORT])

    @property
    def is_local(self) -> bool:
        return self.stubs != "none"

    def as_template_value(self) -> dict[str, object]:
        return {
            "name": self.name,
            "tag": self.environment_tag,
            "ir": self.ir,
            "dip_url": self.dip_url,
            **self.variables,
        }
