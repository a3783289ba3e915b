"""The server's SQLite file: the events table (the audit log), every alert notification as
it arrived (``alert_deliveries``, also append-only) and the access tokens.

* WAL mode with ``synchronous=FULL``: a commit is on disk before a push is answered.
* ``events`` is append-only: triggers refuse UPDATE and DELETE, so not even a bug in this
  process can rewrite history. ``position`` (AUTOINCREMENT) is the feed order.
* ``UNIQUE(event_id)`` (a unique index) makes a re-pushed event a duplicate, never a second
  row. ``WARROOM_SERVER_UNSAFE_NO_DEDUPE=1`` leaves that index out; it exists only so the
  chaos test can prove it detects duplicates, and only works on a new data dir.
* One writer connection guarded by a lock (SQLite allows one writer anyway; the lock makes
  the order of positions the order of commits). Reads use their own connection: in WAL mode
  they never block the writer.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DB_FILE_NAME = "warroom-server.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    hlc         TEXT NOT NULL,
    at          TEXT NOT NULL,
    logged_at   TEXT NOT NULL,
    received_at TEXT NOT NULL,
    pushed_by   TEXT,
    event_json  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_incident ON events(incident_id, position);
CREATE TRIGGER IF NOT EXISTS events_are_never_updated BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the events table is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_are_never_deleted BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the events table is append-only'); END;
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    received_by TEXT,
    body_sha256 TEXT NOT NULL,
    body        BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS alert_deliveries_are_never_updated BEFORE UPDATE ON alert_deliveries
BEGIN SELECT RAISE(ABORT, 'alert deliveries are an audit log'); END;
CREATE TRIGGER IF NOT EXISTS alert_deliveries_are_never_deleted BEFORE DELETE ON alert_deliveries
BEGIN SELECT RAISE(ABORT, 'alert deliveries are an audit log'); END;
CREATE TABLE IF NOT EXISTS tokens (
    name       TEXT PRIMARY KEY,
    sha256     TEXT NOT NULL UNIQUE,
    admin      INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
"""
_UNIQUE_INDEX = "events_event_id_unique"
_PLAIN_INDEX = "events_event_id"


class StoreError(Exception):
    """The database could not be opened or written; the message says what to do."""


@dataclass(frozen=True)
class StoredEvent:
    """A row to insert (``position`` is assigned by SQLite)."""

    event_id: str
    incident_id: str
    kind: str
    actor: str
    hlc: str
    at: str
    logged_at: str
    received_at: str
    pushed_by: str | None
    event_json: str


@dataclass(frozen=True)
class TokenRecord:
    name: str
    sha256: str
    admin: bool
    created_at: str


BUSY_TIMEOUT_ENV = "WARROOM_SERVER_BUSY_TIMEOUT"
"""Seconds a write waits for the database lock (another process holding it: a backup, an
admin's sqlite3 shell) before the request is answered 503 and the sender retries. Default 30."""


def _busy_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get(BUSY_TIMEOUT_ENV, "30")))
    except ValueError:
        return 30.0


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a batch is one transaction.
    timeout = _busy_timeout()
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


