"""Keeping secrets out of evidence, and personal data out of evidence that leaves the team.

Secrets are masked wherever their value appears (headers are masked at the source, in the DIP
client); personal-data fields are masked by name, case-insensitively, when asked for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
DEFAULT_PERSONAL_FIELDS = frozenset(
    {f"addressline{i}" for i in range(1, 10)}
    | {
        "meteringpointpostcode",
        "postcode",
        "address",
        "meterserialnumber",
        "meter_serial",
        "meterid",
        "customername",
        "customerphone",
        "customeremail",
    }
)
SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)


def secret_values(extra: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> list[str]:
    """Values that must never be written: given ones plus secret-looking environment variables."""
    env = os.environ if environ is None else environ
    found = {v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= 8}
    found.update(v for v in extra if v and len(v) >= 8)
    return sorted(found, key=len, reverse=True)  # longest first, so a secret inside another is masked whole


def redact(value: Any, *, secrets: Iterable[str] = (), personal: frozenset[str] | None = None) -> Any:
    """A copy of a JSON value with secrets masked and (when given) personal-data fields masked."""
    secrets = list(secrets)
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if personal is not None and str(k).lower() in personal and v is not None:
                out[k] = MASK
            else:
                out[k] = redact(v, secrets=secrets, personal=personal)
        return out
    if isinstance(value, list | tuple):
        return [redact(v, secrets=secrets, personal=personal) for v in value]
    return value
