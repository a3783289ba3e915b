"""The feed's plumbing: the signal that wakes held long-polls, and the opaque cursor.

The cursor is ``v1:<database id>:<position>`` in URL-safe base64: clients treat it as opaque,
and a cursor from another database (a restore, another server) is recognised as foreign.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable


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


_CURSOR_VERSION = "v1"


def encode_cursor(db_id: str, position: int) -> str:
    raw = f"{_CURSOR_VERSION}:{db_id}:{position}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    """``(db_id, position)``; raises ValueError for anything this server did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, db_id, position_text = raw.split(":")
        position = int(position_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor") from None
    if version != _CURSOR_VERSION or position < 0 or not position_text.isdigit():
        raise ValueError("not a cursor")
    return db_id, position
