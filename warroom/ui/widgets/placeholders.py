"""Checklist and comms panes: present and focusable now, filled by later features."""

from __future__ import annotations

from textual.widgets import Static


class ChecklistPane(Static, can_focus=True):
    """Runbook checklists for the selected incident (runbooks attach in a later release)."""

    DEFAULT_CSS = """
    ChecklistPane {
        height: 1fr;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            "No runbook attached yet.\nRunbook checklists will appear here.", id=id
        )


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
