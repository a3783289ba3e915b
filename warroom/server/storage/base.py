"""What the ledger, the feed and the alert intake need from the server's database, whichever
database it is.

Two implementations keep the same guarantees behind this interface:

* ``SqliteStore`` (``storage/sqlite.py``): one file, one server process, the default;
* ``PostgresStore`` (``storage/postgres.py``): one PostgreSQL database shared by several
  server replicas behind a load balancer.

**Feed marks.** Each store orders its feed by a *mark*: SQLite by the row's position,
PostgreSQL by ``(epoch, txid, seq)``. Marks of one store compare with ``<``/``==`` (ints or
tuples), ``mark_text``/``parse_mark`` turn them into the inner part of the opaque cursor, and
``read_feed(after)`` never skips or repeats a row for any mark it has handed out, even while
other processes commit out of order.

**Writes.** ``writing(incident_ids)`` is one transaction: the ledger judges a batch inside it,
after the store has serialised it against every other writer of those incidents (SQLite: the
single writer lock; PostgreSQL: advisory locks taken in a stable order). ``newer_rows`` then
hands the ledger what other processes committed to those incidents since it last looked, so
rules that read incident state (IC-only resolve, one declaration) see the truth. A batch that
loses a race it cannot see coming (an event id stored meanwhile under another incident, a
deadlock victim) raises ``RaceLost``: nothing was stored, and the ledger judges it again.

**Keys.** Beside the events each store keeps the public signing keys registered with
people's tokens and the keys of sealed entry texts. The text keys are the one thing a store
deletes: a purge removes an entry's keys (crypto-shredding), so its text can no longer be
read anywhere while the events table stays append-only. Keys that come with a push are
written in the batch's transaction (``WriteBatch.put_text_keys``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

Mark = Any
"""A store's feed order key: ``int`` (SQLite) or ``tuple[int, int, int]`` (PostgreSQL)."""


class StoreError(Exception):
    """The database could not be opened or written; the message says what to do."""


class RaceLost(StoreError):
    """A concurrent writer got in first in a way the locks cannot order (an event id stored
    meanwhile under another incident, a deadlock victim). Nothing was stored: judge again."""


@dataclass(frozen=True)
class StoredEvent:
    """A row to insert (its position is assigned by the database)."""

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
    role: str = ""
    """``user``, ``admin`` or ``intake`` (empty in databases from before roles: from ``admin``)."""

    @property
    def scope(self) -> str:
        return self.role or ("admin" if self.admin else "user")


@dataclass(frozen=True)
class PublicKeyRecord:
    """A person's public signing key, registered with their token."""

    user: str
    key_id: str
    public_key: str
    registered_at: str


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One stored event as the feed serves it."""

    mark: Mark
    """Where a cursor taken after this row points."""
    position: int
    """The row's number (SQLite position, PostgreSQL seq): informational for clients, and
    the per-incident order the ledger catches up in."""
    incident_id: str
    received_at: str
    event_json: str
    """Exactly the stored text, so every replica serves byte-identical events."""


class WriteBatch(ABC):
    """One write transaction, opened by ``EventStore.writing``."""

    @abstractmethod
    def newer_rows(self, seen: dict[str, int]) -> list[FeedRow]:
        """Rows of these incidents stored by *other* processes with a position above
        ``seen[incident]``, in position order. Always empty for a single-process store."""

    @abstractmethod
    def stored(self, event_ids: list[str]) -> dict[str, tuple[int, str]]:
        """``{event_id: (position, event_json)}`` of the ids already stored."""

    @abstractmethod
    def insert(self, rows: list[StoredEvent]) -> list[int]:
        """Insert the rows; returns their positions. Raises ``RaceLost`` when one of the ids
        was stored by someone else after ``stored`` looked."""

    @abstractmethod
    def put_text_keys(self, keys: dict[str, str], stored_at: str) -> None:
        """Keep these sealed-text keys (event id → base64 key); one already kept stays."""

    @abstractmethod
    def drop_text_keys(self, event_ids: list[str]) -> None:
        """Destroy these events' text keys (a purge)."""


