"""Terminal text for a case: which step failed, why, and what ran before it — no traceback."""

from __future__ import annotations

from typing import Any

from mhhs_sit.results.outcome import UNSUCCESSFUL, Category, classify

# The words results.json, the store and the reports use, with the status each category carries.
CLASSIFIED = {
    Category.PRODUCT_DEFECT: "product behaviour (failed)",
    Category.ENVIRONMENT: "environment (broken)",
    Category.TEST_DATA: "test data (broken)",
    Category.TEST_DEFINITION: "test definition (definition error: the test file is wrong)",
    Category.FRAMEWORK: "framework error (broken)",
}
MARKS = {"passed": "✓", "failed": "✗", "broken": "!", "definition error": "!", "skipped": "-", "pending": "?"}


def case_failure_text(item: Any, exc: BaseException) -> str:
    record = item.record
    verdict = classify(exc)
    outcome = verdict.status
    word = "DEFINITION ERROR" if verdict.category is Category.TEST_DEFINITION else outcome.upper()
    head = f"{item.name} {word}: {item.case.title}  ({item.case.location})"
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
    lines.append(f"  classified as: {CLASSIFIED.get(verdict.category, 'environment (broken)')}")
    return "\n".join(lines)
