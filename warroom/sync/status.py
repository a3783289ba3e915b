"""What the sync engine reports: its status line, the counts of one push or pull, and the
backoff it waits with between failures."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from warroom.store.outbox import Rejection


@dataclass(frozen=True)
class SyncStatus:
    """What a header shows about sync. Immutable: compare two to see if anything changed."""

    server: str
    online: bool
    since: datetime | None
    """When the current online/offline state began; None before the first contact."""
    pending: int
    """Events journalled here that the server does not have yet."""
    rejected: int
    """Events the server refused (kept locally; see ``SyncEngine.rejections()``)."""
    waiting: int = 0
    """Events the server will take once something else arrives (a declaration, a key):
    sent again automatically."""
    last_error: str | None = None
    """The latest failure, as a sentence; cleared by the next success."""
    last_rejection: str | None = None
    """The newest rejection's reason, e.g. who may resolve the incident."""
    user: str | None = None
    """Who the server says we are (``/v1/whoami``)."""
    admin: bool = False
    """The server says we are an admin (may resolve and hand over IC for anyone)."""
    warning: str | None = None
    """A standing problem, e.g. the token's user differs from the name we record as."""

    @property
    def summary(self) -> str:
        """One short line, e.g. ``online · 3 pending · 1 rejected``."""
        parts = ["online" if self.online else ("offline" if self.since else "connecting")]
        if self.pending:
            parts.append(f"{self.pending} pending")
        if self.waiting:
            parts.append(f"{self.waiting} waiting")
        if self.rejected:
            parts.append(f"{self.rejected} rejected")
        return " · ".join(parts)


@dataclass
class PushCounts:
    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    waiting: int = 0
    """Refused for now (their declaration or their author's key has not arrived): sent again
    automatically, not counted as rejected."""
    pending: int = 0
    """Still pending afterwards."""
    new_rejections: list[Rejection] | None = None


@dataclass
class PullCounts:
    received: int = 0
    more: bool = False
    reset: bool = False
    """The server's database changed (HTTP 410): the feed restarts and everything is re-sent."""


@dataclass
class SyncCounts:
    push: PushCounts
    received: int = 0


class Backoff:
    """Exponential backoff with jitter: waits grow 2x per failure up to ``cap``; each wait is
    drawn from the upper half of its range so clients that failed together spread out."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        self.failures += 1
        # The exponent stops growing long before the cap matters: a console left offline for
        # hours fails thousands of times, and 2 ** 1100 is too large for a float.
        ceiling = min(self.cap, self.base * 2 ** min(self.failures - 1, 64))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.failures = 0
