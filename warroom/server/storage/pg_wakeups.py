"""Wake-ups between replicas sharing one PostgreSQL database.

* ``Notifier``: after a replica commits events it sends one *empty* ``NOTIFY`` on
  ``warroom_feed``, outside the event transaction (a NOTIFY inside it would take
  PostgreSQL's global notification lock at every commit). Commits that happen while one
  NOTIFY is on its way are coalesced into the next one.
* ``Listener``: each replica holds one connection that ``LISTEN``s on the channel and calls
  ``on_wake`` after each burst of notifications, and every ``interval`` seconds anyway. A
  notification can be lost (the listener was reconnecting, a transaction that held the feed
  back rolled back and sent none): the periodic call turns that into latency, never into a
  missed event, because readers always ask the database what is visible.

The notification carries nothing: what changed is read from the feed itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg_pool import ConnectionPool

CHANNEL = "warroom_feed"

log = logging.getLogger("warroom.server.postgres")


class Notifier:
    """Coalesced ``NOTIFY`` after commits, from a thread of its own."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._pending = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="warroom-notify", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Something was committed: make sure a NOTIFY follows (never blocks)."""
        self._pending.set()

    def _run(self) -> None:
        while True:
            self._pending.wait()
            if self._stopping:
                return
            self._pending.clear()
            try:
                with self._pool.connection(timeout=5) as conn:
                    conn.execute(f"NOTIFY {CHANNEL}")
            except Exception as exc:  # noqa: BLE001 - the listeners' periodic re-check covers it
                log.debug("NOTIFY failed (the other replicas will notice within a second): %s", exc)

    def close(self) -> None:
        self._stopping = True
        self._pending.set()
        self._thread.join(10)


class Listener:
    """One ``LISTEN`` connection; ``on_wake()`` after notifications and every ``interval`` s."""

    def __init__(self, conninfo: str, on_wake: Callable[[], None], *, interval: float = 1.0) -> None:
        self._conninfo = conninfo
        self._on_wake = on_wake
        self.interval = interval
        self._stopping = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="warroom-listen", daemon=True)
        self._thread.start()

    def _connect(self) -> psycopg.Connection | None:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            conn.execute(f"LISTEN {CHANNEL}")
            return conn
        except psycopg.Error as exc:
            log.warning("cannot LISTEN for other replicas' events (retrying): %s", exc)
            return None

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
                if self._conn is None:
                    self._stopping.wait(self.interval)
                    self._wake()
                    continue
            try:
                woken = any(True for _ in self._conn.notifies(timeout=self.interval, stop_after=1))
                if woken:
                    # Take what else queued up meanwhile: one wake-up for the whole burst.
                    for _ in self._conn.notifies(timeout=0.001):
                        pass
            except psycopg.Error as exc:
                log.warning("lost the LISTEN connection (reconnecting): %s", exc)
                self._close_conn()
            if not self._stopping.is_set():
                self._wake()

    def _wake(self) -> None:
        try:
            self._on_wake()
        except Exception:  # noqa: BLE001 - keep listening whatever a wake-up hit
            log.exception("feed wake-up failed")

    def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(self.interval + 10)
        self._close_conn()
