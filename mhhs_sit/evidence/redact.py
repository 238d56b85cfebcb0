"""Keeping secrets out of evidence, and personal data out of evidence that leaves the team.

Secrets are masked wherever their value appears (headers are masked at the source, in the DIP
client): in encoded evidence files by ``Scrubber``, one pass over the text; personal-data fields
are masked by name, case-insensitively, when asked for (``redact``, on the data).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping

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
MIN_SECRET_LENGTH = 8


def secret_variables(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables whose names look secret and whose values are long enough to matter."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LENGTH}


def secret_values(extra: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> list[str]:
    """Values that must never be written: given ones plus secret-looking environment variables."""
    found = set(secret_variables(environ).values())
    found.update(v for v in extra if v and len(v) >= MIN_SECRET_LENGTH)
    return sorted(found, key=len, reverse=True)  # longest first, so a secret inside another is masked whole


def json_forms(value: str) -> set[str]:
    """How ``value`` appears inside a JSON string, escaped with and without ``ensure_ascii``."""
    return {json.dumps(value, ensure_ascii=ascii_only)[1:-1] for ascii_only in (True, False)}


def redact(value: object, *, secrets: Iterable[str] = (), personal: frozenset[str] | None = None) -> object:
    """A copy of a JSON value with secrets masked and (when given) personal-data fields masked."""
    secrets = list(secrets)
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        return {k: _redact_field(k, v, secrets, personal) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, secrets=secrets, personal=personal) for v in value]
    return value


def _redact_field(name: object, value: object, secrets: list[str], personal: frozenset[str] | None) -> object:
    if personal is not None and str(name).lower() in personal and value is not None:
        return MASK
    return redact(value, secrets=secrets, personal=personal)


class Scrubber:
    """Masks secrets in JSON text as it is written, in one pass over it.

    A secret is looked for as JSON writes it inside a string (escaped, with and without
    ``ensure_ascii``), so a secret with a quote, a backslash or a non-ASCII letter is found too. If
    a mask ever left the text unreadable as JSON (a match starting inside an escape sequence), the
    file's data is masked with ``redact`` and encoded again instead. Masking the text rather than a
    copy of the data costs nothing when no secret is in it: the usual case, for every case's files.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = [s for s in secrets if s]
        forms = {form for secret in self.secrets for form in json_forms(secret)}
        ordered = sorted(forms, key=len, reverse=True)  # longest first: a secret inside another masked whole
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str, data: object, encode: Callable[[object], str]) -> str:
        """``text`` (``encode(data)``) with every secret masked; ``data`` and ``encode`` are the
        fallback for the rare mask that would break the JSON."""
        if self._pattern is None:
            return text
        masked, found = self._pattern.subn(MASK, text)
        if not found:
            return text
        try:
            json.loads(masked)
            return masked
        except ValueError:
            return encode(redact(data, secrets=self.secrets))
