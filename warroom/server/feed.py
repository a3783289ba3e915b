"""The long-poll feed: opaque cursors, waiting for news, pages of the stored JSON.

A cursor is ``base64("v2:<db_id>:<mark>:<anchor>")``: the database's id, the store's mark of
the last row served (SQLite: a position; PostgreSQL: ``epoch.txid.seq``) and the tail of that
row's event id. Clients never look inside. A cursor with another database's id, whose mark
this database's history does not contain (a restore from an older backup, a failover that
lost the end), or whose mark now holds another event (a restored SQLite file written to
since reuses its positions) answers 410: the client reads from the start again and re-pushes
its journal. A push answers with a *receipt*, a cursor at the last event it stored: a client
that reads from it later learns the same way whether the server still has its events.
(``v1`` cursors, without an anchor, are still read.)

Held polls wait on ``FeedSignal`` until the store's head passes their cursor. With one
process the head moves when this process commits. With several replicas on PostgreSQL the
store's listener moves it (a NOTIFY from another replica, or its periodic re-check) and calls
``Feed.changed_elsewhere``, which also tells the ledger it is behind.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool

from warroom.server.ledger import Ledger
from warroom.server.storage import EventStore, Mark

log = logging.getLogger("warroom.server")

_CURSOR_VERSION = "v2"
ANCHOR_LENGTH = 12


def anchor_of(event_id: str | None) -> str:
    return (event_id or "")[-ANCHOR_LENGTH:]


class CursorRefused(Exception):
    """The cursor cannot be served: ``status`` 400 (not ours) or 410 (another history)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


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


class FeedSignal:
    """Wakes long-poll waiters when events are stored (or the server shuts down)."""

    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        self.closing = False

    async def notify(self) -> None:
        async with self._condition:
            self._condition.notify_all()

    async def close(self) -> None:
        """Let every waiter answer now, so a graceful shutdown is not held up 25 s."""
        self.closing = True
        await self.notify()

    async def wait(self, is_ready: Callable[[], bool], timeout: float) -> None:
        async with self._condition:
            try:
                await asyncio.wait_for(
                    self._condition.wait_for(lambda: self.closing or is_ready()), timeout
                )
            except TimeoutError:
                pass


class Feed:
    """One server's feed over its store."""

    def __init__(self, store: EventStore, ledger: Ledger) -> None:
        self.store = store
        self.ledger = ledger
        self.signal = FeedSignal()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Follow other processes' commits (a shared store only)."""
        self._loop = asyncio.get_running_loop()
        if self.store.shared:
            self.store.watch(self.changed_elsewhere)

    async def close(self) -> None:
        await run_in_threadpool(self.store.unwatch)
        await self.signal.close()

    async def committed(self) -> None:
        """This process stored events: wake the polls waiting here."""
        await self.signal.notify()

    def changed_elsewhere(self) -> None:
        """From the store's listener thread: the head moved."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(self.signal.notify(), loop)
            except RuntimeError:  # the loop closed meanwhile: nobody is waiting
                pass
        self.ledger.note_feed_moved()

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
        mark = self.store.mark_at(position)
        if mark is None:
            return None
        return encode_cursor(self.store.db_id, self.store.mark_text(mark), anchor_of(event_id))

    async def page(self, cursor: str | None, timeout: float, limit: int) -> str:
        """The JSON body of a feed answer (waits up to ``timeout`` s when nothing is new)."""
        after, anchor = self._mark(cursor)
        if not await run_in_threadpool(self._still_there, after, anchor):
            raise _foreign()
        store = self.store
        if store.head <= after and timeout > 0:
            await self.signal.wait(lambda: store.head > after, timeout)
        rows = await run_in_threadpool(store.read_feed, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_mark = rows[-1].mark if rows else after
        next_anchor = anchor_of(event_id_of(rows[-1].event_json)) if rows else (anchor or "")
        # The keys of sealed texts go with their events (none once an entry is purged); only
        # rows that can hold sealed text are looked up.
        sealed = [event_id_of(row.event_json) for row in rows if '"sealed"' in row.event_json]
        keys = await run_in_threadpool(store.text_keys, [i for i in sealed if i]) if sealed else {}
        # The stored JSON is served as is: no re-validation, and byte-identical on every replica.
        items = ",".join(
            f'{{"position":{row.position},"received_at":{json.dumps(row.received_at)},"event":{row.event_json}'
            + (f',"text_key":{json.dumps(keys[event_id])}' if (event_id := event_id_of(row.event_json)) in keys else "")
            + "}"
            for row in rows
        )
        cursor_out = encode_cursor(store.db_id, store.mark_text(next_mark), next_anchor)
        return f'{{"events":[{items}],"cursor":{json.dumps(cursor_out)},"more":{"true" if more else "false"}}}'


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