class EventStore(ABC):
    """The server's database: the append-only events table (the audit log) and the tokens."""

    db_id: str
    """Names this database; a cursor carrying another id answers 410."""
    dedupe: bool | None
    shared: bool = False
    """True when other processes write to the same database (several replicas)."""
    start: Mark
    """The mark before the first row."""
    marks_are_positions: bool = False
    """True when a row's mark is its position and this process writes every row (SQLite):
    the feed may then serve what the ledger just stored from memory."""

    # --- writing ------------------------------------------------------------------------------

    @abstractmethod
    def writing(self, incident_ids: Iterable[str]) -> AbstractContextManager[WriteBatch]:
        """A transaction serialised against every writer of ``incident_ids``; commits when the
        block ends normally. Raises ``StoreError`` (nothing stored) or ``RaceLost``."""

    # --- the feed -----------------------------------------------------------------------------

    @abstractmethod
    def read_feed(self, after: Mark, limit: int) -> list[FeedRow]:
        """Up to ``limit`` rows after ``after``, in feed order."""

    @property
    @abstractmethod
    def head(self) -> Mark:
        """The newest mark a feed read may return, as last seen (cheap: no query)."""

    def refresh_head(self) -> Mark:
        """Ask the database for ``head`` again (only a shared store needs to)."""
        return self.head

    @abstractmethod
    def mark_text(self, mark: Mark) -> str: ...

    @abstractmethod
    def parse_mark(self, text: str) -> Mark:
        """The mark in a cursor; ``ValueError`` for text this store never produces."""

    @abstractmethod
    def is_foreign(self, mark: Mark) -> bool:
        """True when ``mark`` is not from this database's history (e.g. a restore from an
        older backup, or a failover that lost the end of it): the client must start over."""

    def iter_feed(self, after: Mark | None = None, page: int = 5000) -> Iterator[FeedRow]:
        """Every row after ``after``, in feed order (for rebuilding state, copying, checking)."""
        mark = self.start if after is None else after
        while True:
            rows = self.read_feed(mark, page)
            if not rows:
                return
            yield from rows
            mark = rows[-1].mark

    def watch(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change`` (from another thread) when other processes may have stored
        events. Single-process stores never need to."""

    def unwatch(self) -> None:
        """Stop what ``watch`` started."""

    # --- looking things up --------------------------------------------------------------------

    @abstractmethod
    def stored_event(self, event_id: str) -> tuple[int, str] | None:
        """``(position, event_json)`` of the row with this event id."""

    def stored_events(self, event_ids: list[str]) -> dict[str, tuple[int, str]]:
        """``{event_id: (position, event_json)}`` of the ids that are stored."""
        found = {event_id: self.stored_event(event_id) for event_id in event_ids}
        return {event_id: row for event_id, row in found.items() if row is not None}

    @abstractmethod
    def count(self) -> tuple[int, int]:
        """``(rows, distinct event ids)`` — equal unless dedupe was switched off."""

    @abstractmethod
    def mark_at(self, position: int) -> Mark | None:
        """The mark of the row at ``position`` (its number in ``FeedRow.position``)."""

    @abstractmethod
    def event_id_at(self, mark: Mark) -> str | None:
        """The id of the event at ``mark`` (None when there is none): a cursor names it, so a
        database restored from an older backup, whose positions now hold other events, is
        recognised as foreign."""

    # --- keys ---------------------------------------------------------------------------------

    @abstractmethod
    def text_keys(self, event_ids: list[str]) -> dict[str, str]:
        """The kept (not purged) keys of these events' sealed texts."""

    @abstractmethod
    def add_public_key(self, record: PublicKeyRecord) -> bool:
        """Register a key; False when it was already there for this user. Raises
        ``KeyTaken`` when its id is registered to someone else."""

    @abstractmethod
    def public_keys(self) -> list[PublicKeyRecord]: ...

    # --- alert deliveries (an append-only audit log of notifications as they arrived) --------

    @abstractmethod
    def record_delivery(self, received_at: str, received_by: str | None, body: bytes) -> int:
        """Keep a notification's body exactly as it arrived; returns its delivery number."""

    @abstractmethod
    def deliveries(self, after: int = 0, limit: int = 100) -> list[tuple[int, str, str | None, bytes]]:
        """``(id, received_at, received_by, body)`` of stored notifications, oldest first."""

    # --- tokens -------------------------------------------------------------------------------

    @abstractmethod
    def add_token(self, record: TokenRecord) -> None: ...

    @abstractmethod
    def remove_token(self, name: str) -> bool: ...

    @abstractmethod
    def tokens(self) -> list[TokenRecord]: ...

    tokens_version_is_local: bool = False
    """True when ``tokens_version`` is a local read of microseconds (fine on the event loop);
    False when it is a round trip to a database server (the server asks from a thread)."""

    def tokens_version(self) -> str | None:
        """A value that changes whenever a token is added, removed or changed, by any
        process, cheap enough to read on every request; None when this store cannot tell
        (the server then reads every token on every request)."""
        return None

    # --- lifecycle ----------------------------------------------------------------------------

    def check(self) -> None:
        """Raise ``StoreError`` when the database can no longer be used (its file deleted or
        replaced under a running server). Cheap: called before every use."""

    def probe(self) -> None:
        """Raise ``StoreError`` unless the database answers; for ``/v1/health``, so it must
        not wait on a network (the default only runs ``check``)."""
        self.check()

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, for a person (never a password)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "EventStore":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class KeyTaken(StoreError):
    """The public key is already registered to another user."""


def token_exists_error(name: str) -> StoreError:
    return StoreError(
        f"a token named {name!r} already exists; revoke it first "
        f"(warroom server token revoke {name!r})"
    )
