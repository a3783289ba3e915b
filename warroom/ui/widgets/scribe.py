"""The scribe's input: Enter logs the line; nothing is cleared until it is on disk."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

PLACEHOLDER = "Log: text · 14:32 text backdates · /decision /action /hypothesis /todo"


class ScribeInput(Input):
    """Type an entry and press Enter.

    The text stays in the box (marked *saving*) until the app reports it durably written;
    if the write fails it stays there, so nothing typed is lost.

    | Key | Action |
    | --- | --- |
    | enter | log the entry |
    | escape | back to the timeline |
    """

    BINDINGS = [Binding("escape", "leave", "Timeline", id="scribe.leave")]

    DEFAULT_CSS = """
    ScribeInput {
        &.-saving { border: tall $warning; }
        &.-failed { border: tall $error; }
    }
    """

    class EntrySubmitted(Message):
        """The scribe pressed Enter on a non-empty line."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Left(Message):
        """The scribe pressed Escape."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=PLACEHOLDER, id=id, max_length=4000)

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose: bool = False):
        # Textual's Input re-sets its virtual size on every keystroke, which asks for a
        # layout of the whole screen (five panes here). This box has a fixed size, so a
        # repaint is all a keystroke needs: measured in tmux, p50 23 -> 15 ms per key.
        return super().refresh(*regions, repaint=repaint, layout=False, recompose=recompose)

    async def action_submit(self) -> None:
        text = self.value.strip()
        if text and "-saving" not in self.classes:
            self.add_class("-saving")
            self.remove_class("-failed")
            self.border_subtitle = "saving…"
            self.post_message(self.EntrySubmitted(text))

    def mark_saved(self, text: str) -> None:
        """The entry is on disk: clear the box (unless the scribe already typed more)."""
        self.remove_class("-saving", "-failed")
        self.border_subtitle = "saved ✓"
        if self.value.strip() == text:
            self.value = ""

    def mark_failed(self, reason: str) -> None:
        self.remove_class("-saving")
        self.add_class("-failed")
        self.border_subtitle = "NOT saved: " + reason[:60]

    def action_leave(self) -> None:
        self.post_message(self.Left())
