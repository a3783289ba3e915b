"""The screen that holds the panes.

Over SSH a burst of typing arrives at once. Textual hands each key to the widget that has
focus when the key is read, and the key reaches the app's bindings later, after the keys
read with it were handed out too. If one key opens a dialog (``t``: the status picker), the
keys behind it reach the app with the dialog on top, where its bindings would act on them
(``enter`` picked the highlighted status) although they were typed before the dialog
existed. This screen remembers the keys that came through it, so the app can tell those
apart (``GuardHandlers.on_key``).
"""

from __future__ import annotations

from collections import deque

from textual import events
from textual.screen import Screen


class ConsoleScreen(Screen[None]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._typed_here: deque[events.Key] = deque(maxlen=512)
        """The latest keys that reached this screen (a burst is read and handed out at once)."""

    def on_key(self, event: events.Key) -> None:
        self._typed_here.append(event)

    def typed_here(self, event: events.Key) -> bool:
        """Did ``event`` come through this screen (typed while the panes had focus)?"""
        return any(seen is event for seen in reversed(self._typed_here))
