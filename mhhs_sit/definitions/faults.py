"""The fault language that scenario files, environments and the simulator share: a fault spec parsed and checked."""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.definitions.schema_check import suggest

INBOUND_KINDS = ("latency", "status", "reset", "empty", "truncated")
OUTBOUND_KINDS = ("drop", "duplicate", "reorder", "delay", "fail_first", "down")
KINDS = INBOUND_KINDS + OUTBOUND_KINDS
# Message-level outbound kinds act once per delivery (attempt 1); attempt-level ones on every attempt.
ATTEMPT_KINDS = ("fail_first", "down")
SCOPE_KEYS = ("interface", "sender", "recipient", "message", "method", "path")
COMMON_KEYS = ("id", "kind", "side", "scope", "count", "probability", "after", "for_seconds", "until", "tag", "note")
DISTRIBUTION_KEYS = ("seconds", "min", "max", "median", "p99")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "latency": DISTRIBUTION_KEYS,
    "status": ("status", "retry_after"),
    "reset": (),
    "empty": ("status",),
    "truncated": ("keep_bytes",),
    "drop": (),
    "duplicate": ("copies",),
    "reorder": ("window",),
    "delay": DISTRIBUTION_KEYS,
    "fail_first": ("tries", "status", "retry_after", "error"),
    "down": (),
}
Z99 = 2.3263478740408408  # the standard normal's 99th percentile
DIP_ID_RE = re.compile(r"^[0-9A-Za-z]{10}$")
INTERFACE_RE = re.compile(r"^(IF-\d{3}|REP-\d{3}[A-Z]?)$")


class FaultSpecError(ValueError):
    """A fault spec is wrong; ``field`` is the path inside the spec (e.g. ``("scope", "interface")``)."""

    def __init__(self, field: Sequence[str | int], message: str):
        self.field = tuple(field)
        self.message = message
        where = ".".join(str(f) for f in self.field)
        super().__init__(f"{where}: {message}" if where else message)

    def as_dict(self) -> dict[str, str]:
        """The body of a 400 answer to ``POST /_sim/faults``."""
        return {"error": str(self), "field": ".".join(str(f) for f in self.field), "message": self.message}


def _admits(allowed: frozenset[str], value: str | None) -> bool:
    """An empty scope field admits everything; a given one only its values."""
    return not allowed or value in allowed


@dataclass(frozen=True)
class Scope:
    """Which traffic a fault applies to; every given field must match (an empty scope matches all)."""

    interface: frozenset[str] = frozenset()
    sender: frozenset[str] = frozenset()
    recipient: frozenset[str] = frozenset()
    message: frozenset[str] = frozenset()  # senderUniqueReference or DIP transactionID
    method: frozenset[str] = frozenset()
    path: tuple[str, ...] = ()  # path prefixes (inbound only)

    def matches(
        self,
        *,
        interface: str | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        messages: Iterable[str | None] = (),
        method: str | None = None,
        path: str | None = None,
    ) -> bool:
        given = (
            (self.interface, (interface or "").upper()),
            (self.sender, sender),
            (self.recipient, recipient),
            (self.method, (method or "").upper()),
        )
        if not all(_admits(allowed, value) for allowed, value in given):
            return False
        if self.message and not any(m in self.message for m in messages if m):
            return False
        return not self.path or bool(path and path.startswith(self.path))

    def as_dict(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key in SCOPE_KEYS:
            value = getattr(self, key)
            if value:
                out[key] = sorted(value)
        return out


Spec = Mapping[str, object]  # a fault spec as YAML or JSON gives it


@dataclass(frozen=True)
class FaultParams:
    """A kind's parameters, read and checked; None where the kind takes, or was given, none."""

    status: int | None = None
    retry_after: float | None = None  # seconds
    keep_bytes: int | None = None
    copies: int | None = None
    window: float | None = None
    tries: int | None = None
    error: str | None = None
    seconds: float | None = None  # a delay's distribution: fixed, uniform (min, max) or long-tailed
    min: float | None = None
    max: float | None = None
    median: float | None = None
    p99: float | None = None

    def to_json(self) -> dict[str, int | float | str]:
        """The given parameters, as ``GET /_sim/faults`` shows them."""
        found = ((f.name, getattr(self, f.name)) for f in fields(self))
        return {name: value for name, value in found if value is not None}


@dataclass
class Fault:
    """One active fault: its spec, parsed, and how often it has matched and been applied."""

    id: str
    kind: str
    side: str
    scope: Scope
    params: FaultParams
    spec: dict[str, object]
    count: int | None = None
    probability: float | None = None
    after: int = 0
    added_at: float = 0.0
    ends_at: float | None = None  # epoch seconds
    tag: str | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)
    matched: int = 0
    applied: int = 0
    # fail_first: deliveries chosen on their first attempt, failing until ``tries`` is reached
    failing: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    reorder_window_end: float | None = None

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.applied >= self.count and not self.failing

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "side": self.side,
            "scope": self.scope.as_dict(),
            "params": self.params.to_json(),
            "count": self.count,
            "probability": self.probability,
            "after": self.after,
            "tag": self.tag,
            "added_at": round(self.added_at, 6),
            "ends_at": round(self.ends_at, 6) if self.ends_at is not None else None,
            "matched": self.matched,
            "applied": self.applied,
            "remaining": None if self.count is None else max(0, self.count - self.applied),
            "spec": self.spec,
        }

    def sample(self, params: FaultParams) -> float:
        """A delay in seconds from a fixed, uniform or long-tailed (lognormal) distribution."""
        if params.seconds is not None:
            return params.seconds
        if params.median is not None and params.p99 is not None:
            mu = math.log(params.median)
            sigma = math.log(params.p99 / params.median) / Z99
            value = self.rng.lognormvariate(mu, sigma)
            return min(value, params.max if params.max is not None else params.p99 * 10)
        return self.rng.uniform(params.min or 0.0, params.max or 0.0)


