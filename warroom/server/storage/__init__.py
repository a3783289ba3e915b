"""The server's database: SQLite by default (one process), PostgreSQL for several replicas.

``open_store(target)`` picks the implementation: a ``postgresql://`` (or ``postgres://``)
URL opens the shared PostgreSQL store, anything else is the path of a SQLite file. Importing
this package does not import psycopg; only opening a PostgreSQL store does.
"""

from __future__ import annotations

import os
from pathlib import Path

from warroom.server.storage.base import (
    EventStore,
    FeedRow,
    KeyTaken,
    Mark,
    PublicKeyRecord,
    RaceLost,
    StoredEvent,
    StoreError,
    TokenRecord,
    WriteBatch,
)
from warroom.server.storage.sqlite import DB_FILE_NAME, SqliteStore

__all__ = [
    "DB_FILE_NAME",
    "DB_ENV",
    "NAIVE_FEED_ENV",
    "EventStore",
    "FeedRow",
    "KeyTaken",
    "Mark",
    "PublicKeyRecord",
    "RaceLost",
    "SqliteStore",
    "StoreError",
    "StoredEvent",
    "TokenRecord",
    "WriteBatch",
    "is_postgres_url",
    "open_store",
]

DB_ENV = "WARROOM_DB"
"""A ``postgresql://`` URL: the same as ``warroom server --db``."""
NAIVE_FEED_ENV = "WARROOM_SERVER_UNSAFE_NAIVE_FEED"
"""Set to 1 to serve the PostgreSQL feed as ``seq > cursor``. Only for proving that the
chaos test catches the events such a feed skips."""


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def open_store(target: str | Path, *, dedupe: bool | None = True) -> EventStore:
    """The store at ``target``: a PostgreSQL URL, or a SQLite file path.

    ``dedupe=None`` leaves the event-id index as it is (token management only)."""
    if is_postgres_url(target):
        from warroom.server.storage.postgres import PostgresStore

        return PostgresStore(str(target), dedupe=dedupe, naive_feed=os.environ.get(NAIVE_FEED_ENV) == "1")
    return SqliteStore(Path(target), dedupe=dedupe)
