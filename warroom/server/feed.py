"""The long-poll feed: opaque cursors, held polls, and the pages they are answered with.

A cursor is ``base64("v2:<db_id>:<mark>:<anchor>")``: the database's id, the store's mark of
the last row served (SQLite: a position; PostgreSQL: ``epoch.txid.seq``) and the tail of that
row's event id. Clients never look inside. A cursor with another database's id, whose mark
this database's history does not contain (a restore from an older backup, a failover that
lost the end), or whose mark now holds another event (a restored SQLite file written to
since reuses its positions) answers 410: the client reads from the start again and re-pushes
its journal. A push answers with a *receipt*, a cursor at the last event it stored: a client
that reads from it later learns the same way whether the server still has its events.
(``v1`` cursors, without an anchor, are still read.)

A held poll must cost next to nothing, however many there are: a thousand people watching
an incident must not slow down the people writing to it. So:

* **Woken at once.** Each held poll awaits a future of its own, which publishing resolves
  directly: its task runs in the event loop's very next turn, ahead of the push that caused
  the publish (a shared future awaited through ``asyncio.wait`` took two more turns, and the
  push's answer went out first). Nothing else per poll happens on a commit. This process's
  commits call ``committed`` (from the ledger's thread, right after the commit); with
  several replicas on PostgreSQL the store's listener calls ``changed_elsewhere``.
* **Pages are built once and shared.** A long-poll's page is the rows after its cursor up to
  the *published* mark; pages are cached per ``(mark, limit)`` until the next publish, so a
  thousand polls at the same cursor (everyone up to date) cost one database read and one
  JSON body. Concurrent builders of the same page wait for the first. A one-off read
  (``timeout=0``) is not held back: it sees everything committed, so a client always reads
  its own acknowledged writes.
* **Publishing is paced by what it costs.** A publish that wakes few polls (under
  ``PACED_FROM``) costs little: the next commit publishes at once, so a team's handful of
  watchers see every event within milliseconds however slowly their clients come back. A
  publish that wakes many is a *cycle*: the next one waits until nine in ten of the woken
  polls have been answered and come back, plus ``PACE_FACTOR`` times as long as that took
  (at most ``MAX_PACE`` s). With a thousand watchers several commits are then delivered
  together, and answering polls takes at most about a third of the server's time, so the
  people writing are not slowed down by the people watching.
* **Looked up once.** With SQLite, a cursor this process handed out (mark and anchor) is of
  this database's history for as long as the process runs (a file replaced under it stops
  the store altogether), so a poll coming back with it skips the look-up.
* **Served from memory.** With SQLite this process stores every row, so the feed keeps
  the last ``TAIL_ROWS`` rows the ledger committed; a held poll's page within them is built
  on the event loop from that tail (no query, no thread hop), with the keys of its sealed
  texts as the ledger stored and destroyed them. Pages reaching outside it are read from the
  database.
* **Compressed once.** A client that accepts gzip (httpx does) gets the page compressed;
  a shared page is compressed once for all its readers, so a thousand watchers cost the
  machine a tenth of the bytes to copy.
* **Revocation cuts.** ``cut`` resolves the held polls of a revoked token with "cut", and
  they answer 401.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
import json
import logging
import threading

from fastapi.concurrency import run_in_threadpool

from warroom.server.ledger import Ledger
from warroom.server.storage import EventStore, FeedRow, Mark, StoredEvent

log = logging.getLogger("warroom.server")

PACE_FACTOR = 2.0
"""After answering the polls of one publish took D seconds, the next publish waits
``PACE_FACTOR × D``: answering polls gets at most a third of the server's time under load."""
MAX_PACE = 1.0
"""Under any load, a commit reaches held polls within about this long."""
FREE_CYCLE = 0.005
"""A cycle shorter than this is not paced."""
PACED_FROM = 32
"""A publish waking fewer held polls than this is not a cycle (nothing to pace)."""
MAX_CACHED_PAGES = 256
MAX_ISSUED_CURSORS = 4096
TAIL_ROWS = 4096
"""Rows kept in memory for held polls' pages (SQLite): the newest, a few MB at most."""
GZIP_FROM_BYTES = 1024
"""Smaller answers (an empty page) are sent as they are: compressing them gains nothing."""

_CURSOR_VERSION = "v2"
ANCHOR_LENGTH = 12


def anchor_of(event_id: str | None) -> str:
    return (event_id or "")[-ANCHOR_LENGTH:]


class CursorRefused(Exception):
    """The cursor cannot be served: ``status`` 400 (not ours) or 410 (another history)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class TokenCut(Exception):
    """The poll's token was revoked while it was held."""


