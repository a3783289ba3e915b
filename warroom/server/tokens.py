"""The running server's view of the access tokens: checked from memory, on every request.

Tokens are checked before anything else of a request is read, on the event loop, so the check
must cost microseconds: the tokens live in a dict keyed by their SHA-256. Looking a digest up
in a dict leaks nothing useful through timing (an attacker cannot choose a token whose digest
lands near a real one), so this is as safe as comparing against every stored digest.

The cache follows the database: every check first reads the store's ``tokens_version`` (it
moves whenever any process adds, removes or changes a token) and reloads the tokens when it
moved, so a revoked token is refused on its very next request, on every replica, and a new
one works at once. With SQLite that read is one local row (microseconds, done on the event
loop); with PostgreSQL it is a round trip, done from a worker thread so a slow or absent
database never stalls the loop.

Held long-polls send no requests, so the server also refreshes every ``REFRESH_SECONDS`` and
hands the digests that disappeared to ``on_revoked`` (the feed ends those polls with a 401).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from warroom.server.auth import Principal, hash_token, principal_of
from warroom.server.storage import EventStore

REFRESH_SECONDS = 0.5
"""How often the tokens are re-checked in the background: a revoked token's held polls are
cut within this."""


class TokenCache:
    """Principals by token digest, reloaded whenever the store's tokens change."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._version: str | None = None
        self._by_digest: dict[str, Principal] = {}
        self.local = store.tokens_version_is_local
        """True when checking for changes is cheap enough to do on the event loop."""
        self.on_revoked: Callable[[set[str]], None] | None = None
        """Called on the event loop with digests that were removed (or whose user changed)."""
        self.refresh()

    async def principal(self, presented: str) -> tuple[str, Principal | None]:
        """``(digest, principal or None)`` of a presented token. Raises ``StoreError``."""
        gone = self.refresh() if self.local else await asyncio.to_thread(self.refresh)
        self.report(gone)
        digest = hash_token(presented)
        return digest, self._by_digest.get(digest)

    def is_valid(self, digest: str) -> bool:
        return digest in self._by_digest

    def refresh(self) -> set[str]:
        """Reload if the tokens changed; returns the digests gone since (any thread)."""
        version = self._store.tokens_version()
        if version is not None and version == self._version:
            return set()
        fresh = {record.sha256: principal_of(record) for record in self._store.tokens()}
        gone = {digest for digest, who in self._by_digest.items() if fresh.get(digest) != who}
        self._by_digest = fresh
        self._version = version
        return gone

    def report(self, gone: set[str]) -> None:
        """Tell ``on_revoked`` (on the event loop)."""
        if gone and self.on_revoked is not None:
            self.on_revoked(gone)

    def __len__(self) -> int:
        return len(self._by_digest)
