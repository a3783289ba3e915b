"""Messages that reach the app from its worker threads.

The sync engine and the journal follower run in threads; they never touch widgets. They post
these messages (``post_message`` is thread-safe) and the app handles them on its own thread.
Both may arrive in bursts, so a queued one is replaced by a newer one of the same kind: only
the latest sync status matters, and one redraw shows every event that arrived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from warroom.sync.engine import SyncStatus


class SyncStatusChanged(Message):
    """The sync engine's view of the server changed (online, pending, rejected...)."""

    def __init__(self, status: SyncStatus) -> None:
        super().__init__()
        self.status = status

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncStatusChanged)


class EventsArrived(Message):
    """Events written elsewhere (the server's feed, the CLI, another TUI) were applied."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EventsArrived)


class DeliveriesChanged(Message):
    """The delivery outbox changed (an update queued, an attempt made): the comms pane
    shows each attempt's result."""

    def __init__(self, deliveries: list) -> None:
        super().__init__()
        self.deliveries = deliveries

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DeliveriesChanged)
