"""The situation brief on screen: plain text, copyable, scrolls when it is longer than the
terminal. The same text as ``warroom brief INCIDENT``."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, Static


class BriefScreen(Screen[None]):
    """Where are we? One screen of plain text, for whoever joins or takes over.

    | Key | Action |
    | --- | --- |
    | c, ctrl+y | copy the brief (OSC 52: works over SSH) |
    | r | refresh it from the live state |
    | up/down, pgup/pgdn | scroll |
    | escape | back |
    """

    BINDINGS = [
        Binding("c,ctrl+y", "copy", "Copy", id="brief.copy", tooltip="Copy the brief to the clipboard (OSC 52)"),
        Binding("r", "refresh_brief", "Refresh", id="brief.refresh", tooltip="Rebuild the brief from the live state"),
        Binding("escape,q", "close", "Back", id="brief.close"),
    ]

    DEFAULT_CSS = """
    BriefScreen {
        & > VerticalScroll { height: 1fr; scrollbar-size-vertical: 1; }
        & #brief-text { width: auto; min-width: 100%; }
        & #brief-hint { height: 1; width: 100%; background: $panel; color: $text-muted; padding: 0 1; }
    }
    """

    def __init__(self, make_text: Callable[[], str], *, for_whom: str | None = None) -> None:
        super().__init__()
        self._make_text = make_text
        self._for_whom = for_whom
        self.text = make_text()

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            # A Text object, never markup: brackets people typed show as typed.
            yield Static(Text(self.text.rstrip("\n"), no_wrap=True, overflow="ellipsis"), id="brief-text")
        lead = f"Hand-over brief for {self._for_whom} · " if self._for_whom else "Situation brief · "
        yield Label(f"{lead}c copies · r refreshes · esc back", id="brief-hint")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        who = f" to paste to {self._for_whom}" if self._for_whom else ""
        self.notify(f"Brief copied{who} ({len(self.text.splitlines())} lines).", timeout=3)

    def action_refresh_brief(self) -> None:
        self.text = self._make_text()
        self.query_one("#brief-text", Static).update(Text(self.text.rstrip("\n"), no_wrap=True, overflow="ellipsis"))

    def action_close(self) -> None:
        self.dismiss(None)
