"""The DIP's answer shapes: ``StandardResponse`` bodies and the errors every route shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.responses import JSONResponse

from mhhs_stubs.clock import current_stamp

STANDARD_FIELDS = (
    "transactionID",
    "senderUniqueReference",
    "correlationID",
    "sentTimestamp",
    "senderID",
    "recipientID",
    "DIPConnectionProviderID",
    "message",
    "help",
    "serviceTicketURL",
)


def standard(items: Sequence[Mapping[str, object]], status: int, **extra: object) -> JSONResponse:
    return JSONResponse({"messageArray": items, "timestamp": current_stamp(), **extra}, status_code=status)


# The DIP's own participant ID as the sender of its answers (the official spec's examples use
# zeros; ``senderID`` is a 10-character DIP ID and may not be null).
DIP_PARTICIPANT_ID = "0000000000"
HELP_LIMIT = 500  # DT-019N-HelpText maxLength


def standard_item(code: str, text: str, help: str | None = None, **fields: object) -> dict[str, object]:
    """One ``StandardResponseBodyType``: every key present, as the spec requires, and only the
    nullable ones null: the DIP sends it now, to ``recipientID`` (the original sender, when known)."""
    item: dict[str, object] = {
        "transactionID": None,
        "senderUniqueReference": None,
        "correlationID": None,
        "sentTimestamp": current_stamp(),
        "senderID": DIP_PARTICIPANT_ID,
        "recipientID": None,
        "DIPConnectionProviderID": None,
        "message": f"{code} - {text}",
        "help": bounded_help([help]) if help else None,
        "serviceTicketURL": None,
    }
    item.update(fields)
    return item


def bounded_help(parts: Sequence[str], separator: str = "; ") -> str:
    """The parts joined within the spec's 500 characters; what does not fit is counted, not cut
    mid-sentence (the whole list stays in the journal and in ``violations``)."""
    whole = separator.join(parts)
    if len(whole) <= HELP_LIMIT:
        return whole
    shown: list[str] = []
    for part in parts:
        after = len(parts) - len(shown) - 1
        if len(separator.join([*shown, part]) + _more(after)) > HELP_LIMIT:
            break
        shown.append(part)
    omitted = len(parts) - len(shown)
    if not shown:  # the first part alone is too long: cut it
        suffix = _more(omitted - 1)
        return parts[0][: HELP_LIMIT - len(suffix) - 1] + "…" + suffix
    return separator.join(shown) + _more(omitted)


def _more(count: int) -> str:
    return f" (and {count} more; every one is in the journal)" if count else ""


def error(status: int, code: str, text: str, help: str) -> JSONResponse:
    return standard([standard_item(code, text, help)], status)


def problem(status: int, message: str, **extra: object) -> JSONResponse:
    """A control-API refusal: plain JSON naming what to fix (the DIP has no code for these)."""
    return JSONResponse({"error": message, **extra}, status_code=status)
