"""An entry's details: full text, the fields behind it (an alert's labels and annotations)
and every revision (nothing is ever deleted)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from warroom.domain.ids import short_id
from warroom.domain.models import Incident, TimelineEntry
from warroom.ui.screens.modal import Dialog
from warroom.ui.widgets.timeline import describe_entry


class EntryScreen(Dialog[None]):
    """Read-only view of one entry and its history."""

    BINDINGS = [
        Binding("escape,enter,q", "dismiss(None)", "Close", id="entry.close"),
    ]
    DEFAULT_CSS = """
    EntryScreen, RoleHistoryScreen {
        & > VerticalScroll { width: 90; max-height: 90%; }
    }
    """

    def __init__(self, entry: TimelineEntry, *, local_time: bool) -> None:
        super().__init__()
        self._entry = entry
        self._local_time = local_time

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"Entry {short_id(self._entry.id)}"
            yield Static(describe_entry(self._entry, local_time=self._local_time))
            if self._entry.details:
                details = Text("\nDetails\n", style="bold")
                for key, value in self._entry.details.items():
                    details.append(f"{key}: ", style="dim")
                    details.append(value + "\n")
                yield Static(details, id="entry-details")
            history = Text("\nHistory\n", style="bold")
            for number, revision in enumerate(self._entry.revisions):
                what = "redacted" if revision.redaction else ("written" if number == 0 else "amended")
                history.append(f"{revision.at:%Y-%m-%d %H:%M:%S}Z {what} by {revision.actor}: ", style="dim")
                history.append(revision.text + "\n")
            yield Static(history)


class RoleHistoryScreen(Dialog[None]):
    """Every assignment and handover of the incident, oldest first."""

    BINDINGS = [Binding("escape,enter,q,h", "dismiss(None)", "Close", id="role_history.close")]

    def __init__(self, incident: Incident) -> None:
        super().__init__()
        self._incident = incident

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Role history"
            lines = Text()
            for change in self._incident.role_history:
                lines.append(f"{change.at:%Y-%m-%d %H:%M:%S}Z ", style="dim")
                lines.append(f"{change.role}: ", style="bold")
                lines.append(f"{change.old or '—'} → {change.new or '—'}")
                lines.append(f"  (by {change.actor})\n", style="dim")
            yield Static(lines if lines.plain else "No roles assigned yet.")
