"""The timeline's search bar: type to filter, Enter to browse the matches, Esc to clear."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

PLACEHOLDER = "Search: words  kind:decision,action  actor:alice  since:14:30  until:15:00"


class SearchBar(Input):
    """Hidden until / is pressed in the timeline.

    | Key | Action |
    | --- | --- |
    | enter | browse the matches in the timeline |
    | escape | clear the search and close the bar |
    """

    BINDINGS = [Binding("escape", "cancel", "Clear search", id="search.cancel")]

    DEFAULT_CSS = """
    SearchBar {
        display: none;
        &.-shown { display: block; }
        &.-invalid { border: tall $error; }
    }
    """

    class Cancelled(Message):
        """Esc: drop the filter."""

        def __init__(self, search_bar: SearchBar) -> None:
            super().__init__()
            self.search_bar = search_bar

        @property
        def control(self) -> SearchBar:
            return self.search_bar

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=PLACEHOLDER, id=id, max_length=300)

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self))
