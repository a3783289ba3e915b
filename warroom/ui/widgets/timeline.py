"""The live timeline: one line per entry, rendered on demand.

Like Textual's ``Log`` and toolong's ``LogLines``, this is a ``ScrollView`` whose virtual
height is the entry count; ``render_line`` builds only the lines on screen (cached as
``Strip``s), so opening or appending to a 100,000-entry timeline costs the same as a short one.

The entry under the cursor is the exception: it is wrapped over as many rows as its text
needs (up to ``_CURSOR_ROWS``), so it is read whole where it stands; every other entry keeps
one row, cut with … .
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timezone, tzinfo

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from warroom.domain.text import safe, safe_line, safe_name
from warroom.domain.ids import short_id
from warroom.domain.models import TimelineEntry
from warroom.domain.timeline_filter import TimelineFilter
from warroom.ui.styles import kind_glyph, kind_style

_CACHE_SIZE = 512
_CURSOR_ROWS = 8
"""At most this many rows for the entry under the cursor (Enter shows any entry whole)."""


class TimelineView(ScrollView, can_focus=True):
    """The incident's timeline, oldest first; follows new entries while at the bottom.

    | Key | Action |
    | --- | --- |
    | up/down, j/k | move the cursor |
    | pageup/pagedown | page |
    | home/end, g/G | first / last entry |
    | enter | entry details and history |
    | e | amend the entry |
    | x | redact the entry |
    | p | promote a /todo entry to an action item |
    | v | confirm or rule out a /hypothesis entry |
    | / | search and filter (text, kind:, actor:, since:, until:) |
    | escape | clear the filter, staying on the selected entry |
    """

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="timeline.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="timeline.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="timeline.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="timeline.page_down"),
        Binding("home,g", "first", "First", show=False, id="timeline.first"),
        Binding("end,G", "last", "Last", show=False, id="timeline.last"),
        Binding("enter", "details", "Details", id="timeline.details"),
        Binding("e", "amend", "Amend", id="timeline.amend"),
        Binding("x", "redact", "Redact", id="timeline.redact"),
        Binding("p", "promote", "Todo → action item", id="timeline.promote"),
        Binding("v", "verdict", "Verdict", show=False, id="timeline.verdict", tooltip="Confirm or rule out the selected hypothesis"),
        Binding("slash", "search", "Search", id="timeline.search"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="timeline.clear_filter"),
    ]

    COMPONENT_CLASSES = {
        "timeline--cursor",
        "timeline--time",
        "timeline--actor",
        "timeline--meta",
        "timeline--match",
    }

    DEFAULT_CSS = """
    TimelineView {
        height: 1fr;
        scrollbar-gutter: stable;
        overflow-x: hidden;  /* long entries are cut with … and shown whole below */
        & > .timeline--cursor { background: $primary 30%; }
        &:focus > .timeline--cursor { background: $primary 55%; text-style: bold; }
        & > .timeline--time { color: $text-muted; }
        & > .timeline--actor { color: $secondary; }
        & > .timeline--meta { color: $text-muted; text-style: italic; }
        & > .timeline--match { background: $warning 60%; color: $text; text-style: bold; }
    }
    """

    cursor: reactive[int] = reactive(-1)
    """Index of the selected entry (-1: empty timeline)."""
    local_time: reactive[bool] = reactive(False)
    """Show times in the machine's local zone instead of UTC."""
    zone: tzinfo | None = None
    """The local zone (set by the app, so the scribe reads typed times in the same zone);
    None: the system's, as ``datetime.astimezone()`` knows it."""

    class _Posted(Message):
        def __init__(self, timeline: TimelineView) -> None:
            super().__init__()
            self.timeline = timeline

        @property
        def control(self) -> TimelineView:
            return self.timeline

    class _EntryMessage(_Posted):
        def __init__(self, timeline: TimelineView, entry: TimelineEntry) -> None:
            super().__init__(timeline)
            self.entry = entry

    class DetailsRequested(_EntryMessage):
        """Enter on an entry: show it whole, with every revision."""

    class AmendRequested(_EntryMessage):
        """The user wants to change the entry's text (the original is kept)."""

    class RedactRequested(_EntryMessage):
        """The user wants to hide the entry's text."""

    class PromoteRequested(_EntryMessage):
        """The user wants this /todo to become an action item."""

    class VerdictRequested(_EntryMessage):
        """The user wants to confirm, rule out or reopen this /hypothesis."""

    class SearchRequested(_Posted):
        """The user pressed / to search the timeline."""

    class FilterCleared(_Posted):
        """The filter was removed (Esc in the timeline)."""

    class CursorMoved(_Posted):
        """The selected entry changed (the detail line follows it)."""

        def __init__(self, timeline: TimelineView, entry: TimelineEntry | None) -> None:
            super().__init__(timeline)
            self.entry = entry

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._entries: list[TimelineEntry] = []
        """What is shown: the incident's entries, or those matching the filter."""
        self._all: list[TimelineEntry] = []
        self._filter: TimelineFilter = TimelineFilter()
        self._known_count = 0
        self._cache: OrderedDict[tuple, Strip] = OrderedDict()
        self._all_count = 0
        self._show_date = False
        self._cursor_strips: list[Strip] = []
        """The rows of the entry under the cursor (one or more), for the current width."""
        self._pending: list[tuple[datetime, str, str, str]] = []
        """Lines being saved (time, kind, author, text), drawn after the entries."""
        self.previewing = False
        """Showing only the latest entries while the rest load (``show_preview``)."""

    # --- feeding ---------------------------------------------------------------------------

    @property
    def entries(self) -> list[TimelineEntry]:
        return self._entries

    @property
    def selected(self) -> TimelineEntry | None:
        if 0 <= self.cursor < len(self._entries):
            return self._entries[self.cursor]
        return None

    def show_preview(self, entries: list[TimelineEntry]) -> None:
        """Show the latest entries while older ones load, saying so; until ``show`` brings
        the whole timeline, a search covers only these and entries cannot be acted on."""
        self.loading = False
        self.show(entries, reset=True)
        self.previewing = True
        self._say_count()

    def show(self, entries: list[TimelineEntry], *, reset: bool) -> None:
        """Show ``entries`` (the incident's live list). ``reset``: a different incident, so
        jump to its end; otherwise keep following if we were at the end."""
        self.previewing = False
        following = reset or self.cursor >= self._known_count - 1
        grew = not reset and entries is self._all and len(entries) > self._all_count
        self._all = entries
        entries = self._filter.apply(entries)
        self._entries = entries
        self._known_count = len(entries)
        if not grew:
            # Another incident, a theme, an entry changed in place: draw every line afresh.
            # When entries were only added (the live case) the cached lines stay: their keys
            # carry what each line shows, so one that moved or changed is drawn again.
            self._cache.clear()
        self._all_count = len(self._all)
        self._show_date = bool(entries) and entries[0].at.date() != entries[-1].at.date()
        self._cursor_strips = []
        cursor = len(entries) - 1 if following else min(self.cursor, len(entries) - 1)
        moved = cursor != self.cursor
        if not moved:
            self._set_virtual_size()  # a moved cursor's watcher does it (and says it moved)
        self.cursor = cursor
        if following:
            if grew:  # the live case, at a size already laid out: now, in the new line's frame
                self.scroll_to_region_of_cursor()
            self.call_after_refresh(self.scroll_to_region_of_cursor)
        self._say_count()
        self.refresh()
        if not moved:
            # The selected entry may have changed in place (amended, redacted): the detail
            # line below must say so now, not when the cursor next moves.
            self.post_message(self.CursorMoved(self, self.selected))

    def _say_count(self) -> None:
        shown, total = len(self._entries), len(self._all)
        if self.previewing:
            found = f"{shown} of them · {self._filter.describe()} · " if not self._filter.is_empty else ""
            self.border_subtitle = f"latest {total} entries · {found}loading older entries…"
        elif not self._filter.is_empty:
            self.border_subtitle = f"{shown} of {total} · {self._filter.describe()}"
        else:
            self.border_subtitle = f"{total} entries"

    @property
    def pending(self) -> list[tuple[datetime, str, str, str]]:
        return self._pending

    def set_pending(self, rows: list[tuple[datetime, str, str, str]]) -> None:
        """Lines typed but not yet on disk: shown after the entries as *saving* until they
        arrive as entries (``show``)."""
        if rows == self._pending:
            return
        following = self.cursor >= self._known_count - 1
        self._pending = rows
        self._resize_virtually(Size(0, len(self._entries) + self._extra_rows() + len(rows)))
        if following:
            self.call_after_refresh(self.scroll_to_region_of_cursor)
        self.refresh()

    @property
    def filter(self) -> TimelineFilter:
        return self._filter

    def set_filter(self, timeline_filter: TimelineFilter) -> None:
        """Show only matching entries (highlighting the words); an empty filter shows all,
        keeping the selected entry under the cursor."""
        selected = self.selected
        self._filter = timeline_filter
        previewing = self.previewing
        self.show(self._all, reset=False)
        if previewing:  # still only the latest entries: say so (the whole list refilters)
            self.previewing = True
            self._say_count()
        if selected is not None and selected in self._entries:
            self._move_to(self._entries.index(selected))
        elif self._entries:
            self._move_to(len(self._entries) - 1)

    # --- rendering -------------------------------------------------------------------------

    def _extra_rows(self) -> int:
        """Rows the entry under the cursor takes beyond its own."""
        return max(0, len(self._cursor_strips) - 1)

    def _resize_virtually(self, size: Size) -> None:
        """Set the number of rows. While the scroll bar stays as it is (shown before and
        after, or not needed before and after), nothing but this pane and its scroll bar
        changes: they are redrawn without laying out the whole screen again (that layout was
        most of the time a new entry took to appear)."""
        old = self.virtual_size
        height = self.scrollable_content_region.height
        overflowed = old.height > height
        if size == old or not height or size.width != old.width or overflowed != (size.height > height) or overflowed != self.show_vertical_scrollbar:
            self.virtual_size = size
            return
        self.set_reactive(TimelineView.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    def _set_virtual_size(self) -> None:
        width = self.scrollable_content_region.width
        self._cursor_strips = self._render_cursor(width) if self.selected is not None and width > 0 else []
        self._resize_virtually(Size(0, len(self._entries) + self._extra_rows() + len(self._pending)))
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        following = self.cursor == len(self._entries) - 1
        if self._extra_rows() and (following or top <= self.cursor < top + height):
            # The selected entry grew or shrank where the reader looks: keep all of it on
            # screen once the new height is laid out (scrolling now would stop at the old end).
            self.call_after_refresh(self.scroll_to_region_of_cursor)

    def _entry_at_row(self, row: int) -> int:
        """The entry index shown at virtual ``row``."""
        if row <= self.cursor or self.cursor < 0:
            return row
        return max(self.cursor, row - self._extra_rows())

    def watch_cursor(self, old: int, new: int) -> None:
        self._set_virtual_size()
        self.refresh()
        self.post_message(self.CursorMoved(self, self.selected))

    def on_focus(self) -> None:
        self.refresh()  # the cursor row looks different with focus

    def on_blur(self) -> None:
        self.refresh()

    def watch_local_time(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_resize(self) -> None:
        self._cache.clear()
        self._set_virtual_size()
        # Whatever changed our height (terminal resize, compact mode), keep the selected
        # entry on screen; when following, that keeps the newest entry visible.
        self.call_after_refresh(self.scroll_to_region_of_cursor)

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        extra = self._extra_rows()
        # The cursor's look depends on focus: applied here, at draw time, never cached.
        cursor_style = self.get_component_rich_style("timeline--cursor")
        if row == self.cursor and extra and y + extra >= self.scrollable_content_region.height > extra:
            # The selected entry's last rows fall below the window (its height changed after
            # the last scroll, e.g. the header grew): bring them in on the next frame.
            self.call_after_refresh(self.scroll_to_region_of_cursor)
        if 0 <= self.cursor <= row <= self.cursor + extra and self._cursor_strips:
            strip = self._cursor_strips[row - self.cursor]
            if strip.cell_length == width:
                return strip.apply_style(cursor_style).apply_offsets(0, self.cursor)
        index = self._entry_at_row(row)
        if index >= len(self._entries):
            pending = index - len(self._entries)
            if pending < len(self._pending):
                return self._render_pending(self._pending[pending], width).apply_offsets(0, index)
            return Strip.blank(width, self.rich_style)
        entry = self._entries[index]
        key = ("line", index, entry.id, entry.text, entry.redacted, entry.amended, self._show_date)
        strip = self._cache.get(key)
        if strip is None or strip.cell_length != width:
            strip = self._render_entry(index, width)
            self._cache[key] = strip
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        if index == self.cursor:
            strip = strip.apply_style(cursor_style)
        return strip.apply_offsets(0, index)

    def _time_text(self, at: datetime) -> str:
        shown = at.astimezone(self.zone) if self.local_time else at.astimezone(timezone.utc)
        return f"{shown:%m-%d %H:%M}" if self._show_date else f"{shown:%H:%M:%S}"

    def _render_cursor(self, width: int) -> list[Strip]:
        """The entry under the cursor over as many rows as its text needs: the columns on the
        first row, the text wrapped below them, indented to where it starts."""
        entry = self.selected
        first = self._entry_line(self.cursor, width)
        if entry is None or first.cell_len <= width:
            return [self._to_strip(first, width, self.cursor)]
        prefix = self._entry_prefix(entry, width)
        body = first[len(prefix.plain):]
        # Continuation rows start under the text; on a very narrow pane, under the time.
        indent = prefix.cell_len if width - prefix.cell_len >= 24 else 2
        rows: list[Text] = [] if indent == prefix.cell_len else [prefix.copy()]
        for piece in body.wrap(self.app.console, width - indent, overflow="fold"):
            row = prefix.copy() if not rows else Text(" " * indent)
            row.append_text(piece)
            rows.append(row)
        if len(rows) > _CURSOR_ROWS:
            rows = rows[: _CURSOR_ROWS - 1] + [Text(" " * indent + "… enter shows the whole entry", style="dim italic")]
        return [self._to_strip(row, width, self.cursor) for row in rows]

    def _to_strip(self, line: Text, width: int, index: int) -> Strip:
        base = self.rich_style
        line = line.copy()
        line.no_wrap = True
        line.truncate(width, overflow="ellipsis", pad=True)
        segments = [
            Segment(seg.text, base + seg.style if seg.style else base)
            for seg in line.render(self.app.console)
            if seg.text != "\n"
        ]
        return Strip(segments).crop_extend(0, width, base)

    def _entry_prefix(self, entry: TimelineEntry, width: int) -> Text:
        """Time, glyph, kind and author: the columns before the text."""
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        line.append(self._time_text(entry.at), style=self.get_component_rich_style("timeline--time"))
        line.append("↶" if entry.backdated else " ", style="dim")
        style = kind_style(entry.kind)
        line.append(kind_glyph(entry.kind) + " ", style=style)
        if width >= 70:
            # Every row has the kind column (automatic ones too), so authors line up.
            line.append(f"{entry.kind.value:<12}", style=style)
        actor_width = 12 if width >= 70 else 8
        actor = safe_name(entry.actor)  # again at the output: the state is already clean
        actor = actor if len(actor) <= actor_width else actor[: actor_width - 1] + "…"
        line.append(f"{actor:<{actor_width}} ", style=self.get_component_rich_style("timeline--actor"))
        return line

    def _entry_line(self, index: int, width: int) -> Text:
        """The whole entry on one (possibly too long) line."""
        entry = self._entries[index]
        style = kind_style(entry.kind)
        line = self._entry_prefix(entry, width)
        if entry.redacted:
            line.append(f"[redacted by {safe_name(entry.revisions[-1].actor)}]", style=self.get_component_rich_style("timeline--meta"))
        else:
            line.append(safe_line(entry.text), style=style if entry.kind.is_automatic else Style())
            if self._filter.words:
                line.highlight_words(self._filter.words, self.get_component_rich_style("timeline--match"), case_sensitive=False)
            if entry.amended:
                line.append(" ✎", style=self.get_component_rich_style("timeline--meta"))
        return line

    def _render_entry(self, index: int, width: int) -> Strip:
        return self._to_strip(self._entry_line(index, width), width, index)

    def _render_pending(self, row: tuple[datetime, str, str, str], width: int) -> Strip:
        at, _kind, actor, text = row
        style = self.get_component_rich_style("timeline--meta")
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        line.append(self._time_text(at) + "  ", style=self.get_component_rich_style("timeline--time"))
        line.append("⋯ ", style=style)
        actor_width = 12 if width >= 70 else 8
        if width >= 70:
            line.append(f"{'saving…':<12}", style=style)
        actor = safe_name(actor)
        actor = actor if len(actor) <= actor_width else actor[: actor_width - 1] + "…"
        line.append(f"{actor:<{actor_width}} ", style=self.get_component_rich_style("timeline--actor"))
        line.append(safe_line(text), style=style)
        if width < 70:
            line.append(" (saving…)", style=style)
        return self._to_strip(line, width, -1)

    # --- actions ---------------------------------------------------------------------------

    def _move_to(self, index: int) -> None:
        if not self._entries:
            return
        self.cursor = max(0, min(index, len(self._entries) - 1))
        self.scroll_to_region_of_cursor()
        self.call_after_refresh(self.scroll_to_region_of_cursor)  # once its rows are laid out

    def scroll_to_region_of_cursor(self) -> None:
        """Keep every row of the selected entry on screen (its first row wins if it is taller)."""
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        last = self.cursor + min(self._extra_rows(), max(0, height - 1))
        if self._pending and self.cursor >= len(self._entries) - 1:
            # On the last entry, the lines still being saved below it are kept in view too.
            last = max(last, min(self.cursor + height - 1, len(self._entries) + self._extra_rows() + len(self._pending) - 1))
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif last >= top + height:
            self.scroll_to(y=last - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self._entries) - 1)

    def _post_for_entry(self, message_type: type[_EntryMessage]) -> None:
        if self.previewing:
            self.notify("Older entries are still loading: try again in a moment.", title="Loading")
            return
        if self.selected is not None:
            self.post_message(message_type(self, self.selected))

    def action_details(self) -> None:
        self._post_for_entry(self.DetailsRequested)

    def action_amend(self) -> None:
        self._post_for_entry(self.AmendRequested)

    def action_redact(self) -> None:
        self._post_for_entry(self.RedactRequested)

    def action_promote(self) -> None:
        self._post_for_entry(self.PromoteRequested)

    def action_verdict(self) -> None:
        self._post_for_entry(self.VerdictRequested)

    def action_search(self) -> None:
        self.post_message(self.SearchRequested(self))

    def action_clear_filter(self) -> None:
        if not self._filter.is_empty:
            self.set_filter(TimelineFilter())
            self.post_message(self.FilterCleared(self))

    def on_click(self, event) -> None:
        index = self._entry_at_row(self.scroll_offset.y + event.y)
        if 0 <= index < len(self._entries):
            self.cursor = index


def describe_entry(entry: TimelineEntry, *, local_time: bool = False, local_zone: tzinfo | None = None) -> Text:
    """The detail line under the timeline: full text plus who, when and history."""
    at = entry.at.astimezone(local_zone) if local_time else entry.at
    zone = f" {at.tzname()}" if local_time and at.tzname() else ("" if local_time else "Z")
    text = Text()
    text.append(f"{at:%Y-%m-%d %H:%M:%S}{zone} ", style="bold")
    text.append(f"{entry.kind.value} by {safe_name(entry.actor)}", style="italic")
    if entry.backdated:
        logged = entry.logged_at.astimezone(local_zone) if local_time else entry.logged_at
        text.append(f" · backdated, logged {logged:%H:%M:%S}{zone}", style="dim")
    if entry.amended:
        text.append(f" · {len(entry.revisions) - 1} revision(s), enter for history", style="dim")
    text.append(f" · {short_id(entry.id)}\n", style="dim")
    if entry.redacted:
        text.append(f"[redacted: {safe(entry.revisions[-1].text)}]", style="italic")
    else:
        text.append(safe(entry.text))
    return text


def entry_label(entry: TimelineEntry) -> str:
    """Which entry a dialog is about: time, author, short id and the start of its text."""
    text = entry.text if len(entry.text) <= 60 else entry.text[:59] + "…"
    return f"{entry.at:%H:%M:%S}Z {entry.actor} · {short_id(entry.id)}: “{text}”"
