"""Plain text on a whole screen: the situation brief, a command's output, a delivery's
attempts. Copyable, refreshable, scrolls when longer than the terminal."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, Static


class TextViewer(Screen[str | None]):
    """Read, copy, refresh; ``extra`` keys dismiss with their name (e.g. ``retry``).

    | Key | Action |
    | --- | --- |
    | c, ctrl+y | copy the text (OSC 52: works over SSH) |
    | r | refresh it from the live state |
    | up/down, pgup/pgdn | scroll |
    | escape | back |
    """

    BINDINGS = [
        Binding("c,ctrl+y", "copy", "Copy", id="viewer.copy", tooltip="Copy the text to the clipboard (OSC 52)"),
        Binding("r", "refresh_text", "Refresh", id="viewer.refresh", tooltip="Rebuild the text from the live state"),
        Binding("escape,q", "close", "Back", id="viewer.close"),
    ]

    DEFAULT_CSS = """
    TextViewer {
        & > VerticalScroll { height: 1fr; scrollbar-size-vertical: 1; }
        & #viewer-text { width: auto; min-width: 100%; }
        & #viewer-hint { height: 1; width: 100%; background: $panel; color: $text-muted; padding: 0 1; }
    }
    """

    def __init__(self, make_text: Callable[[], str], *, title: str, copied: str = "Copied", hint: str = "") -> None:
        super().__init__()
        self._make_text = make_text
        self._title = title
        self._copied = copied
        self._hint = hint
        self.text = make_text()

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            # A Text object, never markup: brackets people typed show as typed.
            yield Static(self._rendered(), id="viewer-text")
        extra = f" · {self._hint}" if self._hint else ""
        yield Label(f"{self._title} · c copies · r refreshes{extra} · esc back", id="viewer-hint")

    def _rendered(self) -> Text:
        # Text from events may come from anywhere: no control character reaches the terminal.
        shown = "".join(ch if ch in "\n\t" or not (ch < " " or "\x7f" <= ch <= "\x9f") else "?" for ch in self.text.rstrip("\n"))
        return Text(shown, no_wrap=True, overflow="ellipsis")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify(f"{self._copied} ({len(self.text.splitlines())} lines).", timeout=3)

    def action_refresh_text(self) -> None:
        self.text = self._make_text()
        self.query_one("#viewer-text", Static).update(self._rendered())

    def action_close(self) -> None:
        self.dismiss(None)


class DeliveryViewer(TextViewer):
    """A delivery: its text and every attempt; a failed one can be sent again.

    | Key | Action |
    | --- | --- |
    | s | send a failed delivery again (same text, same delivery id) |
    """

    BINDINGS = [Binding("s", "send_again", "Send again", id="delivery.retry", tooltip="Queue a failed delivery again")]

    def action_send_again(self) -> None:
        self.dismiss("retry")
