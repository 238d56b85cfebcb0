"""Building the common blocks of a DIP message, so scenarios write only what matters to the test.

Used by the framework when it sends as a participant and by the participant simulators when they
answer, so both produce identical, spec-shaped envelopes: S0 (interface, schema version,
bracketed event code), S1 (environment tag, unique reference, 25-character timestamp, sender
DIP ID and role, correlation id), A0 (primary recipients) and M0 (MPAN core, distributor, GSP
group).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = "011"  # every IF-nnn of the v2.1.0 spec except IF-051 ('001') and REP ('008')
_SCHEMA_VERSIONS = {"IF-051": "001"}

# DNO distributor id -> GSP group (DOMAIN-FACTS §5.2); iDNOs span groups and must say which.
DNO_GSP_GROUPS: Mapping[str, str] = {
    "10": "_A",
    "11": "_B",
    "12": "_C",
    "13": "_D",
    "14": "_E",
    "15": "_F",
    "16": "_G",
    "17": "_P",
    "18": "_N",
    "19": "_J",
    "20": "_H",
    "21": "_K",
    "22": "_L",
    "23": "_M",
}

BUILT_BLOCKS = frozenset({"S0", "S1", "A0", "M0"})
"""The common blocks ``build_message`` fills itself (M0 when given an MPAN); any other block an event
requires (R0, R1, M1, S2) is the sender's to add."""

BLOCK_RE = re.compile(r"^(?:[SDARM]\d|P0\d)$", re.IGNORECASE)
CUSTOM_BLOCK_RE = re.compile(r"^B\d{3}", re.IGNORECASE)


def dip_timestamp(moment: dt.datetime | None = None) -> str:
    """The DIP's DateTime: exactly 25 characters, seconds precision, numeric offset."""
    if moment is None:
        return _now_stamp()
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


_last_stamp: tuple[int, str] = (0, "")


def _now_stamp() -> str:
    """The current second's stamp, formatted once per second (the simulator stamps every message)."""
    global _last_stamp
    second = int(time.time())
    if _last_stamp[0] != second:
        _last_stamp = (second, dt.datetime.fromtimestamp(second, dt.UTC).isoformat())
    return _last_stamp[1]


def schema_version(interface_id: str) -> str:
    if interface_id.startswith("REP-"):
        return "008"
    return _SCHEMA_VERSIONS.get(interface_id, SCHEMA_VERSION)


def bracketed(event: str) -> str:
    event = event.strip()
    return event if event.startswith("[") else f"[{event}]"


def unbracketed(event: str) -> str:
    return event.strip().removeprefix("[").removesuffix("]")


class ReferenceSource:
    """Unique ``senderUniqueReference`` and correlation ids for one process.

    Uniqueness across xdist workers and runs comes from a random per-process tag; a counter
    keeps references ordered within the process.
    """

    def __init__(self, tag: str | None = None):
        self.tag = tag or (secrets.token_hex(3) + format(os.getpid() % 4096, "03x"))
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            return next(self._counter)

    def unique_reference(self, interface_id: str, dip_id: str, role: str, day: dt.date) -> str:
        # S-<IF>-<DIP ID (10 hex)>-<role>-<yyyymmdd>-<alnum ref>, DT-995's pattern, which has no room
        # for a report's letter: REP-002A is written REP-002.
        channel = interface_id.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") if interface_id.startswith("REP-") else interface_id
        return f"S-{channel}-{dip_id}-{role}-{day:%Y%m%d}-{self.tag}{self._next():07d}"

    def correlation_id(self, day: dt.date) -> str:
        return f"CI-{day:%Y%m%d}-{self.tag}{self._next():010d}"


@dataclass(frozen=True)
class Sender:
    dip_id: str
    role: str


def gsp_group_for(mpan: str) -> str | None:
    return DNO_GSP_GROUPS.get(mpan[:2]) if len(mpan) >= 2 else None


def build_message(
    *,
    interface_id: str,
    event: str,
    sender: Sender,
    environment_tag: str,
    refs: ReferenceSource,
    custom: Mapping[str, object] | None = None,
    recipients: Iterable[str] = (),
    mpan: str | None = None,
    distributor_dip_id: str | None = None,
    gsp_group: str | None = None,
    correlation_id: str | None = None,
    sub_text: str | None = None,
    now: dt.datetime | None = None,
    extra_common: Mapping[str, object] | None = None,
    custom_block: bool = True,
) -> dict[str, Any]:  # Any: callers in execution and the simulator edit its blocks in place
    """One ``payload`` object: ``{"CommonBlock": {...}, "CustomBlock": {...}}``.

    ``custom_block=False`` leaves the CustomBlock out, for the event codes whose messages carry
    none (IF-015 [ConsumptionReplay], IF-038 [DirectContractMSRemove]…: the spec forbids one).
    """
    moment = now or dt.datetime.now(dt.UTC)
    common: dict[str, object] = {
        "S0": {
            "interfaceID": interface_id,
            "schemaVersion": schema_version(interface_id),
            "eventCode": bracketed(event),
        },
        "S1": {
            "environmentTag": environment_tag,
            "subText": sub_text,
            "senderUniqueReference": refs.unique_reference(interface_id, sender.dip_id, sender.role, moment.date()),
            "senderTimestamp": dip_timestamp(moment),
            "senderDIPID": sender.dip_id,
            "senderRoleID": sender.role,
            "senderCorrelationID": correlation_id or refs.correlation_id(moment.date()),
            "DIPConnectionProviderID": None,
        },
        "A0": {
            "primaryRecipients": list(dict.fromkeys(recipients)),
            "secondaryRecipients": [],
            "always": [],
        },
    }
    if mpan is not None:
        common["M0"] = {
            "MPANCore": mpan,
            "distributorDIPID": distributor_dip_id,
            "GSPGroupID": gsp_group or gsp_group_for(mpan),
        }
    if extra_common:
        common.update(extra_common)
    if not custom_block:
        return {"CommonBlock": common}
    return {"CommonBlock": common, "CustomBlock": dict(custom or {})}


def block_path(path: str) -> str:
    """Let ``S1.senderDIPID`` stand for ``CommonBlock.S1.senderDIPID`` (and ``B071...`` likewise)."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    if BLOCK_RE.match(head):
        return f"CommonBlock.{path}"
    if CUSTOM_BLOCK_RE.match(head):
        return f"CustomBlock.{path}"
    return path


def field(message: object, block: str, name: str) -> Any:  # Any: whatever the sender put there
    """A common-block field, tolerant of the case differences the DIP ignores (None if absent or malformed)."""
    common = get_ci(message, "CommonBlock") or {}
    return get_ci(get_ci(common, block) or {}, name)


def get_ci(mapping: object, key: str) -> Any:  # Any: as field()
    """``mapping[key]`` with the key matched case-insensitively, as the DIP matches field names;
    None when absent or when ``mapping`` is not a mapping at all (malformed input)."""
    if not isinstance(mapping, Mapping):
        return None
    if key in mapping:
        return mapping[key]
    low = key.lower()
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == low:
            return v
    return None


def response_code(body: object) -> str | None:
    """``MSG1001`` from a StandardResponse body, if there is one."""
    if isinstance(body, Mapping):
        items = body.get("messageArray") or []
        if items and isinstance(items[0], Mapping):
            message = str(items[0].get("message") or "")
            return message.split(" ", 1)[0] or None
    return None