class Page:
    """A feed answer's JSON, and its gzip form made on first demand (then shared)."""

    __slots__ = ("body", "_gzipped")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self._gzipped: bytes | None = None

    def gzipped(self) -> bytes | None:
        """The body gzipped, or None when it is too small to be worth it."""
        if len(self.body) < GZIP_FROM_BYTES:
            return None
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=1, mtime=0)
        return self._gzipped


def encode_cursor(db_id: str, mark_text: str | int, anchor: str = "") -> str:
    raw = f"{_CURSOR_VERSION}:{db_id}:{mark_text}:{anchor}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, str | None]:
    """``(db_id, mark text, anchor)`` (anchor None in a v1 cursor); raises ValueError for
    anything no server issued."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, db_id, mark_text, *rest = raw.split(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor") from None
    if version not in ("v1", _CURSOR_VERSION) or not db_id or not mark_text:
        raise ValueError("not a cursor")
    if (version == "v1") != (not rest) or len(rest) > 1:
        raise ValueError("not a cursor")
    anchor = rest[0] if rest else None
    if anchor is not None and (len(anchor) > ANCHOR_LENGTH or anchor.strip("0123456789abcdef")):
        raise ValueError("not a cursor")
    return db_id, mark_text, anchor


class Feed:
    """One server's feed over its store (see the module docstring)."""

    def __init__(self, store: EventStore, ledger: Ledger) -> None:
        self.store = store
        self.ledger = ledger
        self.published: Mark = store.head
        """Held polls see rows up to here; it moves on publish."""
        self.closing = False
        self.held = 0
        self.publishes = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[asyncio.Future, str | None] = {}  # held poll -> its token digest
        self._pages: dict[tuple[Mark, str, int], asyncio.Future] = {}
        self._issued: dict[tuple[Mark, str], None] = {}  # (mark, anchor) handed out, newest last
        self._publish_handle: asyncio.Handle | None = None
        self._dirty = False
        self._cycle_started = 0.0
        self._cycle_pending = 0
        self._next_publish = 0.0
        # Rows of consecutive positions, oldest first, and the text keys of their events by
        # event id: one tuple, replaced whole when rows come or go, so a page built on the
        # loop never pairs rows with keys of another state. Keys are added and removed in
        # place (as the database's are), always before the rows they belong to appear.
        self._tail: tuple[list[FeedRow], dict[str, str]] = ([], {})
        self._tail_lock = threading.Lock()  # between writers
        if store.marks_are_positions and not store.shared:
            ledger.on_stored = self._stored

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    async def start(self) -> None:
        """Follow other processes' commits (a shared store only)."""
        self._ensure_loop()
        if self.store.shared:
            self.store.watch(self.changed_elsewhere)

    async def close(self) -> None:
        await run_in_threadpool(self.store.unwatch)
        self.shut()

    def shut(self) -> None:
        """Answer every held poll now, so a graceful shutdown is not held up 25 s."""
        self.closing = True
        self._wake_all()

    def _wake_all(self) -> None:
        woken, self._waiters = self._waiters, {}
        for waiter in woken:
            _settle(waiter, False)

    # --- commits and publishing ----------------------------------------------------------

    def committed(self) -> None:
        """Rows were stored: publish them to held polls (now, or when the pace allows)."""
        loop = self._ensure_loop()
        self._dirty = True
        if self._publish_handle is not None or self._cycle_pending > 0:
            return  # a publish is due already, or the end of the current cycle will do it
        delay = self._next_publish - loop.time()
        if delay > 0:
            self._publish_handle = loop.call_later(delay, self._publish)
        else:
            self._publish()

    def changed_elsewhere(self) -> None:
        """From the store's listener thread: another replica moved the head."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.committed)
            except RuntimeError:  # the loop closed meanwhile: nobody is waiting
                pass
        self.ledger.note_feed_moved()

    def _publish(self) -> None:
        self._publish_handle = None
        loop = self._ensure_loop()
        head = self.store.head
        self._dirty = False
        if not head > self.published:
            return
        self.published = head
        self.publishes += 1
        self._pages = {}
        self._cycle_started = loop.time()
        # Done once nine in ten are back: a client that left, or one busy with what it got,
        # must not hold everyone else's next publish back.
        self._cycle_pending = self.held - self.held // 10 if self.held >= PACED_FROM else 0
        if self._cycle_pending:
            # A failsafe: polls that never come back (gone, cut) must not stall the feed.
            loop.call_later(MAX_PACE, self._cycle_timeout, self.publishes)
        self._wake_all()

    def _cycle_timeout(self, publish_number: int) -> None:
        if publish_number == self.publishes and self._cycle_pending > 0:
            self._cycle_pending = 0
            self._end_cycle()

    def _end_cycle(self) -> None:
        loop = self._ensure_loop()
        now = loop.time()
        took = now - self._cycle_started
        # A short cycle is mostly the clients' round trip, not work here: no need to wait.
        self._next_publish = now + (min(MAX_PACE, PACE_FACTOR * took) if took > FREE_CYCLE else 0.0)
        if self._dirty and self._publish_handle is None:
            self._publish_handle = loop.call_later(max(0.0, self._next_publish - now), self._publish)

    # --- answering a poll ----------------------------------------------------------------

    def _mark(self, cursor: str | None) -> tuple[Mark, str | None]:
        if not cursor:
            return self.store.start, ""
        not_ours = CursorRefused(
            400,
            "that cursor was not issued by this server; omit ?cursor= to read the feed from "
            "the beginning",
        )
        try:
            db_id, mark_text, anchor = decode_cursor(cursor)
        except ValueError:
            raise not_ours from None
        if db_id != self.store.db_id:
            raise _foreign()
        try:
            return self.store.parse_mark(mark_text), anchor
        except ValueError:
            raise not_ours from None

    def _still_there(self, after: Mark, anchor: str | None) -> bool:
        if after == self.store.start:
            return True
        if self.store.is_foreign(after):
            return False
        return not anchor or anchor_of(self.store.event_id_at(after)) == anchor

    def receipt(self, position: int, event_id: str) -> str | None:
        """A cursor at a just-stored event (see the module's docstring)."""
        tail = self._tail[0]
        if tail and tail[0].position <= position <= tail[-1].position:
            mark = position  # in the tail: stored by this process, and its position is its mark
        else:
            mark = self.store.mark_at(position)
        if mark is None:
            return None
        anchor = anchor_of(event_id)
        self._remember(mark, anchor)
        return encode_cursor(self.store.db_id, self.store.mark_text(mark), anchor)

    def _remember(self, mark: Mark, anchor: str) -> None:
        if len(self._issued) >= MAX_ISSUED_CURSORS:
            self._issued.clear()
        self._issued[(mark, anchor)] = None

    async def page(self, cursor: str | None, timeout: float, limit: int, token: str | None = None) -> Page:
        """The JSON body of a feed answer (waits up to ``timeout`` s when nothing is new).
        Raises ``CursorRefused``, ``TokenCut`` (``token``, a digest, was revoked meanwhile)
        or ``StoreError``."""
        after, anchor = self._mark(cursor)
        # A cursor this process handed out is of this history: only others are looked up (a
        # query, and a thread hop: most polls skip both). A shared database may be restored
        # under running replicas without any of them noticing, so there every cursor is.
        trusted = not self.store.shared and (after, anchor or "") in self._issued
        if after != self.store.start and not trusted:
            if not await run_in_threadpool(self._still_there, after, anchor):
                raise _foreign()
        if timeout <= 0:
            return Page(await run_in_threadpool(self._build, after, anchor, limit, None))
        if await self._wait(after, timeout, token):
            raise TokenCut()
        return await self._shared_page(after, anchor, limit)

    async def _wait(self, after: Mark, timeout: float, token: str | None) -> bool:
        """Hold until rows after ``after`` are published, ``timeout`` passes or the token is
        cut; True when it was cut."""
        loop = self._ensure_loop()
        if self.published > after or self.closing:
            return False
        if self._cycle_pending > 0:
            # Most likely a poll answered by the last publish, back for more: once as many
            # are back as were woken, that publish's cost is known.
            self._cycle_pending -= 1
            if self._cycle_pending == 0:
                self._end_cycle()
        waiter = loop.create_future()  # its own: awaiting a shared one could cancel it
        self._waiters[waiter] = token
        timer = loop.call_later(timeout, _settle, waiter, False)
        self.held += 1
        try:
            return await waiter
        finally:
            self.held -= 1
            timer.cancel()
            self._waiters.pop(waiter, None)

    def cut(self, tokens: set[str]) -> None:
        """End the held polls of these token digests (revoked)."""
        for waiter, token in list(self._waiters.items()):
            if token is not None and token in tokens:
                del self._waiters[waiter]
                _settle(waiter, True)

    def _stored(self, rows: list[StoredEvent], positions: list[int], kept: dict[str, str], dropped: list[str]) -> None:
        """From the ledger, in commit order: keep the newest rows (and their text keys, as
        the database has them) for held polls."""
        fresh = [
            FeedRow(position, position, row.incident_id, row.received_at, row.event_json)
            for row, position in zip(rows, positions)
        ]
        with self._tail_lock:
            tail, keys = self._tail
            # Only an unbroken run of positions tells that no row is missing in between.
            if (tail and fresh and fresh[0].position != tail[-1].position + 1) or any(
                b.position != a.position + 1 for a, b in zip(fresh, fresh[1:])
            ):
                tail, keys = [], {}
            for event_id, key in kept.items():
                keys.setdefault(event_id, key)  # as the store: a key already stored stays
            for event_id in dropped:
                keys.pop(event_id, None)
            tail = tail + fresh
            if len(tail) > 2 * TAIL_ROWS:
                tail = tail[-TAIL_ROWS:]
                held = {event_id_of(row.event_json) for row in tail}
                keys = {event_id: key for event_id, key in keys.items() if event_id in held}
            self._tail = (tail, keys)

    def _from_tail(self, after: Mark, limit: int, upto: Mark) -> tuple[list[FeedRow], dict[str, str]] | None:
        """Rows after ``after`` up to ``upto`` (at most ``limit``) with their text keys, when
        the tail holds every one of them; else None (read the database)."""
        if after >= upto:
            return [], {}  # nothing published after it: the database would say the same
        tail, keys = self._tail
        if not tail or after < tail[0].position - 1 or upto > tail[-1].position:
            return None
        start = after - tail[0].position + 1
        return tail[start : start + min(limit, upto - after)], keys

    async def _shared_page(self, after: Mark, anchor: str | None, limit: int) -> Page:
        key = (after, anchor or "", limit)
        pages = self._pages
        future = pages.get(key)
        if future is not None:
            return await asyncio.shield(future)
        future = self._ensure_loop().create_future()
        if len(pages) < MAX_CACHED_PAGES:
            pages[key] = future
        try:
            upto = self.published
            found = self._from_tail(after, limit + 1, upto)
            if found is not None:
                page = Page(self._body(found[0], after, anchor, limit, found[1]))
            else:
                page = Page(await run_in_threadpool(self._build, after, anchor, limit, upto))
        except BaseException as exc:
            pages.pop(key, None)
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting for it
            raise
        future.set_result(page)
        return page

    def _build(self, after: Mark, anchor: str | None, limit: int, upto: Mark | None) -> bytes:
        """A page's JSON (in a worker thread): rows after ``after`` up to ``upto``."""
        store = self.store
        rows = store.read_feed(after, limit + 1)
        if upto is not None:
            rows = [row for row in rows if not row.mark > upto]
        # The keys of sealed texts go with their events (none once an entry is purged); only
        # rows that can hold sealed text are looked up.
        sealed = [event_id_of(row.event_json) for row in rows[:limit] if '"sealed"' in row.event_json]
        keys = store.text_keys([i for i in sealed if i]) if sealed else {}
        return self._body(rows, after, anchor, limit, keys)

    def _body(self, rows: list[FeedRow], after: Mark, anchor: str | None, limit: int, keys: dict[str, str]) -> bytes:
        """The page's JSON: ``rows`` (one more than ``limit`` when there are more)."""
        store = self.store
        more = len(rows) > limit
        rows = rows[:limit]
        next_mark = rows[-1].mark if rows else after
        next_anchor = anchor_of(event_id_of(rows[-1].event_json)) if rows else (anchor or "")
        self._remember(next_mark, next_anchor)
        # The stored JSON is served as is: no re-validation, and byte-identical on every replica.
        items = ",".join(
            f'{{"position":{row.position},"received_at":{json.dumps(row.received_at)},"event":{row.event_json}'
            + (f',"text_key":{json.dumps(key)}' if (key := keys.get(event_id_of(row.event_json) or "")) else "")
            + "}"
            for row in rows
        )
        cursor_out = encode_cursor(store.db_id, store.mark_text(next_mark), next_anchor)
        body = f'{{"events":[{items}],"cursor":{json.dumps(cursor_out)},"more":{"true" if more else "false"}}}'
        return body.encode("utf-8")


def _settle(waiter: asyncio.Future, cut: bool) -> None:
    if not waiter.done():
        waiter.set_result(cut)


def event_id_of(event_json: str) -> str | None:
    """The id of a stored event without parsing all of it: canonical JSON starts with it."""
    if event_json.startswith('{"id":"'):
        return event_json[7:43]
    try:
        return json.loads(event_json).get("id")
    except ValueError:
        return None


def _foreign() -> CursorRefused:
    return CursorRefused(
        410,
        "that cursor belongs to another server database (or to events this server no longer "
        "has, e.g. after a restore); read the feed from the beginning and push your events again",
    )
