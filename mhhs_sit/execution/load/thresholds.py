"""What a load case must reach, per NFR id: ``throughput: ">= 40/s"``, ``p95: "< 500ms"``, ``errors: "< 1%"``.

A threshold is read when the scenario is loaded (a mistake is reported with file:line before
anything runs) and judged against the figures Locust measured.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# metric -> (unit it is written in, what it measures)
METRICS: dict[str, tuple[str, str]] = {
    "throughput": ("/s", "messages accepted per second"),
    "p50": ("ms", "median send-to-answer latency"),
    "p95": ("ms", "95th percentile send-to-answer latency"),
    "p99": ("ms", "99th percentile send-to-answer latency"),
    "max": ("ms", "slowest send-to-answer latency"),
    "errors": ("%", "share of sends that failed"),
    "delivery_p50": ("ms", "median acceptance-to-delivery latency (local simulator's journal)"),
    "delivery_p95": ("ms", "95th percentile acceptance-to-delivery latency (local simulator's journal)"),
    "delivery_p99": ("ms", "99th percentile acceptance-to-delivery latency (local simulator's journal)"),
    "undelivered": ("%", "share of accepted messages not delivered to every recipient by the end"),
}
DELIVERY_METRICS = frozenset(m for m in METRICS if m.startswith("delivery_") or m == "undelivered")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_FORM = re.compile(r"^\s*(<=|>=|<|>)\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|/s|%)?\s*$")
_SCALE = {"ms": 1.0, "s": 1000.0, "/s": 1.0, "%": 1.0}


@dataclass(frozen=True)
class Figures:
    """What one load run measured (latencies in milliseconds, send to the DIP's answer)."""

    sent: int
    failed: int
    throughput: float
    p50: float
    p95: float
    p99: float
    max: float
    delivery: Delivery | None = None  # from the local simulator's journal, when it could be read

    @property
    def errors(self) -> float:
        return 100.0 * self.failed / self.sent if self.sent else 100.0

    def value(self, metric: str) -> float | None:
        """The figure; None for a delivery figure that was not measured."""
        if metric in DELIVERY_METRICS:
            return None if self.delivery is None else float(getattr(self.delivery, metric.removeprefix("delivery_")))
        return float(getattr(self, metric))


@dataclass(frozen=True)
class Delivery:
    """Acceptance-to-delivery latencies (ms) of the messages a load run sent, from the journal."""

    accepted: int
    undelivered: float  # %
    p50: float
    p95: float
    p99: float
    missing: int = 0  # accepted messages not delivered to every recipient by the end (the count behind the %)

    @classmethod
    def of(cls, latencies_ms: list[float], accepted: int, complete: int) -> Delivery:
        ordered = sorted(latencies_ms)

        def at(share: float) -> float:
            return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else 0.0

        missing = 100.0 * (accepted - complete) / accepted if accepted else 100.0
        return cls(accepted, missing, at(0.5), at(0.95), at(0.99), accepted - complete)


@dataclass(frozen=True)
class Threshold:
    """One condition on one metric, for one NFR id."""

    nfr: str
    metric: str
    op: str
    limit: float  # in the metric's unit (ms for latencies)
    written: str

    def met(self, figures: Figures) -> bool:
        value = figures.value(self.metric)
        return value is not None and _OPS[self.op](value, self.limit)

    def verdict(self, figures: Figures) -> str:
        unit = METRICS[self.metric][0]
        value = figures.value(self.metric)
        got = "not measured" if value is None else f"{value:.1f}{unit}"
        return f"{self.nfr} {self.metric} {got} (needs {self.written.strip()})"


class ThresholdError(ValueError):
    """A threshold written wrongly; ``path`` is where, below ``thresholds``."""

    def __init__(self, path: list[str], message: str):
        super().__init__(message)
        self.path = path


def parse_thresholds(body: object) -> tuple[Threshold, ...]:
    """``{NFR-ID: {metric: "<op> <value><unit>"}}`` into thresholds; ThresholdError names the field."""
    found, problems = read_thresholds(body)
    if problems:
        raise problems[0]
    return found


def read_thresholds(body: object) -> tuple[tuple[Threshold, ...], list[ThresholdError]]:
    """Every threshold that reads, and every one that does not (each naming its field)."""
    if not isinstance(body, Mapping) or not body:
        return (), [
            ThresholdError([], "'thresholds' must map NFR ids to their conditions, e.g. {E2E1009: {p95: '< 2s'}}")
        ]
    found: list[Threshold] = []
    problems: list[ThresholdError] = []
    for nfr, conditions in body.items():
        if not isinstance(conditions, Mapping) or not conditions:
            problems.append(
                ThresholdError([str(nfr)], f"the conditions of {nfr} must be a mapping such as {{p95: '< 2s'}}")
            )
            continue
        for metric, written in conditions.items():
            try:
                found.append(_threshold(str(nfr), str(metric), written))
            except ThresholdError as exc:
                problems.append(exc)
    return tuple(found), problems


def _threshold(nfr: str, metric: str, written: object) -> Threshold:
    if metric not in METRICS:
        known = ", ".join(METRICS)
        raise ThresholdError([nfr, metric], f"unknown load metric {metric!r}: use one of {known}")
    unit = METRICS[metric][0]
    match = _FORM.match(str(written))
    if match is None:
        raise ThresholdError([nfr, metric], f"{metric} {written!r} must read like '< 500{unit}' (<, <=, > or >=)")
    op, number, given = match.groups()
    given = given or unit
    if (unit == "ms") != (given in ("ms", "s")) or (unit != "ms" and given != unit):
        raise ThresholdError([nfr, metric], f"{metric} is measured in {unit}, not {given} ({written!r})")
    return Threshold(nfr, metric, op, float(number) * _SCALE[given], str(written))


def judged(thresholds: tuple[Threshold, ...], figures: Figures) -> tuple[list[str], list[str]]:
    """The verdicts of the thresholds met, and of those missed."""
    met = [t.verdict(figures) for t in thresholds if t.met(figures)]
    missed = [t.verdict(figures) for t in thresholds if not t.met(figures)]
    return met, missed
