"""The war-room header: what is burning, how bad, for how long, and who you are."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from warroom.domain.text import safe_line
from warroom.domain.models import Incident, format_duration
from warroom.ui.styles import overdue_style, severity_badge, status_text


class HeaderBar(Widget):
    """One line: SEV badge, title, status, elapsed time, UTC clock, user, sync state.

    The app calls ``update_now`` once a second with its clock's time (never reads the clock
    itself, so a frozen clock gives a frozen header in tests).
    """

    DEFAULT_CSS = """
    HeaderBar {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    incident: reactive[Incident | None] = reactive(None, always_update=True)
    """The selected incident (None: no incident yet)."""
    now: reactive[datetime | None] = reactive(None)
    """The current time, set by the app's ticking clock."""
    user: reactive[str] = reactive("")
    """Whose console this is."""
    sync_label: reactive[str] = reactive("local only")
    """Sync state in words: 'local only', 'online', 'offline since 14:02 · 3 pending'…"""
    sync_ok: reactive[bool] = reactive(True)
    """False when sync needs attention (offline, rejected events)."""
    cadence_text: reactive[str] = reactive("")
    """'next update 12:34', 'UPDATE OVERDUE 3:12', or empty when no cadence applies."""
    cadence_overdue: reactive[bool] = reactive(False)

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        incident = self.incident
        right = Text(no_wrap=True)
        if incident is not None and self.now is not None:
            elapsed = format_duration(incident.elapsed_seconds(self.now))
            right.append(" ⏱ ", style="bold")
            right.append(elapsed, style="bold")
            if not incident.is_active:
                right.append(" (closed)", style="dim")
        if self.cadence_text:
            right.append("  ")
            right.append(
                f" {self.cadence_text} " if self.cadence_overdue else self.cadence_text,
                style=overdue_style() if self.cadence_overdue else "",
            )
        if self.now is not None:
            right.append(f"  {self.now:%H:%M:%S}Z", style="bold")
        # Narrow terminals (80 columns over SSH): the name is the first thing to go; the
        # sync state and the clocks matter more at 3 a.m.
        if self.user and self.size.width >= 100:
            right.append(f"  {self.user}", style="italic")
        right.append("  ")
        right.append(
            f"⇅ {self.sync_label}",
            style="" if self.sync_ok else "bold reverse",
        )
        right.append(" ")
        if incident is None:
            line.append(" warroom ", style="bold reverse")
            line.append("  no incident selected — press n to declare one", style="italic")
        else:
            line.append_text(severity_badge(incident.severity, long=self.size.width >= 100))
            line.append(" ")
            line.append_text(status_text(incident.status))
            line.append("  ")
            room = max(8, self.size.width - line.cell_len - right.cell_len - 1)
            title = safe_line(incident.title)
            title = title if len(title) <= room else title[: room - 1] + "…"
            line.append(title, style="bold")
        padding = self.size.width - line.cell_len - right.cell_len
        if padding > 0:
            line.append(" " * padding)
        line.append_text(right)
        return line