def _duration(spec: Spec, key: str, *, positive: bool = False) -> float:
    try:
        value = parse_duration(spec[key])
    except ValueError as exc:
        raise FaultSpecError([key], str(exc)) from None
    if positive and value <= 0:
        raise FaultSpecError([key], f"must be more than 0, not {spec[key]!r}")
    return value


def _int(spec: Spec, key: str, *, minimum: int, maximum: int | None = None) -> int:
    value = spec[key]
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= minimum
        and (maximum is None or value <= maximum)
    ):
        return value
    bounds = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
    raise FaultSpecError([key], f"must be a whole number {bounds}, not {value!r}")


def _status(spec: Spec, *, allow_4xx: bool = False) -> int:
    value = spec["status"]
    whole = isinstance(value, int) and not isinstance(value, bool)
    if (
        whole
        and isinstance(value, int)
        and (500 <= value <= 599 or value == 429 or (allow_4xx and 400 <= value <= 499))
    ):
        return value
    valid = "400-599" if allow_4xx else "500-599 or 429"
    raise FaultSpecError(["status"], f"must be an HTTP status {valid}, not {value!r}")


def _strings(value: object, key: str, check: Callable[[str], str | None] | None = None) -> frozenset[str]:
    items = value if isinstance(value, list) else [value]
    out = set()
    for i, item in enumerate(items):
        where = ["scope", key] + ([i] if isinstance(value, list) else [])
        if not isinstance(item, str) or not item:
            raise FaultSpecError(where, f"must be text or a list of text, not {item!r}")
        if check is not None:
            problem = check(item)
            if problem:
                raise FaultSpecError(where, problem)
        out.add(item)
    return frozenset(out)


def _interface(value: str) -> str | None:
    return None if INTERFACE_RE.match(value.upper()) else f"{value!r} is not an interface id such as IF-031"


def _dip_id(value: str) -> str | None:
    return None if DIP_ID_RE.match(value) else f"{value!r} is not a DIP ID (10 letters or digits)"


def _absolute_path(path: str) -> str | None:
    return None if path.startswith("/") else f"{path!r} must start with /"


def parse_scope(value: object) -> Scope:
    if value is None:
        return Scope()
    if not isinstance(value, Mapping):
        raise FaultSpecError(["scope"], f"must be a mapping with any of: {', '.join(SCOPE_KEYS)}")
    for key in value:
        if key not in SCOPE_KEYS:
            raise FaultSpecError(
                ["scope", key], f"unknown scope key{suggest(key, SCOPE_KEYS)}; valid: {', '.join(SCOPE_KEYS)}"
            )
    readers: dict[str, Callable[[object], frozenset[str] | tuple[str, ...]]] = {
        "interface": lambda v: frozenset(i.upper() for i in _strings(v, "interface", _interface)),
        "sender": lambda v: _strings(v, "sender", _dip_id),
        "recipient": lambda v: _strings(v, "recipient", _dip_id),
        "message": lambda v: _strings(v, "message"),
        "method": lambda v: frozenset(m.upper() for m in _strings(v, "method")),
        "path": lambda v: tuple(sorted(_strings(v, "path", _absolute_path))),
    }
    read = {key: readers[key](value[key]) for key in SCOPE_KEYS if key in value}
    return Scope(**read)  # type: ignore[arg-type]  # each reader gives its field's type


