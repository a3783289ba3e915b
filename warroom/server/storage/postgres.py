"""The shared store: one PostgreSQL database behind several ``warroom server`` replicas.

The same guarantees as the SQLite store, for many writers:

* **Append-only.** A trigger raises on UPDATE, DELETE and TRUNCATE of ``events`` (and of
  ``alert_deliveries``, every alert notification as it arrived), and PUBLIC gets no grant
  for them; ``UNIQUE(event_id)`` keeps one row per event. The event is
  stored as text, exactly as first received, so every replica serves identical bytes.
* **Idempotent insert.** ``INSERT … ON CONFLICT (event_id) DO NOTHING RETURNING``; a row
  that comes back missing was stored meanwhile by someone the locks do not order (the same
  id under another incident): the batch is rolled back and judged again, and then the stored
  bytes decide: equal is a duplicate, different a conflict.
* **Per-incident rules across replicas.** A write takes ``pg_advisory_xact_lock`` on every
  incident of the batch in one stable order (so two batches never wait on each other in a
  circle) and only then reads what other replicas stored for them (``newer_rows``).
  Because every writer of an incident holds its lock, that incident's rows get their ``seq``
  and ``txid`` in commit order.
* **A feed that never skips.** Sequence numbers from concurrent writers commit out of order,
  so "``seq`` > cursor" would skip a row that commits late. Each row stores the writing
  transaction's id (``pg_current_xact_id()``, an ``xid8``); a read serves only rows of
  transactions older than every transaction still running
  (``txid < pg_snapshot_xmin(pg_current_snapshot())``), in ``(epoch, txid, seq)`` order —
  compared as numbers, never as text ('10' < '9'). Whatever becomes visible later sorts after
  everything served before. A long transaction delays the feed; it cannot make it skip.
* **Epoch.** Transaction ids belong to one cluster: after a dump and restore into another
  they start low again. At start (and whenever a write sees its own txid below one it saw
  before) the store compares the current txid with the newest stored one and, if the
  counter went back, moves to the next epoch, so new rows still sort after old ones.
* **Cursors.** The mark ``(epoch, txid, seq)`` of the last row served. A mark naming no
  stored row is foreign (another history: a restore, a failover that lost the end): 410.
* **Keys.** ``public_keys`` (people's signing keys) and ``text_keys`` (the keys of sealed
  entry texts): the one table rows leave, when a purge shreds an entry.

``WARROOM_SERVER_UNSAFE_NAIVE_FEED=1`` (tests only) serves ``seq > cursor`` instead, to show
that the chaos test catches the skipped rows.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from warroom.server.storage.pg_pool import RecentlyGood

from warroom.server.storage.base import (
    EventStore,
    FeedRow,
    KeyTaken,
    PublicKeyRecord,
    RaceLost,
    StoredEvent,
    StoreError,
    TokenRecord,
    WriteBatch,
    token_exists_error,
)
from warroom.server.storage.pg_wakeups import Listener, Notifier
from warroom.server.storage.sqlite import row_values

log = logging.getLogger("warroom.server.postgres")

SCHEMA_VERSION = "2"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    epoch       integer NOT NULL,
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id    text NOT NULL,
    incident_id text NOT NULL,
    kind        text NOT NULL,
    actor       text NOT NULL,
    hlc         text NOT NULL,
    at          text NOT NULL,
    logged_at   text NOT NULL,
    received_at text NOT NULL,
    pushed_by   text,
    event_json  text NOT NULL,
    CONSTRAINT events_event_id_unique UNIQUE (event_id)
);
CREATE INDEX IF NOT EXISTS events_feed_order ON events (epoch, txid, seq);
CREATE INDEX IF NOT EXISTS events_by_incident ON events (incident_id, seq);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at text NOT NULL,
    received_by text,
    body_sha256 text NOT NULL,
    body        bytea NOT NULL
);
CREATE OR REPLACE FUNCTION audit_rows_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the % table is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END $$;
CREATE OR REPLACE TRIGGER events_are_never_changed BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION audit_rows_are_append_only();
CREATE OR REPLACE TRIGGER events_are_never_truncated BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows_are_append_only();
CREATE OR REPLACE TRIGGER alert_deliveries_are_never_changed BEFORE UPDATE OR DELETE ON alert_deliveries
    FOR EACH ROW EXECUTE FUNCTION audit_rows_are_append_only();
CREATE OR REPLACE TRIGGER alert_deliveries_are_never_truncated BEFORE TRUNCATE ON alert_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows_are_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON events, alert_deliveries FROM PUBLIC;
CREATE TABLE IF NOT EXISTS tokens (
    name       text PRIMARY KEY,
    sha256     text NOT NULL UNIQUE,
    admin      boolean NOT NULL DEFAULT false,
    created_at text NOT NULL
);
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS role text;
CREATE TABLE IF NOT EXISTS public_keys (
    key_id        text PRIMARY KEY,
    user_name     text NOT NULL,
    public_key    text NOT NULL,
    registered_at text NOT NULL
);
CREATE TABLE IF NOT EXISTS text_keys (
    event_id  text PRIMARY KEY,
    key       text NOT NULL,
    stored_at text NOT NULL
);
"""
EVENT_COLUMNS = (
    "event_id, incident_id, kind, actor, hlc, at, logged_at, received_at, pushed_by, event_json"
)
_INSERT = (
    f"INSERT INTO events (epoch, {EVENT_COLUMNS}) VALUES ("
    + ", ".join(["%s"] * (1 + len(EVENT_COLUMNS.split(", "))))
    + ") ON CONFLICT (event_id) DO NOTHING RETURNING event_id, seq"
)
_CURRENT_EPOCH = "(SELECT value::integer FROM meta WHERE key = 'epoch')"
_VISIBLE = f"(epoch < {_CURRENT_EPOCH} OR txid < pg_snapshot_xmin(pg_current_snapshot()))"
_ROW = "epoch, txid::text::bigint, seq, incident_id, received_at, event_json"
_FEED = f"""
SELECT {_ROW} FROM events
WHERE (epoch, txid, seq) > (%s, %s::text::xid8, %s) AND {_VISIBLE}
ORDER BY epoch, txid, seq LIMIT %s
"""
_HEAD = f"""
SELECT epoch, txid::text::bigint, seq FROM events WHERE {_VISIBLE}
ORDER BY epoch DESC, txid DESC, seq DESC LIMIT 1
"""
# What the feed must never do, kept for the test that proves the chaos test would notice.
_NAIVE_FEED = f"SELECT {_ROW} FROM events WHERE seq > %s ORDER BY seq LIMIT %s"
_NAIVE_HEAD = "SELECT 0, 0, seq FROM events ORDER BY seq DESC LIMIT 1"
_TOKENS_FINGERPRINT = "SELECT count(*) || ':' || coalesce(sum(hashtext(concat_ws(':', name, sha256, admin, role))), 0) FROM tokens"
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name`` (the same in every replica)."""
    return int.from_bytes(hashlib.sha256(f"warroom:{name}".encode()).digest()[:8], "big", signed=True)


_SETUP_LOCK = lock_key("setup")


def redact_url(url: str) -> str:
    """The URL without its password, for banners and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


