"""Banners above the panes: problems that must be read but must not cover anything.

A toast sits on top of the timeline and of any open dialog for as long as it shows; a
refusal from the sync server (shown for 30 s), a broken config file or a read-only data
directory (shown until the problem is gone) take lines of their own here instead, pushing
the panes down rather than hiding them.
"""

from __future__ import annotations

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static


class NoticeBar(Static):
    """Zero or more one-line notices, each under a key so it can be replaced or cleared."""

    DEFAULT_CSS = """
    NoticeBar {
        display: none;
        height: auto;
        max-height: 4;
        padding: 0 1;
        background: $warning 25%;
        color: $foreground;
        &.-shown { display: block; }
        &.-error { background: $error 35%; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._notices: dict[str, tuple[str, bool]] = {}
        self._notice_timers: dict[str, Timer] = {}

    def show_notice(self, key: str, text: str, *, error: bool = False, seconds: float | None = None) -> None:
        """Show ``text`` under ``key`` (replacing what was there); for ``seconds`` if given."""
        self._notices[key] = (" ".join(text.split()), error)
        old = self._notice_timers.pop(key, None)
        if old is not None:
            old.stop()
        if seconds is not None:
            self._notice_timers[key] = self.set_timer(seconds, lambda: self.clear_notice(key))
        self._render_notices()

    def clear_notice(self, key: str) -> None:
        self._notices.pop(key, None)
        timer = self._notice_timers.pop(key, None)
        if timer is not None:
            timer.stop()
        self._render_notices()

    def notice(self, key: str) -> str | None:
        found = self._notices.get(key)
        return found[0] if found else None

    def _render_notices(self) -> None:
        text = Text()
        for index, (line, error) in enumerate(self._notices.values()):
            if index:
                text.append("\n")
            text.append(("✗ " if error else "⚠ ") + line, style="bold" if error else "")
        self.update(text)
        self.set_class(bool(self._notices), "-shown")
        self.set_class(any(error for _, error in self._notices.values()), "-error")