def _distribution(spec: Spec, kind: str) -> FaultParams:
    given = [k for k in DISTRIBUTION_KEYS if k in spec]
    shapes = ("'seconds' (fixed), 'min' and 'max' (uniform) or 'median' and 'p99' (long-tailed, "
              "optionally capped by 'max')")  # fmt: skip
    if given == ["seconds"]:
        return FaultParams(seconds=_duration(spec, "seconds"))
    if set(given) == {"min", "max"}:
        low, high = _duration(spec, "min"), _duration(spec, "max")
        if high < low:
            raise FaultSpecError(["max"], f"must not be less than min ({spec['min']!r})")
        return FaultParams(min=low, max=high)
    if set(given) in ({"median", "p99"}, {"median", "p99", "max"}):
        median, p99 = _duration(spec, "median", positive=True), _duration(spec, "p99", positive=True)
        if p99 <= median:
            raise FaultSpecError(["p99"], f"must be more than median ({spec['median']!r}) for a long tail")
        cap = _duration(spec, "max", positive=True) if "max" in spec else None
        return FaultParams(median=median, p99=p99, max=cap)
    field_ = [given[0]] if given else ["seconds"]
    raise FaultSpecError(field_, f"{kind} needs {shapes}; got {', '.join(given) or 'none of these'}")


def _status_params(spec: Spec) -> FaultParams:
    if "status" not in spec:
        raise FaultSpecError(["status"], "is required for a status fault (500-599 or 429)")
    return FaultParams(status=_status(spec), retry_after=_retry_after(spec))


def _empty_params(spec: Spec) -> FaultParams:
    return FaultParams(status=_int(spec, "status", minimum=200, maximum=299) if "status" in spec else None)


def _truncated_params(spec: Spec) -> FaultParams:
    return FaultParams(keep_bytes=_int(spec, "keep_bytes", minimum=0) if "keep_bytes" in spec else None)


def _duplicate_params(spec: Spec) -> FaultParams:
    return FaultParams(copies=_int(spec, "copies", minimum=1, maximum=100) if "copies" in spec else 1)


def _reorder_params(spec: Spec) -> FaultParams:
    if "window" not in spec:
        raise FaultSpecError(["window"], "is required for reorder (a duration such as 500ms)")
    return FaultParams(window=_duration(spec, "window", positive=True))


def _fail_first_params(spec: Spec) -> FaultParams:
    tries = _int(spec, "tries", minimum=1, maximum=100) if "tries" in spec else 1
    if "error" in spec:
        if spec["error"] != "connection":
            raise FaultSpecError(["error"], f"must be 'connection', not {spec['error']!r}")
        if "status" in spec:
            raise FaultSpecError(["error"], "give either 'status' or 'error: connection', not both")
        return FaultParams(tries=tries, error="connection", retry_after=_retry_after(spec))
    status = _status(spec, allow_4xx=True) if "status" in spec else 503
    return FaultParams(tries=tries, status=status, retry_after=_retry_after(spec))


def _retry_after(spec: Spec) -> float | None:
    return _duration(spec, "retry_after") if "retry_after" in spec else None


_PARAMS: dict[str, Callable[[Spec], FaultParams]] = {
    "status": _status_params,
    "empty": _empty_params,
    "truncated": _truncated_params,
    "duplicate": _duplicate_params,
    "reorder": _reorder_params,
    "fail_first": _fail_first_params,
}


def _kind_params(spec: Spec, kind: str) -> FaultParams:
    """The parameters a kind of fault takes, read and checked (a kind may take none)."""
    if kind in ("latency", "delay"):
        return _distribution(spec, kind)
    reader = _PARAMS.get(kind)
    return reader(spec) if reader else FaultParams()


