"""The screen's layout: all five panes side by side from ``NARROW_WIDTH`` columns, one pane at
a time (the one with focus, under a line of tabs) below that or when zoomed with ``z``.

The layout follows the focus: 1-5 move the focus first, and the focus change shows the pane.
Hiding a pane while it still had focus would make it hand focus to the next widget.
"""

from __future__ import annotations

from textual import on
from textual.widgets import Input

from warroom.ui.widgets.panes import NARROW_WIDTH, PaneTabs

PANES = {
    "incidents": "#incidents",
    "timeline": "#timeline",
    "roster": "#roster",
    "checklist": "#checklist",
    "comms": "#comms",
}


class LayoutHandlers:
    """Mixed into ``WarRoomApp``."""

    def _set_layout(self, active: str | None = None) -> None:
        tabs = self.query_one(PaneTabs)
        if active is not None:
            tabs.active = active
        screen = self.query_one("#body").screen
        screen.set_class(tabs.zoomed or self.size.width < NARROW_WIDTH, "-single")
        screen.set_class(tabs.active != "timeline", "-side")
        for pane, selector in PANES.items():
            self.query_one(selector).set_class(pane == tabs.active, "-active")

    def _pane_of(self, widget) -> str | None:
        for node in widget.ancestors_with_self:
            for pane, selector in PANES.items():
                if node.id == selector[1:]:
                    return pane
            if node.id == "main":
                return "timeline"  # the scribe box, the search bar: they belong with the timeline
        return None

    def on_resize(self) -> None:
        self.screen.set_class(self.size.height < 32, "-compact")
        self._set_layout()

    def on_descendant_focus(self, event) -> None:
        # With blinking off (snapshot tests), every input, dialogs' included, shows a steady cursor.
        if not self._cursor_blink and isinstance(event.widget, Input):
            event.widget.cursor_blink = False
        # Before the incidents are loaded, Textual's first automatic focus must not switch the
        # layout: the load then focuses the scribe box, which that switch would have hidden.
        pane = self._pane_of(event.widget)
        if self.loaded and pane is not None and event.widget.screen is self.query_one("#body").screen:
            self._set_layout(pane)

    def action_focus_pane(self, pane: str) -> None:
        self.query_one(PANES[pane]).focus()

    def action_toggle_zoom(self) -> None:
        tabs = self.query_one(PaneTabs)
        tabs.zoomed = not tabs.zoomed
        self._set_layout(self._pane_of(self.focused) if self.focused is not None else None)

    @on(Input.Changed)
    def _say_when_a_field_is_full(self, event: Input.Changed) -> None:
        limit = event.input.max_length
        if limit and len(event.value) >= limit:
            # A full field stops taking keys: say so rather than drop what is typed silently.
            self.notify(f"This field holds at most {limit} characters; the rest was not taken.", severity="warning", timeout=4)
