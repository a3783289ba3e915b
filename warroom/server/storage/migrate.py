"""Copy a SQLite server database into PostgreSQL: ``warroom server migrate``.

* Events are copied in position order, exactly as stored (the event text, ``received_at``,
  who pushed it), through the PostgreSQL store's own write path: the same per-incident
  locks, ``UNIQUE(event_id)`` and wake-ups as a push, so replicas may already be running.
* Tokens are copied as their hashes; a name the target already has keeps the target's token
  (and is reported). Alert notifications as they arrived (the ``alert_deliveries`` audit
  log) are copied too, in order, each once.
* Safe to re-run: what the target already has is skipped, so a second run after the SQLite
  server took more events (or after an interrupted run) copies only the rest.
* Then it verifies: every source event is in the target with the same bytes (counts, plus a
  SHA-256 over ``event_id`` and event text in id order, computed on both sides).

Clients keep their journals and their cursors: a SQLite cursor names another database, so
their first feed request answers 410, they read the new feed from the start and re-push
(every re-pushed event is a duplicate).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from warroom.server.storage.base import PublicKeyRecord, RaceLost, StoredEvent, StoreError, TokenRecord
from warroom.server.storage.sqlite import DB_FILE_NAME, EVENT_COLUMNS

CHUNK = 1000


@dataclass
class MigrationReport:
    source_events: int = 0
    copied: int = 0
    already_there: int = 0
    tokens_copied: int = 0
    tokens_kept: list[str] = field(default_factory=list)
    deliveries_copied: int = 0
    deliveries_there: int = 0
    mismatched: list[str] = field(default_factory=list)
    """Event ids stored in both with different content (the target's copy is kept)."""
    missing: int = 0
    source_hash: str = ""
    target_hash: str = ""

    @property
    def verified(self) -> bool:
        return not self.mismatched and self.missing == 0 and self.source_hash == self.target_hash

    def lines(self) -> list[str]:
        out = [
            f"events: {self.source_events} in the source; copied {self.copied}, "
            f"{self.already_there} were already there",
            f"tokens: copied {self.tokens_copied}"
            + (f"; kept the target's own for {', '.join(self.tokens_kept)}" if self.tokens_kept else ""),
            f"alert notifications: copied {self.deliveries_copied}, {self.deliveries_there} were already there",
            f"sha256 of the source events: {self.source_hash}",
            f"sha256 of the same ids in the target: {self.target_hash}",
        ]
        if self.mismatched:
            shown = ", ".join(self.mismatched[:5])
            out.append(f"{len(self.mismatched)} event id(s) differ between source and target: {shown}")
        if self.missing:
            out.append(f"{self.missing} source event(s) are missing from the target")
        out.append("verified: counts and hash match" if self.verified else "NOT verified (see above)")
        return out


def sqlite_source(spec: str) -> Path:
    """``sqlite:PATH`` → the SQLite file (PATH may be the server's data dir)."""
    if not spec.startswith("sqlite:"):
        raise StoreError(f"--from takes sqlite:PATH (a server data dir or its {DB_FILE_NAME}), not {spec!r}")
    path = Path(spec.removeprefix("sqlite:")).expanduser()
    if path.is_dir():
        path = path / DB_FILE_NAME
    if not path.is_file():
        raise StoreError(f"no SQLite server database at {path}")
    return path


def _open_source(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.execute("SELECT 1 FROM events LIMIT 1")
        return conn
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {path}: {exc}") from None


def _source_rows(conn: sqlite3.Connection) -> Iterator[list[StoredEvent]]:
    """Chunks of source rows in position order, each id once (its first row)."""
    position = 0
    seen: set[str] = set()
    while True:
        rows = conn.execute(
            f"SELECT position, {EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (position, CHUNK),
        ).fetchall()
        if not rows:
            return
        position = rows[-1][0]
        chunk = []
        for row in rows:
            if row[1] not in seen:  # a source made in the unsafe no-dedupe test mode
                seen.add(row[1])
                chunk.append(StoredEvent(*row[1:]))
        yield chunk


def migrate(source: Path, target, *, report: MigrationReport | None = None) -> MigrationReport:
    """Copy ``source`` (a SQLite file) into ``target`` (an open PostgresStore) and verify."""
    report = report or MigrationReport()
    conn = _open_source(source)
    try:
        _copy_tokens(conn, target, report)
        _copy_keys(conn, target)
        _copy_deliveries(conn, target, report)
        for chunk in _source_rows(conn):
            report.source_events += len(chunk)
            _copy_chunk(chunk, target, report)
        _verify(conn, target, report)
    finally:
        conn.close()
    return report


def _copy_tokens(conn: sqlite3.Connection, target, report: MigrationReport) -> None:
    theirs = {t.name: t for t in target.tokens()}
    columns = {row[1] for row in conn.execute("PRAGMA table_info(tokens)")}
    role = "role" if "role" in columns else "''"  # a database from before token roles
    for name, digest, admin, created, scope in conn.execute(
        f"SELECT name, sha256, admin, created_at, {role} FROM tokens ORDER BY name"
    ):
        if name in theirs:
            if theirs[name].sha256 != digest:
                report.tokens_kept.append(name)
            continue
        try:
            target.add_token(TokenRecord(name, digest, bool(admin), created, scope or ""))
            report.tokens_copied += 1
        except StoreError:
            report.tokens_kept.append(name)  # another token hash or name clash: keep theirs


def _copy_keys(conn: sqlite3.Connection, target) -> None:
    """People's public keys, and the keys of sealed texts (one the target has stays)."""
    try:
        public = conn.execute("SELECT user_name, key_id, public_key, registered_at FROM public_keys").fetchall()
        text = conn.execute("SELECT event_id, key, stored_at FROM text_keys ORDER BY event_id").fetchall()
    except sqlite3.OperationalError:
        return  # a database from before signing keys and sealed text
    for row in public:
        try:
            target.add_public_key(PublicKeyRecord(*row))
        except StoreError:
            continue  # the target has that key for someone else: keep the target's
    for start in range(0, len(text), CHUNK):
        chunk = text[start : start + CHUNK]
        with target.writing([]) as batch:
            for stored_at in {row[2] for row in chunk}:
                batch.put_text_keys({e: k for e, k, at in chunk if at == stored_at}, stored_at)


def _copy_deliveries(conn: sqlite3.Connection, target, report: MigrationReport) -> None:
    """The alert notifications as they arrived, in order; one already in the target (same
    time, sender and body) is not copied again."""
    try:
        cursor = conn.execute("SELECT received_at, received_by, body FROM alert_deliveries ORDER BY id")
    except sqlite3.OperationalError:
        return  # a database from before alert notifications were kept
    there: set[tuple[str, str | None, str]] = set()
    after = 0
    while page := target.deliveries(after, 1000):
        there.update((received, by, hashlib.sha256(body).hexdigest()) for _, received, by, body in page)
        after = page[-1][0]
    while rows := cursor.fetchmany(CHUNK):
        for received_at, received_by, body in rows:
            key = (received_at, received_by, hashlib.sha256(body).hexdigest())
            if key in there:
                report.deliveries_there += 1
                continue
            target.record_delivery(received_at, received_by, bytes(body))
            there.add(key)
            report.deliveries_copied += 1


def _copy_chunk(chunk: list[StoredEvent], target, report: MigrationReport) -> None:
    for _attempt in range(5):
        try:
            with target.writing({row.incident_id for row in chunk}) as batch:
                stored = batch.stored([row.event_id for row in chunk])
                fresh = [row for row in chunk if row.event_id not in stored]
                batch.insert(fresh)
        except RaceLost:
            continue
        report.copied += len(fresh)
        report.already_there += len(chunk) - len(fresh)
        return
    raise StoreError("the target database stayed too busy; run the migration again")


def _verify(conn: sqlite3.Connection, target, report: MigrationReport) -> None:
    source_hash = hashlib.sha256()
    target_hash = hashlib.sha256()
    cursor = conn.execute(
        "SELECT event_id, event_json FROM events WHERE position IN "
        "(SELECT MIN(position) FROM events GROUP BY event_id) ORDER BY event_id"
    )
    while rows := cursor.fetchmany(CHUNK):
        theirs = target.stored_events([event_id for event_id, _ in rows])
        for event_id, event_json in rows:
            source_hash.update(f"{event_id}\0{event_json}\n".encode())
            if event_id not in theirs:
                report.missing += 1
                continue
            their_json = theirs[event_id][1]
            target_hash.update(f"{event_id}\0{their_json}\n".encode())
            if their_json != event_json:
                report.mismatched.append(event_id)
    report.source_hash = source_hash.hexdigest()
    report.target_hash = target_hash.hexdigest()