def _until(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise FaultSpecError(["until"], f"{value!r} is not a time; write e.g. 2026-11-23T16:00:00Z") from None
    if moment.tzinfo is None:
        raise FaultSpecError(["until"], f"{value!r} needs a time zone, e.g. 2026-11-23T16:00:00Z")
    return moment.timestamp()


def _jsonable(value: object) -> object:
    """The spec as given, with YAML's timestamps as ISO text, so ``GET /_sim/faults`` can show it."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _checked_kind(spec: Spec) -> str:
    """The spec's fault kind, once every key it gives is one that kind takes."""
    kind = spec.get("kind")
    if kind not in KINDS:
        hint = suggest(str(kind), KINDS) if kind is not None else ""
        what = "is required" if kind is None else f"{kind!r} is not a fault kind{hint}"
        raise FaultSpecError(["kind"], f"{what}; valid: {', '.join(KINDS)}")
    allowed = COMMON_KEYS + KIND_KEYS[kind]
    for key in spec:
        if key not in allowed:
            raise FaultSpecError(
                [key], f"unknown key for a {kind} fault{suggest(key, allowed)}; valid: {', '.join(allowed)}"
            )
    return str(kind)


def _checked_side(spec: Spec, kind: str) -> str:
    side = "inbound" if kind in INBOUND_KINDS else "outbound"
    if "side" in spec and spec["side"] != side:
        raise FaultSpecError(["side"], f"a {kind} fault is {side}, not {spec['side']!r}")
    return side


def _checked_scope(spec: Spec, side: str) -> Scope:
    """The spec's scope, naming only what its side can be scoped by."""
    scope = parse_scope(spec.get("scope"))
    if side == "inbound" and scope.recipient:
        raise FaultSpecError(["scope", "recipient"], "inbound faults are scoped by sender; recipient is outbound only")
    if side == "outbound" and (scope.method or scope.path):
        key = "method" if scope.method else "path"
        raise FaultSpecError(["scope", key], "method and path scope inbound faults only")
    return scope


def _probability(spec: Spec) -> float | None:
    if "probability" not in spec:
        return None
    p = spec["probability"]
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
        raise FaultSpecError(["probability"], f"must be a number more than 0 and at most 1, not {p!r}")
    return float(p)


def _ends_at(spec: Spec, kind: str, now: float) -> float | None:
    """When the fault's window closes ('for_seconds' or 'until'), None for no window."""
    if "for_seconds" in spec and "until" in spec:
        raise FaultSpecError(["until"], "give either 'for_seconds' or 'until', not both")
    ends_at = None
    if "for_seconds" in spec:
        ends_at = now + _duration(spec, "for_seconds", positive=True)
    elif "until" in spec:
        ends_at = _until(spec["until"])
        if ends_at <= now:
            raise FaultSpecError(["until"], f"{_jsonable(spec['until'])} is already past")
    if kind == "down" and ends_at is None:
        raise FaultSpecError(["for_seconds"], "a down fault needs its window: 'for_seconds' or 'until'")
    return ends_at


def parse_spec(spec: object, *, fault_id: str, seed: int | str, now: float) -> Fault:
    """A spec mapping -> ``Fault``; ``FaultSpecError`` naming the field and the valid values."""
    if not isinstance(spec, Mapping):
        raise FaultSpecError([], f"a fault must be a mapping with at least 'kind', not {type(spec).__name__}")
    kind = _checked_kind(spec)
    side = _checked_side(spec, kind)
    scope = _checked_scope(spec, side)
    count = _int(spec, "count", minimum=1) if "count" in spec else None
    after = _int(spec, "after", minimum=0) if "after" in spec else 0
    probability = _probability(spec)
    ends_at = _ends_at(spec, kind, now)
    tag = spec.get("tag")
    if tag is not None and (not isinstance(tag, str) or not tag):
        raise FaultSpecError(["tag"], f"must be text, not {tag!r}")
    return Fault(
        id=fault_id,
        kind=kind,
        side=side,
        scope=scope,
        params=_kind_params(spec, kind),
        spec={str(k): _jsonable(v) for k, v in spec.items()},
        count=count,
        probability=probability,
        after=after,
        added_at=now,
        ends_at=ends_at,
        tag=tag,
        rng=random.Random(f"{seed}:{fault_id}"),  # str seeds are stable across processes
    )


def given_id(spec: object, active: Iterable[str] = ()) -> str | None:
    """The id a spec names for itself, checked against the ids already in use (None: pick one)."""
    fault_id = spec.get("id") if isinstance(spec, Mapping) else None
    if fault_id is None:
        return None
    if not isinstance(fault_id, str) or not re.match(r"^[A-Za-z0-9_.:-]{1,64}$", fault_id):
        raise FaultSpecError(["id"], f"must be 1-64 letters, digits or _ . : -, not {fault_id!r}")
    if fault_id in active:
        raise FaultSpecError(["id"], f"a fault with id {fault_id!r} is already active")
    return fault_id


def validate_specs(specs: Sequence[object], seed: int | str = 0) -> list[tuple[int, FaultSpecError]]:
    """Every problem in a list of specs (index, error), e.g. an environment file's ``faults:``."""
    problems = []
    ids: list[str] = []
    for i, spec in enumerate(specs):
        try:
            fault_id = given_id(spec, ids)
            parse_spec(spec, fault_id=fault_id or f"f{i + 1}", seed=seed, now=time.time())
            if fault_id:
                ids.append(fault_id)
        except FaultSpecError as exc:
            problems.append((i, exc))
    return problems
