"""Client-generated identifiers.

Event ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds then random bits. They sort
roughly by creation time, and because every client makes its own, an id doubles as the
idempotency key when the same event is pushed to the server twice.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def uuid7(at: datetime, random_bytes: bytes | None = None) -> str:
    """A UUIDv7 string for the instant ``at``; randomness from ``os.urandom`` unless given."""
    ms = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(random_bytes if random_bytes is not None else os.urandom(10), "big")
    rand &= (1 << 74) - 1
    rand_a = rand >> 62  # 12 bits
    rand_b = rand & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def is_uuid(text: str) -> bool:
    """True for a canonical lower-case UUID string."""
    return bool(_UUID_RE.match(text))


SHORT_ID_LENGTH = 8


def short_id(full_id: str) -> str:
    """The last 8 hex digits: what people read and type (``warroom show 5c9a0e12``).

    The tail, not the head: a UUIDv7 starts with the timestamp, so ids made within the same
    minute share their first 8 digits, while the tail is random."""
    return full_id[-SHORT_ID_LENGTH:]


def matches_ref(full_id: str, ref: str) -> bool:
    """True when ``ref`` is the whole id or its short form (a tail of at least 4 digits)."""
    ref = ref.strip().lower()
    return full_id == ref or (len(ref) >= 4 and full_id.endswith(ref))
