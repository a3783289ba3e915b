"""The default store: one SQLite file in the server's data dir, one server process. It holds
the events table (the audit log), every alert notification as it arrived
(``alert_deliveries``, also append-only), the access tokens, people's public signing keys and
the keys of sealed entry texts (``text_keys``: the one table rows leave, when a purge
shreds an entry).

* WAL mode with ``synchronous=FULL``: a commit is on disk before a push is answered.
* ``events`` is append-only: triggers refuse UPDATE and DELETE, so not even a bug in this
  process can rewrite history. ``position`` (AUTOINCREMENT) is the feed order and the mark.
* ``UNIQUE(event_id)`` (a unique index) makes a re-pushed event a duplicate, never a second
  row. ``WARROOM_SERVER_UNSAFE_NO_DEDUPE=1`` leaves that index out; it exists only so the
  chaos test can prove it detects duplicates, and only works on a new data dir.
* ``meta.tokens_version`` moves whenever the tokens table changes (triggers, so it also moves
  when ``warroom server token revoke`` runs in another process): the running server reads
  that one row on every request (a few microseconds) and reloads its tokens when it moved.
* One writer connection guarded by a lock (SQLite allows one writer anyway; the lock makes
  the order of positions the order of commits, so ``position > cursor`` never skips a row).
  Reads use their own connection: in WAL mode they never block the writer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from warroom.server.storage.base import (
    EventStore,
    FeedRow,
    KeyTaken,
    PublicKeyRecord,
    StoredEvent,
    StoreError,
    TokenRecord,
    WriteBatch,
    token_exists_error,
)

log = logging.getLogger("warroom.server")

DB_FILE_NAME = "warroom-server.sqlite3"

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS public_keys (
    key_id        TEXT PRIMARY KEY,
    user_name     TEXT NOT NULL,
    public_key    TEXT NOT NULL,
    registered_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS text_keys (
    event_id  TEXT PRIMARY KEY,
    key       TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('tokens_version', '0');
CREATE TRIGGER IF NOT EXISTS tokens_version_on_insert AFTER INSERT ON tokens
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version'; END;
CREATE TRIGGER IF NOT EXISTS tokens_version_on_delete AFTER DELETE ON tokens
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version'; END;
CREATE TRIGGER IF NOT EXISTS tokens_version_on_update AFTER UPDATE ON tokens
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_version'; END;
"""
# Columns added after the first release: added to an existing file on open.
_MIGRATIONS = (("tokens", "role", "ALTER TABLE tokens ADD COLUMN role TEXT"),)
_UNIQUE_INDEX = "events_event_id_unique"
_PLAIN_INDEX = "events_event_id"
EVENT_COLUMNS = (
    "event_id, incident_id, kind, actor, hlc, at, logged_at, received_at, pushed_by, event_json"
)
_INSERT = f"INSERT INTO events({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


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
    # A purged text key is overwritten on disk, not just unlinked from the table (rows leave
    # only text_keys and tokens, so this costs nothing elsewhere).
    conn.execute("PRAGMA secure_delete = ON")
    return conn


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def row_values(row: StoredEvent) -> tuple:
    return (
        row.event_id, row.incident_id, row.kind, row.actor, row.hlc, row.at, row.logged_at,
        row.received_at, row.pushed_by, row.event_json,
    )  # fmt: skip


class _SqliteBatch(WriteBatch):
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def newer_rows(self, seen: dict[str, int]) -> list[FeedRow]:
        return []  # this process is the only writer: the ledger has seen every row

    def stored(self, event_ids: list[str]) -> dict[str, tuple[int, str]]:
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for event_id, position, event_json in self._cursor.execute(
                f"SELECT event_id, position, event_json FROM events WHERE event_id IN ({marks}) "
                "ORDER BY position",
                chunk,
            ):
                found.setdefault(event_id, (position, event_json))
        return found

    def insert(self, rows: list[StoredEvent]) -> list[int]:
        positions = []
        for row in rows:
            self._cursor.execute(_INSERT, row_values(row))
            positions.append(self._cursor.lastrowid)
        return positions

    def put_text_keys(self, keys: dict[str, str], stored_at: str) -> None:
        self._cursor.executemany(
            "INSERT OR IGNORE INTO text_keys(event_id, key, stored_at) VALUES (?, ?, ?)",
            [(event_id, key, stored_at) for event_id, key in keys.items()],
        )

    def drop_text_keys(self, event_ids: list[str]) -> None:
        self._cursor.executemany("DELETE FROM text_keys WHERE event_id = ?", [(i,) for i in event_ids])