def _feed_row(epoch: int, txid: int, seq: int, incident: str, received: str, data: str) -> FeedRow:
    return FeedRow((epoch, txid, seq), seq, incident, received, data)


class _PgBatch(WriteBatch):
    def __init__(self, store: "PostgresStore", conn: psycopg.Connection) -> None:
        self._store = store
        self._conn = conn

    def newer_rows(self, seen: dict[str, int]) -> list[FeedRow]:
        if not seen:
            return []
        incidents = list(seen)
        rows = self._conn.execute(
            f"SELECT {_ROW} FROM events e "
            "JOIN unnest(%s::text[], %s::bigint[]) AS s(incident_id, after) USING (incident_id) "
            "WHERE e.seq > s.after ORDER BY e.seq",
            (incidents, [seen[i] for i in incidents]),
        ).fetchall()
        return [_feed_row(*row) for row in rows]

    def stored(self, event_ids: list[str]) -> dict[str, tuple[int, str]]:
        if not event_ids:
            return {}
        rows = self._conn.execute(
            "SELECT event_id, seq, event_json FROM events WHERE event_id = ANY(%s)", (event_ids,)
        ).fetchall()
        return {event_id: (seq, data) for event_id, seq, data in rows}

    def insert(self, rows: list[StoredEvent]) -> list[int]:
        if not rows:
            return []
        # One prepared INSERT per row, pipelined: one round trip, seq taken in this order.
        epoch = self._store.epoch
        returned: dict[str, int] = {}
        with self._conn.cursor() as cursor:
            cursor.executemany(_INSERT, [(epoch, *row_values(r)) for r in rows], returning=True)
            while True:
                found = cursor.fetchone()
                if found is not None:
                    returned[found[0]] = found[1]
                if not cursor.nextset():
                    break
        if len(returned) != len(rows):
            raise RaceLost("an event id of this batch was stored meanwhile by another writer")
        return [returned[r.event_id] for r in rows]

    def put_text_keys(self, keys: dict[str, str], stored_at: str) -> None:
        if keys:
            self._conn.execute(
                "INSERT INTO text_keys SELECT k, v, %s FROM unnest(%s::text[], %s::text[]) AS t(k, v) "
                "ON CONFLICT (event_id) DO NOTHING",
                (stored_at, list(keys), list(keys.values())),
            )

    def drop_text_keys(self, event_ids: list[str]) -> None:
        if event_ids:
            self._conn.execute("DELETE FROM text_keys WHERE event_id = ANY(%s)", (event_ids,))


