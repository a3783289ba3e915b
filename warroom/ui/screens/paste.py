"""A paste into the scribe box that is more than one short line: ask once what it is.

Several lines: one entry per line (each keeps its own ``14:32 -`` time) or one entry holding
all the lines. Longer than an entry may be: several entries, cut at line breaks or spaces,
or nothing at all (the box keeps what it had; the text is still on the clipboard).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from warroom.domain.events import TEXT_MAX
from warroom.domain.scribe_entry import paste_lines, split_long
from warroom.domain.text import safe_line
from warroom.ui.screens.confirm import TypingGuard
from warroom.ui.screens.modal import Dialog


def paste_choices(text: str, limit: int = TEXT_MAX) -> dict[str, list[str]]:
    """The ways a paste can be logged, each as the entry texts it makes, in order:
    ``lines`` (one per line, long lines cut), ``single`` (one multi-line entry, when it fits)
    and ``split`` (one long line cut into pieces)."""
    lines = paste_lines(text)
    choices: dict[str, list[str]] = {}
    if len(lines) > 1:
        choices["lines"] = [piece for line in lines for piece in split_long(line, limit)]
        joined = "\n".join(lines)
        if len(joined) <= limit:
            choices["single"] = [joined]
    elif lines:
        choices["split"] = split_long(lines[0], limit)
    return choices


class PasteScreen(TypingGuard, Dialog[list[str] | None]):
    """Asks once how to log a multi-line or over-long paste; returns the entry texts.

    | Key | Action |
    | --- | --- |
    | enter | log the highlighted way |
    | escape | log nothing (the box keeps what it had) |
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="paste.cancel", tooltip="Log nothing from the paste")]

    DEFAULT_CSS = """
    PasteScreen {
        & > Vertical { width: 80; }
        & OptionList { height: auto; max-height: 6; }
        & #paste-preview { color: $text-muted; max-height: 6; }
        & #paste-questions { color: $warning; }
    }
    """

    def __init__(self, text: str, limit: int = TEXT_MAX, *, questions: Callable[[list[str]], list[str]] | None = None) -> None:
        super().__init__()
        self._text = text
        self._limit = limit
        self.choices = paste_choices(text, limit)
        lines = self.choices.get("lines", [])
        self.questions = questions(lines) if questions and lines else []
        """What one-per-line logging would ask about (a time on another day...): shown here,
        so choosing it is the answer, once for the whole paste."""

    def compose(self) -> ComposeResult:
        lines = paste_lines(self._text)
        size = len("\n".join(lines))
        with Vertical() as box:
            if len(lines) > 1:
                box.border_title = f"Paste: {len(lines)} lines"
            else:
                box.border_title = f"Paste: {size:,} characters (an entry holds {self._limit:,})"
            preview = Text()
            for line in lines[:4]:
                line = safe_line(line)
                preview.append((line if len(line) <= 74 else line[:73] + "…") + "\n")
            if len(lines) > 4:
                preview.append(f"… and {len(lines) - 4} more line(s)")
            yield Static(preview, id="paste-preview")
            if self.questions:
                more = f" (and {len(self.questions) - 1} more like it)" if len(self.questions) > 1 else ""
                yield Static(Text(f"⚠ {safe_line(self.questions[0])}{more}: one per line logs them at those times"), id="paste-questions")
            options = []
            if "lines" in self.choices:
                count = len(self.choices["lines"])
                options.append(Option(f"{count} entries, one per line (a line's own 14:32 time is kept)", id="lines"))
            if "single" in self.choices:
                options.append(Option("1 entry holding all the lines", id="single"))
            elif "lines" in self.choices:
                options.append(Option(f"(1 entry would be {size:,} characters: too long)", id="single", disabled=True))
            if "split" in self.choices:
                options.append(Option(f"{len(self.choices['split'])} entries, cut at spaces, in order", id="split"))
            yield OptionList(*options)
            yield Label("enter logs it that way · esc logs nothing (the box keeps its text)", classes="hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices.get(event.option.id or ""))
