"""The pane tabs: one line naming the five panes, shown when only one pane fits on screen.

Below ``NARROW_WIDTH`` columns, or when a pane is zoomed (``z``), the war room shows one pane
at a time at full size instead of shrinking all five; this line says which one is shown and
how to reach the others (1-5). The shown pane is in brackets and reversed, so it reads
without colour.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

NARROW_WIDTH = 100
"""Below this many columns the panes are shown one at a time."""

PANE_NAMES: dict[str, str] = {
    "incidents": "Incidents",
    "timeline": "Timeline",
    "roster": "Roster",
    "checklist": "Checklist",
    "comms": "Comms",
}
"""Pane ids in their 1-5 order, with their names."""


class PaneTabs(Widget):
    """``1 Incidents [2 Timeline] 3 Roster 4 Checklist 5 Comms · 1-5 switch``"""

    DEFAULT_CSS = """
    PaneTabs {
        height: 1;
        background: $panel;
        color: $text-muted;
        display: none;
    }
    """

    active: reactive[str] = reactive("timeline")
    """The pane shown."""
    zoomed: reactive[bool] = reactive(False)
    """True when zoomed by the user (``z`` goes back); False when the terminal is narrow."""

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        for number, (pane, name) in enumerate(PANE_NAMES.items(), start=1):
            if pane == self.active:
                line.append(f"[{number} {name}]", style="bold reverse")
            else:
                line.append(f" {number} {name} ")
            line.append(" ")
        line.append("· z all panes" if self.zoomed else "· 1-5 switch", style="dim")
        return line
