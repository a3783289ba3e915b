"""The comms pane: present and focusable now, filled when comms drafts arrive."""

from __future__ import annotations

from textual.widgets import Static


class CommsPane(Static, can_focus=True):
    """Drafts of status updates (templates fill from live state in a later release)."""

    DEFAULT_CSS = """
    CommsPane {
        height: 1fr;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("No drafts yet.\nStatus-update drafts will appear here.", id=id)
