"""Terminal text for a case: which step failed, why, and what ran before it — no traceback."""

from __future__ import annotations

from typing import Any

from mhhs_sit.results.outcome import UNSUCCESSFUL, Status, classify

MARKS = {"passed": "✓", "failed": "✗", "broken": "!", "skipped": "-", "pending": "?"}


def case_failure_text(item: Any, exc: BaseException) -> str:
    record = item.record
    outcome = classify(exc).status
    head = f"{item.name} {outcome.upper()}: {item.case.title}  ({item.case.location})"
    lines = [head]
    if not record.steps:  # failed while preparing data or webhooks
        lines.append(f"  before the first step: {exc}")
    for s in record.steps:
        timing = f"{s.duration_ms:8.0f} ms" if s.status not in ("skipped", "pending") else " " * 11
        lines.append(f"  {MARKS.get(s.status, '?')} {s.number:>2}. {s.title:<60.60} {timing}")
        if s.status in UNSUCCESSFUL:
            lines.append(f"        at {s.location}")
            for part in str(exc).split("; "):
                lines.append(f"        {part}")
    if record.data_drawn:
        drawn = ", ".join(
            f"{k}={v if not isinstance(v, dict) else v.get('mpan', v)}" for k, v in record.data_drawn.items()
        )
        lines.append(f"  data: {drawn}")
    kind = "product behaviour (failed)" if outcome is Status.FAILED else "environment (broken)"
    lines.append(f"  classified as: {kind}")
    return "\n".join(lines)
