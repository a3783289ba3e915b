"""``?``: every key, pane by pane, as bound right now (the user's keymap applied)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from warroom.ui.keymap import help_sections, key_for
from warroom.ui.screens.modal import Dialog
from warroom.ui.styles import glyph_legend


class HelpScreen(Dialog[None]):
    """The keys of each pane and screen, with what they do and their binding id.

    Built from the real ``BINDINGS`` with the keymap applied, so it cannot drift from what
    the keys do. The id column is what ``[keymap]`` in config.toml remaps.

    | Key | Action |
    | --- | --- |
    | esc, ?, q | close |
    | up/down, pgup/pgdn | scroll |
    """

    BINDINGS = [Binding("escape,question_mark,q", "dismiss(None)", "Close", id="help.close")]

    DEFAULT_CSS = """
    HelpScreen {
        & > VerticalScroll {
            width: 100;
            border: round $primary;
            border-title-color: $primary;
            border-title-style: bold;
        }
        .help--section {
            margin-top: 1;
            text-style: bold underline;
            color: $primary;
        }
        .help--section.-first {
            margin-top: 0;
        }
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-keys") as box:
            box.border_title = "Keys"
            box.border_subtitle = Text(f"{key_for('help.close', self.app)} closes · ids remap in [keymap]")  # Text: no markup
            for number, (title, rows) in enumerate(help_sections(self.app)):
                if not rows:
                    continue
                yield Static(title, classes="help--section -first" if number == 0 else "help--section")
                yield Static(_table(rows), classes="help--keys")
            yield Static("What the glyphs mean", classes="help--section")
            yield Static(_legend(), classes="help--legend")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()


def _legend() -> Table:
    """Every glyph of the panes with its one meaning (see ``warroom.ui.styles``)."""
    table = Table(box=None, show_header=False, expand=True, padding=(0, 1, 0, 0), pad_edge=False)
    table.add_column("glyph", no_wrap=True, style="bold", width=13)
    table.add_column("meaning", ratio=1)
    for glyph, meaning in glyph_legend():
        table.add_row(glyph, Text(meaning))
    return table


def _table(rows: list[tuple[str, str, str]]) -> Table:
    table = Table(box=None, show_header=False, expand=True, padding=(0, 1, 0, 0), pad_edge=False)
    # Fixed widths: every section's columns line up.
    table.add_column("key", no_wrap=True, style="bold", width=13, overflow="fold")
    table.add_column("action", ratio=1)
    table.add_column("id", no_wrap=True, style="dim", overflow="ellipsis", width=25)
    for keys, what, binding_id in rows:
        table.add_row(keys, Text(what), binding_id)
    return table