class SqliteStore(EventStore):
    """The SQLite file of one server data dir."""

    shared = False
    start = 0
    marks_are_positions = True
    tokens_version_is_local = True

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
            self._writer.executescript(SCHEMA)
            for table, column, statement in _MIGRATIONS:
                if column not in {row[1] for row in self._writer.execute(f"PRAGMA table_info({table})")}:
                    self._writer.execute(statement)
            self._prepare_event_id_index()
            self.db_id = self._meta_value("db_id", secrets.token_hex(8))
            self._reader = _connect(path)
            self._stamp = _connect(path)
            self._head = self._max_position()
            self._identity = _identity(path)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the server database {path}: {exc}") from None
        self._gone: str | None = None
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._stamp_lock = threading.Lock()

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

    def _max_position(self) -> int:
        return self._writer.execute("SELECT MAX(position) FROM events").fetchone()[0] or 0

    def describe(self) -> str:
        return str(self.path)

    def check(self) -> None:
        """Raise ``StoreError`` if the file this store opened is no longer at its path.

        SQLite keeps writing into a file that was deleted (or renamed, or replaced by a copy)
        while it is open: every push would be answered "accepted" into a file nobody will
        ever read. So each write and read first looks (one ``stat``), and once the file is
        gone the store refuses everything until the server is restarted."""
        if self._gone is None and _identity(self.path) != self._identity:
            self._gone = (
                f"the database file {self.path} was deleted or replaced while the server was "
                "running, so nothing more is accepted into it; put it back, or restart the "
                "server to open the file that is there now"
            )
            log.error("%s", self._gone)
        if self._gone is not None:
            raise StoreError(self._gone)

    def probe(self) -> None:
        self.tokens_version()  # one row read: a damaged file fails it, in microseconds

    @contextmanager
    def _using(self, lock: threading.Lock, doing: str) -> Iterator[None]:
        """Under ``lock``, with the file checked and SQLite's errors made ``StoreError``s (a
        damaged file says "database disk image is malformed": a 503, never a 500)."""
        with lock:
            self.check()
            try:
                yield
            except sqlite3.Error as exc:
                raise StoreError(f"could not {doing}: {exc}") from None

    def close(self) -> None:
        self._writer.close()
        self._reader.close()
        self._stamp.close()

    # --- writing ------------------------------------------------------------------------------

    @contextmanager
    def writing(self, incident_ids: Iterable[str] = ()) -> Iterator[WriteBatch]:
        with self._write_lock:
            self.check()
            cursor = self._writer.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                yield _SqliteBatch(cursor)
                cursor.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"could not store the events: {exc}") from None
            except BaseException:
                self._rollback()
                raise
            finally:
                cursor.close()
            # Moved only after the commit, so a feed read never hands out a cursor past it.
            try:
                self._head = max(self._head, self._max_position())
            except sqlite3.Error as exc:
                raise StoreError(f"could not read the newest position: {exc}") from None

    def _rollback(self) -> None:
        if self._writer.in_transaction:
            self._writer.execute("ROLLBACK")

    # --- the feed -----------------------------------------------------------------------------

    @property
    def head(self) -> int:
        return self._head

    def mark_text(self, mark: int) -> str:
        return str(mark)

    def parse_mark(self, text: str) -> int:
        if not text.isdigit():
            raise ValueError("not a position")
        return int(text)

    def is_foreign(self, mark: int) -> bool:
        # The head moves after the commit; a feed read sees the row as soon as it is
        # committed. Ask the database before calling a cursor from that window foreign.
        if mark <= self._head:
            return False
        with self._using(self._read_lock, "read the feed"):
            return mark > (self._reader.execute("SELECT MAX(position) FROM events").fetchone()[0] or 0)

    def read_feed(self, after: int, limit: int) -> list[FeedRow]:
        with self._using(self._read_lock, "read the feed"):
            rows = self._reader.execute(
                "SELECT position, incident_id, received_at, event_json FROM events "
                "WHERE position > ? ORDER BY position LIMIT ?",
                (after, limit),
            ).fetchall()
        return [FeedRow(position, position, incident, received, data) for position, incident, received, data in rows]

    # --- looking things up --------------------------------------------------------------------

    def stored_event(self, event_id: str) -> tuple[int, str] | None:
        with self._using(self._read_lock, "look up an event"):
            return self._reader.execute(
                "SELECT position, event_json FROM events WHERE event_id = ? "
                "ORDER BY position LIMIT 1",
                (event_id,),
            ).fetchone()

    def count(self) -> tuple[int, int]:
        with self._using(self._read_lock, "count the events"):
            return self._reader.execute(
                "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events"
            ).fetchone()

    def mark_at(self, position: int) -> int | None:
        return position if self.event_id_at(position) is not None else None

    def event_id_at(self, mark: int) -> str | None:
        with self._using(self._read_lock, "read the feed"):
            row = self._reader.execute("SELECT event_id FROM events WHERE position = ?", (mark,)).fetchone()
        return row[0] if row else None

    # --- keys ---------------------------------------------------------------------------------

    def text_keys(self, event_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._using(self._read_lock, "read the text keys"):
            for start in range(0, len(event_ids), 500):
                chunk = event_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(
                    self._reader.execute(f"SELECT event_id, key FROM text_keys WHERE event_id IN ({marks})", chunk)
                )
        return found

    def add_public_key(self, record: PublicKeyRecord) -> bool:
        with self._using(self._write_lock, "register the key"):
            row = self._writer.execute("SELECT user_name FROM public_keys WHERE key_id = ?", (record.key_id,)).fetchone()
            if row is not None:
                if row[0] != record.user:
                    raise KeyTaken(f"key {record.key_id} is registered to another user")
                return False
            try:
                self._writer.execute(
                    "INSERT INTO public_keys(key_id, user_name, public_key, registered_at) VALUES (?, ?, ?, ?)",
                    (record.key_id, record.user, record.public_key, record.registered_at),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"could not register the key: {exc}") from None
            return True

    def public_keys(self) -> list[PublicKeyRecord]:
        with self._using(self._read_lock, "read the keys"):
            rows = self._reader.execute(
                "SELECT user_name, key_id, public_key, registered_at FROM public_keys ORDER BY user_name, registered_at"
            ).fetchall()
        return [PublicKeyRecord(*row) for row in rows]

    # --- alert deliveries --------------------------------------------------------------------

    def record_delivery(self, received_at: str, received_by: str | None, body: bytes) -> int:
        """Keep a notification's body exactly as it arrived; returns its delivery number."""
        with self._write_lock:
            self.check()
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
        with self._using(self._read_lock, "read the alert notifications"):
            return self._reader.execute(
                "SELECT id, received_at, received_by, body FROM alert_deliveries WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()

    # --- tokens ----------------------------------------------------------------------------

    def add_token(self, record: TokenRecord) -> None:
        with self._using(self._write_lock, "add the token"):
            try:
                self._writer.execute(
                    "INSERT INTO tokens(name, sha256, admin, created_at, role) VALUES (?, ?, ?, ?, ?)",
                    (record.name, record.sha256, int(record.admin), record.created_at, record.scope),
                )
            except sqlite3.IntegrityError:
                raise token_exists_error(record.name) from None

    def remove_token(self, name: str) -> bool:
        with self._using(self._write_lock, "remove the token"):
            return self._writer.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount > 0

    def tokens_version(self) -> str:
        with self._using(self._stamp_lock, "read the tokens"):
            row = self._stamp.execute("SELECT value FROM meta WHERE key = 'tokens_version'").fetchone()
        return row[0] if row else ""

    def tokens(self) -> list[TokenRecord]:
        with self._using(self._read_lock, "read the tokens"):
            rows = self._reader.execute(
                "SELECT name, sha256, admin, created_at, role FROM tokens ORDER BY name"
            ).fetchall()
        return [
            TokenRecord(name, digest, bool(admin), created, role or "")
            for name, digest, admin, created, role in rows
        ]
