"""When a pooled PostgreSQL connection needs checking before it is handed out.

The pool can prove a connection alive with a round trip each time it hands one out, so a
database restarted meanwhile costs no request. A push takes several connections in turn
(its token check, its transaction, its receipt), so those round trips were a good part of
its time. A connection that finished a command moments ago is handed out unchecked; one
idle for longer is checked as before. A database gone in that moment costs one request a
503 (the client retries), and the pool replaces the broken connection.
"""

from __future__ import annotations

import weakref
from time import monotonic

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

RECENTLY_GOOD = 1.0
"""Seconds after a connection came back in good order during which it goes out unchecked."""


class RecentlyGood:
    """The pool's ``check`` and ``reset`` callbacks."""

    def __init__(self, within: float = RECENTLY_GOOD) -> None:
        self.within = within
        self._good_at: "weakref.WeakKeyDictionary[psycopg.Connection, float]" = weakref.WeakKeyDictionary()

    def check(self, conn: psycopg.Connection) -> None:
        """Before handing ``conn`` out (raises when it is broken: the pool replaces it)."""
        if monotonic() - self._good_at.get(conn, float("-inf")) >= self.within:
            ConnectionPool.check_connection(conn)

    def returned(self, conn: psycopg.Connection) -> None:
        """When ``conn`` comes back to the pool."""
        if conn.pgconn.transaction_status == TransactionStatus.IDLE:
            self._good_at[conn] = monotonic()