class PostgresStore(EventStore):
    """One replica's view of the shared database (a connection pool plus one LISTEN)."""

    shared = True
    start = (0, 0, 0)

    def __init__(
        self, url: str, *, dedupe: bool | None = True, naive_feed: bool = False, pool_size: int = 10
    ) -> None:
        if dedupe is False:
            raise StoreError(
                "the unsafe no-dedupe test mode exists only for the SQLite store; PostgreSQL "
                "always keeps event ids unique"
            )
        self.url = url
        self.dedupe = dedupe
        self.naive_feed = naive_feed
        self._listener: Listener | None = None
        self._head = self.start
        try:
            # One plain connection first: a wrong URL fails now, with libpq's reason, instead
            # of after the pool's retries.
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {redact_url(url)}: {_reason(exc)}") from None
        try:
            fresh = RecentlyGood()  # no round trip to check a connection that just worked
            # timeout: how long a request waits for a connection (all busy, or the database
            # away) before it answers 503 and the client retries.
            self._pool = ConnectionPool(
                url, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, check=fresh.check,
                reset=fresh.returned, timeout=3, name="warroom", open=False,
            )  # fmt: skip
            self._pool.open(wait=True, timeout=10)
        except (PoolTimeout, psycopg.Error) as exc:
            self._pool.close()
            raise StoreError(f"cannot connect to {redact_url(url)}: {_reason(exc)}") from None
        try:
            self._setup()
            self._head = self.refresh_head()
        except BaseException:
            self._pool.close()
            raise
        self._notifier = Notifier(self._pool)

    # --- setup: schema, identity, epoch -------------------------------------------------------

    def _setup(self) -> None:
        """Create what is missing (once, under a lock: replicas may start together), read the
        database's id and move to a new epoch if the transaction counter went back."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SETUP_LOCK,))
                if not self._schema_is_current(conn):
                    conn.execute(SCHEMA)
                    conn.execute(
                        "INSERT INTO meta VALUES ('schema_version', %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        (SCHEMA_VERSION,),
                    )
                conn.execute(
                    "INSERT INTO meta VALUES ('db_id', %s), ('epoch', '1') ON CONFLICT (key) DO NOTHING",
                    (secrets.token_hex(8),),
                )
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                epoch = int(meta["epoch"])
                newest = conn.execute(
                    "SELECT txid::text::bigint FROM events WHERE epoch = %s ORDER BY txid DESC LIMIT 1",
                    (epoch,),
                ).fetchone()
                current = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0]
                if newest is not None and newest[0] >= current:
                    epoch += 1
                    log.warning(
                        "the transaction counter went back (%s after %s): this database was "
                        "restored into another cluster; new events start epoch %s",
                        current, newest[0], epoch,
                    )  # fmt: skip
                    conn.execute("UPDATE meta SET value = %s WHERE key = 'epoch'", (str(epoch),))
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"cannot prepare {redact_url(self.url)}: {_reason(exc)}") from None
        self.db_id = meta["db_id"]
        self.epoch = epoch
        self._txid_floor = current

    @staticmethod
    def _schema_is_current(conn: psycopg.Connection) -> bool:
        if conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0] is False:
            return False
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return row is not None and row[0] == SCHEMA_VERSION

    def describe(self) -> str:
        return redact_url(self.url)

    @contextmanager
    def _connection(self, doing: str) -> Iterator[psycopg.Connection]:
        """A pooled connection; any database trouble becomes a ``StoreError`` (a 503)."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"could not {doing}: {_reason(exc)}") from None

    def close(self) -> None:
        self.unwatch()
        self._notifier.close()
        self._pool.close()

    # --- writing ------------------------------------------------------------------------------

    @contextmanager
    def writing(self, incident_ids: Iterable[str] = ()) -> Iterator[WriteBatch]:
        keys = sorted({lock_key(f"incident:{i}") for i in incident_ids})
        try:
            with self._pool.connection() as conn:
                with conn.transaction():
                    with conn.pipeline():
                        for key in keys:  # one stable order in every replica: no lock cycles
                            conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
                        txid_cursor = conn.execute("SELECT pg_current_xact_id()::text::bigint")
                    txid = txid_cursor.fetchone()[0]
                    if txid < self._txid_floor:
                        raise _DatabaseReplaced(txid)
                    yield _PgBatch(self, conn)
        except _DatabaseReplaced as exc:
            # Our own transaction ids only grow: a smaller one means the URL now leads to a
            # restored copy in another cluster. Re-read it (a new epoch) and judge again.
            log.warning("transaction id %s is below %s: the database was replaced", exc.args[0], self._txid_floor)
            self._setup()
            raise RaceLost("the database was replaced underneath this replica") from None
        except _RETRYABLE as exc:
            raise RaceLost(f"lost a race with another replica: {_reason(exc)}") from None
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"could not store the events: {_reason(exc)}") from None
        self._txid_floor = max(self._txid_floor, txid)
        self._notifier.poke()

    # --- the feed -----------------------------------------------------------------------------

    @property
    def head(self) -> tuple[int, int, int]:
        return self._head

    def refresh_head(self) -> tuple[int, int, int]:
        with self._connection("read the feed") as conn:
            row = conn.execute(_NAIVE_HEAD if self.naive_feed else _HEAD).fetchone()
        head = tuple(row) if row else self.start
        self._head = max(self._head, head)
        return self._head

    def mark_text(self, mark: tuple[int, int, int]) -> str:
        return ".".join(str(part) for part in mark)

    def parse_mark(self, text: str) -> tuple[int, int, int]:
        parts = text.split(".")
        if len(parts) != 3 or not all(p.isdigit() and len(p) <= 20 for p in parts):
            raise ValueError("not a feed mark")
        epoch, txid, seq = (int(p) for p in parts)
        if epoch >= 2**31 or txid >= 2**63 or seq >= 2**63:
            raise ValueError("not a feed mark")
        return epoch, txid, seq

    def is_foreign(self, mark: tuple[int, int, int]) -> bool:
        if mark == self.start:
            return False
        epoch, txid, seq = mark
        with self._connection("read the feed") as conn:
            if self.naive_feed:
                row = conn.execute("SELECT 1 FROM events WHERE seq = %s", (seq,)).fetchone()
            else:
                row = conn.execute(
                    "SELECT 1 FROM events WHERE seq = %s AND epoch = %s AND txid = %s::text::xid8",
                    (seq, epoch, str(txid)),
                ).fetchone()
        return row is None

    def read_feed(self, after: tuple[int, int, int], limit: int) -> list[FeedRow]:
        epoch, txid, seq = after
        with self._connection("read the feed") as conn:
            if self.naive_feed:
                rows = conn.execute(_NAIVE_FEED, (seq, limit)).fetchall()
                return [FeedRow((0, 0, r[2]), r[2], *r[3:]) for r in rows]
            rows = conn.execute(_FEED, (epoch, str(txid), seq, limit)).fetchall()
        return [_feed_row(*row) for row in rows]

    def watch(self, on_change) -> None:
        def woken() -> None:
            before = self._head
            try:
                after = self.refresh_head()
            except StoreError as exc:
                log.debug("feed head not refreshed: %s", exc)
                return
            if after != before:
                on_change()

        if self._listener is None:
            self._listener = Listener(self.url, woken)

    def unwatch(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    # --- looking things up --------------------------------------------------------------------

    def stored_event(self, event_id: str) -> tuple[int, str] | None:
        with self._connection("look the event up") as conn:
            row = conn.execute("SELECT seq, event_json FROM events WHERE event_id = %s", (event_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def stored_events(self, event_ids: list[str]) -> dict[str, tuple[int, str]]:
        with self._connection("look the events up") as conn:
            return _PgBatch(self, conn).stored(event_ids)

    def count(self) -> tuple[int, int]:
        with self._connection("count the events") as conn:
            return tuple(conn.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone())

    def mark_at(self, position: int) -> tuple[int, int, int] | None:
        with self._connection("look the event up") as conn:
            row = conn.execute("SELECT epoch, txid::text::bigint, seq FROM events WHERE seq = %s", (position,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def event_id_at(self, mark: tuple[int, int, int]) -> str | None:
        with self._connection("look the event up") as conn:
            row = conn.execute("SELECT event_id FROM events WHERE seq = %s", (mark[2],)).fetchone()
        return row[0] if row else None

    # --- keys ---------------------------------------------------------------------------------

    def text_keys(self, event_ids: list[str]) -> dict[str, str]:
        if not event_ids:
            return {}
        with self._connection("read the text keys") as conn:
            return dict(conn.execute("SELECT event_id, key FROM text_keys WHERE event_id = ANY(%s)", (event_ids,)).fetchall())

    def add_public_key(self, record: PublicKeyRecord) -> bool:
        with self._connection("register the key") as conn:
            added = conn.execute(
                "INSERT INTO public_keys VALUES (%s, %s, %s, %s) ON CONFLICT (key_id) DO NOTHING",
                (record.key_id, record.user, record.public_key, record.registered_at),
            ).rowcount
            if added:
                return True
            owner = conn.execute("SELECT user_name FROM public_keys WHERE key_id = %s", (record.key_id,)).fetchone()
        if owner is not None and owner[0] != record.user:
            raise KeyTaken(f"key {record.key_id} is registered to another user")
        return False

    def public_keys(self) -> list[PublicKeyRecord]:
        with self._connection("read the public keys") as conn:
            rows = conn.execute(
                "SELECT user_name, key_id, public_key, registered_at FROM public_keys ORDER BY user_name, registered_at"
            ).fetchall()
        return [PublicKeyRecord(*row) for row in rows]

    # --- alert deliveries ---------------------------------------------------------------------

    def record_delivery(self, received_at: str, received_by: str | None, body: bytes) -> int:
        with self._connection("store the alert notification") as conn:
            return conn.execute(
                "INSERT INTO alert_deliveries(received_at, received_by, body_sha256, body) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (received_at, received_by, hashlib.sha256(body).hexdigest(), body),
            ).fetchone()[0]

    def deliveries(self, after: int = 0, limit: int = 100) -> list[tuple[int, str, str | None, bytes]]:
        with self._connection("read the alert notifications") as conn:
            rows = conn.execute(
                "SELECT id, received_at, received_by, body FROM alert_deliveries WHERE id > %s "
                "ORDER BY id LIMIT %s",
                (after, limit),
            ).fetchall()
        return [(n, received, by, bytes(body)) for n, received, by, body in rows]

    # --- tokens -------------------------------------------------------------------------------

    def add_token(self, record: TokenRecord) -> None:
        with self._connection("store the token") as conn:
            try:
                conn.execute(
                    "INSERT INTO tokens(name, sha256, admin, created_at, role) VALUES (%s, %s, %s, %s, %s)",
                    (record.name, record.sha256, record.admin, record.created_at, record.scope),
                )
            except pg_errors.UniqueViolation:
                raise token_exists_error(record.name) from None

    def remove_token(self, name: str) -> bool:
        with self._connection("revoke the token") as conn:
            return conn.execute("DELETE FROM tokens WHERE name = %s", (name,)).rowcount > 0

    def tokens_version(self) -> str:  # a fingerprint of the table; asked from a worker thread
        with self._connection("read the tokens") as conn:
            return conn.execute(_TOKENS_FINGERPRINT).fetchone()[0]

    def tokens(self) -> list[TokenRecord]:
        with self._connection("read the tokens") as conn:
            rows = conn.execute("SELECT name, sha256, admin, created_at, role FROM tokens ORDER BY name").fetchall()
        return [TokenRecord(name, digest, admin, created, role or "") for name, digest, admin, created, role in rows]


class _DatabaseReplaced(Exception):
    """Internal: a write saw its transaction id below one this replica saw before."""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
