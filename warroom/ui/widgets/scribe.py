"""The scribe's input: every Enter is one entry, whatever the typing speed.

Enter takes the line out of the box at once, so the next line can be typed while this one is
being written (see ``scribe_desk``); the box never holds two lines, so lines cannot merge.
A paste of several lines, or one longer than an entry may be, is handed over whole to be
asked about once instead of being cut to its first line.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from warroom.domain.events import TEXT_MAX
from warroom.domain.scribe_entry import is_multi_line

PLACEHOLDER = "Log: text · 14:32 text backdates · /decision /action /hypothesis /todo"


class ScribeInput(Input):
    """Type an entry and press Enter.

    | Key | Action |
    | --- | --- |
    | enter | log the entry (the box is free again at once) |
    | escape | back to the timeline |
    """

    BINDINGS = [Binding("escape", "leave", "Timeline", id="scribe.leave")]

    SUBMIT_KEYS = frozenset({"enter", "ctrl+j"})
    """Enter, and a line feed (what some terminals send for the newlines of an unbracketed
    paste). Handled in the box's own key handler, never as a binding: a binding runs when the
    key has bubbled up to the app, by which time the keys typed after it may already be in
    the box, and the lines would merge. The box's other keys (backspace, ctrl+u, arrows,
    esc) are run the same way, in the order they were typed."""

    DEFAULT_CSS = """
    ScribeInput {
        &.-saving { border: tall $warning; }
        &.-failed { border: tall $error; }
    }
    """

    class LineEntered(Message):
        """Enter was pressed on a non-empty line; the box is already empty again."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class PasteReceived(Message):
        """A paste of several lines, or too long for the box: nothing was inserted."""

        def __init__(self, text: str, before: str, after: str) -> None:
            super().__init__()
            self.text = text
            self.before = before
            """What the box held before the cursor (it goes in front of the paste)."""
            self.after = after
            """What the box held after the cursor."""

    class Left(Message):
        """The scribe pressed Escape."""

    def __init__(self, *, id: str | None = None) -> None:
        # No select-all on focus: coming back to a half-typed line, the next key must add to
        # it, not replace it.
        super().__init__(placeholder=PLACEHOLDER, id=id, max_length=TEXT_MAX, select_on_focus=False)

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose: bool = False):
        # Textual's Input re-sets its virtual size on every keystroke, which asks for a
        # layout of the whole screen (five panes here). This box has a fixed size, so a
        # repaint is all a keystroke needs: measured in tmux, p50 23 -> 15 ms per key.
        return super().refresh(*regions, repaint=repaint, layout=False, recompose=recompose)

    async def _on_key(self, event: events.Key) -> None:
        if event.key in self.SUBMIT_KEYS:
            event.stop()
            event.prevent_default()  # Input's handler (and the enter binding) must not run too
            await self.action_submit()
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not binding.priority:
                event.stop()
                event.prevent_default()
                await self.run_action(binding.action)
                return

    async def action_submit(self) -> None:
        text = self.value
        if not text.strip():
            return
        self.value = ""  # free for the next line now; the line itself is queued, in order
        self.post_message(self.LineEntered(text))

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()  # Input's own handler would keep only the first line
        event.stop()
        if not event.text:
            return
        selection = self.selection
        start, end = sorted((selection.start, selection.end))
        if not selection.is_empty:
            before, after = self.value[:start], self.value[end:]
        else:
            before, after = self.value[: self.cursor_position], self.value[self.cursor_position:]
        single = event.text.strip("\r\n")
        if not is_multi_line(event.text) and "\n" not in single and "\r" not in single and len(before) + len(single) + len(after) <= (self.max_length or TEXT_MAX):
            self.value = before + single + after
            self.cursor_position = len(before) + len(single)
            return
        self.post_message(self.PasteReceived(event.text, before, after))

    def take_text(self, text: str) -> None:
        """Put ``text`` at the end of the box and the cursor after it (stray typing, a line
        brought back to edit)."""
        room = (self.max_length or TEXT_MAX) - len(self.value)
        self.value = self.value + text[: max(0, room)]
        self.cursor_position = len(self.value)

    def action_leave(self) -> None:
        self.post_message(self.Left())