class EventStore:
    """The SQLite file of one server data dir."""

    def __init__(self, path: Path, *, dedupe: bool | None = True) -> None:
        """``dedupe=None`` leaves the event-id index alone (token management only)."""
        self.path = path
        self.dedupe = dedupe
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        created = not path.exists()
        try:
            if created:
                # Create it private before SQLite writes anything (WAL/SHM files copy its mode).
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._writer = _connect(path)
            mode = self._writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{path}: SQLite refused WAL mode ({mode}); use a local disk")
            self._writer.executescript(_SCHEMA)
            self._prepare_event_id_index()
            self.db_id = self._meta_value("db_id", secrets.token_hex(8))
            self._reader = _connect(path)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the server database {path}: {exc}") from None
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()

    def _prepare_event_id_index(self) -> None:
        if self.dedupe is None:
            return
        indexes = {
            row[0]
            for row in self._writer.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
            )
        }
        if self.dedupe:
            self._writer.execute(
                f"CREATE UNIQUE INDEX IF NOT EXISTS {_UNIQUE_INDEX} ON events(event_id)"
            )
            return
        if _UNIQUE_INDEX in indexes:
            raise StoreError(
                f"{self.path} already enforces unique event ids; the unsafe no-dedupe mode "
                "only works on a new, empty data dir"
            )
        self._writer.execute(f"CREATE INDEX IF NOT EXISTS {_PLAIN_INDEX} ON events(event_id)")

    def _meta_value(self, key: str, default: str) -> str:
        self._writer.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (key, default))
        return self._writer.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def close(self) -> None:
        self._writer.close()
        self._reader.close()

    # --- events ----------------------------------------------------------------------------

    def append(self, rows: list[StoredEvent]) -> list[int]:
        """Insert the rows in one transaction (all or nothing); returns their positions."""
        if not rows:
            return []
        with self._write_lock:
            cur = self._writer.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                positions = []
                for row in rows:
                    cur.execute(
                        "INSERT INTO events(event_id, incident_id, kind, actor, hlc, at, "
                        "logged_at, received_at, pushed_by, event_json) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            row.event_id,
                            row.incident_id,
                            row.kind,
                            row.actor,
                            row.hlc,
                            row.at,
                            row.logged_at,
                            row.received_at,
                            row.pushed_by,
                            row.event_json,
                        ),
                    )
                    positions.append(cur.lastrowid)
                cur.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                raise StoreError(f"could not store the events: {exc}") from None
            finally:
                cur.close()
            return positions

    def last_position(self) -> int:
        with self._read_lock:
            row = self._reader.execute("SELECT MAX(position) FROM events").fetchone()
        return row[0] or 0

    def read_after(self, position: int, limit: int) -> list[tuple[int, str, str]]:
        """``(position, received_at, event_json)`` of up to ``limit`` rows after ``position``."""
        with self._read_lock:
            return self._reader.execute(
                "SELECT position, received_at, event_json FROM events "
                "WHERE position > ? ORDER BY position LIMIT ?",
                (position, limit),
            ).fetchall()

    def stored_event(self, event_id: str) -> tuple[int, str] | None:
        """``(position, event_json)`` of the first row with this event id."""
        with self._read_lock:
            return self._reader.execute(
                "SELECT position, event_json FROM events WHERE event_id = ? "
                "ORDER BY position LIMIT 1",
                (event_id,),
            ).fetchone()

    def iter_all(self) -> Iterator[tuple[int, str, str]]:
        """Every ``(position, received_at, event_json)``, in feed order (for rebuilding state)."""
        position = 0
        while True:
            rows = self.read_after(position, 5000)
            if not rows:
                return
            yield from rows
            position = rows[-1][0]

    def count(self) -> tuple[int, int]:
        """``(rows, distinct event ids)`` — equal unless dedupe was switched off."""
        with self._read_lock:
            return self._reader.execute(
                "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events"
            ).fetchone()

    # --- alert deliveries --------------------------------------------------------------------

    def record_delivery(self, received_at: str, received_by: str | None, body: bytes) -> int:
        """Keep a notification's body exactly as it arrived; returns its delivery number."""
        with self._write_lock:
            try:
                cursor = self._writer.execute(
                    "INSERT INTO alert_deliveries(received_at, received_by, body_sha256, body) VALUES (?, ?, ?, ?)",
                    (received_at, received_by, hashlib.sha256(body).hexdigest(), body),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"could not store the alert notification: {exc}") from None
            return int(cursor.lastrowid)

    def deliveries(self, after: int = 0, limit: int = 100) -> list[tuple[int, str, str | None, bytes]]:
        """``(id, received_at, received_by, body)`` of stored notifications, oldest first."""
        with self._read_lock:
            return self._reader.execute(
                "SELECT id, received_at, received_by, body FROM alert_deliveries WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()

    # --- tokens ----------------------------------------------------------------------------

    def add_token(self, record: TokenRecord) -> None:
        with self._write_lock:
            try:
                self._writer.execute(
                    "INSERT INTO tokens(name, sha256, admin, created_at) VALUES (?, ?, ?, ?)",
                    (record.name, record.sha256, int(record.admin), record.created_at),
                )
            except sqlite3.IntegrityError:
                raise StoreError(
                    f"a token named {record.name!r} already exists; revoke it first "
                    f"(warroom server token revoke {record.name!r})"
                ) from None

    def remove_token(self, name: str) -> bool:
        with self._write_lock:
            return self._writer.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount > 0

    def tokens(self) -> list[TokenRecord]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT name, sha256, admin, created_at FROM tokens ORDER BY name"
            ).fetchall()
        return [TokenRecord(name, digest, bool(admin), created) for name, digest, admin, created in rows]
