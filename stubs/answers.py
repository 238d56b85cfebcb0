"""The DIP's answer shapes: ``StandardResponse`` bodies and the errors every route shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.responses import JSONResponse

from mhhs_sit.dip.envelope import dip_timestamp

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
    return JSONResponse({"messageArray": items, "timestamp": dip_timestamp(), **extra}, status_code=status)


def standard_item(code: str, text: str, help: str | None = None, **fields: object) -> dict[str, object]:
    """One ``StandardResponseBodyType``: every key present, as the spec requires."""
    item: dict[str, object] = {
        "transactionID": None,
        "senderUniqueReference": None,
        "correlationID": None,
        "sentTimestamp": None,
        "senderID": None,
        "recipientID": "DIP",
        "DIPConnectionProviderID": None,
        "message": f"{code} - {text}",
        "help": help,
        "serviceTicketURL": None,
    }
    item.update(fields)
    return item


def error(status: int, code: str, text: str, help: str) -> JSONResponse:
    return standard([standard_item(code, text, help)], status)


def problem(status: int, message: str, **extra: object) -> JSONResponse:
    """A control-API refusal: plain JSON naming what to fix (the DIP has no code for these)."""
    return JSONResponse({"error": message, **extra}, status_code=status)
