"""Deterministic, portable pseudo-randomness: the same key gives the same numbers everywhere.

``random.Random`` is only promised to repeat ``random()`` across Python versions, and ``hash()``
of a string changes per process, so data that must be identical on the machine that loads it
into a participant's system and on the machine that runs the tests is derived from these.
"""

from __future__ import annotations

import hashlib

M64 = (1 << 64) - 1


def mix64(x: int) -> int:
    """SplitMix64's finaliser: a fast bijection on 64-bit integers that scatters every bit."""
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def derive_key(*parts: object) -> int:
    """A 64-bit key from labelled parts (ints and strings), stable across runs and machines."""
    text = "\x1f".join(f"{type(p).__name__}:{p}" for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def shuffled(n: int, key: int) -> list[int]:
    """A keyed permutation of ``range(n)`` (Fisher-Yates driven by ``mix64``)."""
    items = list(range(n))
    for i in range(n - 1, 0, -1):
        j = mix64(key ^ i) % (i + 1)
        items[i], items[j] = items[j], items[i]
    return items
