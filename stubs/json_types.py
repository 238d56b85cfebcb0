"""JSON values as the simulator builds them: the documents it serves and the bodies it answers with.

Read-only (Mapping, Sequence) so that a ``dict[str, str]`` or a list of such is one too. Parsed
input stays ``object`` and is narrowed where it is read; these say what is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

JsonValue: TypeAlias = "bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
JsonObject: TypeAlias = "Mapping[str, JsonValue]"
