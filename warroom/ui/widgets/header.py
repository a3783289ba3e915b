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
    """SEV badge, status, title, then duration, update cadence, UTC clock, user, sync state.

    The title has priority over everything but SEV and status: when one line cannot hold it
    with the rest, the rest moves to a line of its own, and a title longer than the screen
    wraps (up to three lines) instead of being cut to a stub.

    The app calls ``update_now`` once a second with its clock's time (never reads the clock
    itself, so a frozen clock gives a frozen header in tests).
    """

    DEFAULT_CSS = """
    HeaderBar {
        height: auto;
        max-height: 4;
        background: $panel;
        color: $foreground;
    }
    """

    incident: reactive[Incident | None] = reactive(None, always_update=True, repaint=False)
    """The selected incident (None: no incident yet). The header is drawn again only when
    what it shows changed, and the screen laid out again only when its height did (see
    ``watch_incident``)."""
    now: reactive[datetime | None] = reactive(None)
    """The current time, set by the app's ticking clock."""
    user: reactive[str] = reactive("")
    """Whose console this is."""
    sync_label: reactive[str] = reactive("local only")
    """Sync state in words: 'local only', 'online', 'offline since 14:02 · 3 pending'…"""
    sync_ok: reactive[bool] = reactive(True)
    """False when sync needs attention (offline, rejected events)."""
    cadence_text: reactive[str] = reactive("", layout=True)
    """'update due 04:30Z (in 14m)', 'UPDATE OVERDUE 04:30Z (3m late)', or empty when no
    cadence applies."""
    cadence_overdue: reactive[bool] = reactive(False)
    loading: bool = True
    """True until the journals are read: "no incident selected" then would be a lie, and an
    invitation to declare the incident again. The app clears it just before it sets the
    first ``incident``, which draws the header again."""

    _drawn: Text | None = None
    """What the last ``render`` returned."""

    def _facts(self, width: int) -> Text:
        """Duration, cadence, clock, user and sync state, most important first."""
        incident = self.incident
        right = Text(no_wrap=True, overflow="ellipsis")
        if self.cadence_text:
            right.append(
                f" {self.cadence_text} " if self.cadence_overdue else self.cadence_text,
                style=overdue_style() if self.cadence_overdue else "",
            )
            right.append("  ")
        if incident is not None and self.now is not None:
            right.append("⏱ ", style="bold")
            right.append(format_duration(incident.elapsed_seconds(self.now)), style="bold")
            if not incident.is_active:
                right.append(" (closed)", style="dim")
            right.append("  ")
        if self.now is not None:
            right.append(f"{self.now:%H:%M:%S}Z", style="bold")
            right.append("  ")
        # Narrow terminals (80 columns over SSH): the name is the first thing to go; the
        # sync state and the clocks matter more at 3 a.m.
        if self.user and width >= 100:
            right.append(self.user, style="italic")
            right.append("  ")
        right.append(f"⇅ {self.sync_label}", style="" if self.sync_ok else "bold reverse")
        right.append(" ")
        return right

    def _heading(self, width: int) -> Text:
        incident = self.incident
        line = Text()
        if incident is None:
            line.append(" warroom ", style="bold reverse")
            if self.loading:
                line.append("  loading incidents…", style="italic")
            else:
                line.append("  no incident selected — press n to declare one", style="italic")
            return line
        line.append_text(severity_badge(incident.severity, long=width >= 100))
        line.append(" ")
        line.append_text(status_text(incident.status))
        line.append("  ")
        line.append(safe_line(incident.title), style="bold")
        return line

    def watch_incident(self) -> None:
        # Every saved or received entry sets the incident; most change nothing the header
        # shows, and redrawing it anyway (or laying out the whole screen) is a good part of
        # what drawing that entry costs.
        width, height = self.content_size
        if not width:
            self.refresh(layout=True)
            return
        text = self._text(width)
        if min(4, len(text.plain.split("\n"))) != height:
            self.refresh(layout=True)
        elif (text if width == self.size.width else self._text(max(1, self.size.width))) != self._drawn:
            self.refresh()

    def render(self) -> Text:
        self._drawn = self._text(max(1, self.size.width))
        return self._drawn

    def get_content_height(self, container, viewport, width: int) -> int:
        # Measured at the width the layout offers, not the current size: at the first layout
        # the size is still 0, and a heading wrapped at width 1 would keep the header four
        # lines tall (blank ones) until something asked for another layout.
        return min(4, len(self._text(max(1, width)).plain.split("\n")))

    def _text(self, width: int) -> Text:
        heading = self._heading(width)
        facts = self._facts(width)
        if heading.cell_len + 2 + facts.cell_len <= width:
            line = heading.copy()
            line.append(" " * (width - heading.cell_len - facts.cell_len))
            line.append_text(facts)
            return line
        # Not all on one line: the title keeps its line(s), the facts get their own.
        lines = heading.wrap(self.app.console, width, overflow="fold")[:3]
        out = Text("\n").join(lines) if lines else Text()
        out.append("\n")
        if facts.cell_len < width:
            out.append(" " * (width - facts.cell_len))
        facts.truncate(width, overflow="ellipsis")
        out.append_text(facts)
        return out
