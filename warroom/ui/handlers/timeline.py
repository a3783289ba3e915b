"""The timeline and the scribe box: log a line, look at, amend, redact or promote an entry,
search."""

from __future__ import annotations

from textual.widgets import Input, Static

from warroom.domain import changes
from warroom.ui.keymap import key_for
from warroom.ui.widgets.scribe import ScribeInput
from warroom.ui.widgets.search import SearchBar
from warroom.ui.widgets.timeline import TimelineView, describe_entry, entry_label


class TimelineHandlers:
    """Mixed into ``WarRoomApp``."""

    # --- the scribe box (its queue is ScribeDesk's, wired in GuardHandlers) -----------------

    def on_scribe_input_left(self, _message: ScribeInput.Left) -> None:
        self.query_one(TimelineView).focus()

    # --- one entry -------------------------------------------------------------------------

    def on_timeline_view_cursor_moved(self, message: TimelineView.CursorMoved) -> None:
        detail = self.query_one("#detail", Static)
        text = (
            ""
            if message.entry is None
            else describe_entry(message.entry, local_time=message.timeline.local_time, local_zone=message.timeline.zone)
        )
        if text != getattr(detail, "shown_text", None):  # an Enter moves the cursor twice
            detail.shown_text = text
            detail.update(text, layout=False)  # its height is fixed: no layout for a new line

    def on_timeline_view_details_requested(self, message: TimelineView.DetailsRequested) -> None:
        from warroom.ui.screens.entry import EntryScreen

        incident = self.current
        if incident is None:
            return
        if message.entry.id in incident.command_runs and not message.entry.redacted:
            self.show_command_output(incident.id, message.entry.id)  # the output is the detail
            return
        self.push_screen(EntryScreen(message.entry, local_time=message.timeline.local_time))

    def _editable(self, message: TimelineView._EntryMessage) -> str | None:
        """The selected incident's id when the entry may be changed by a person."""
        incident = self.current
        if incident is None:
            return None
        if message.entry.kind.is_automatic:
            self.notify("Automatic entries record state changes and cannot be edited.", severity="warning")
            return None
        return incident.id

    def on_timeline_view_promote_requested(self, message: TimelineView.PromoteRequested) -> None:
        incident_id = self._editable(message)
        if incident_id is not None:
            self.apply(
                lambda: self.desk.promote_todo(incident_id, message.entry.id),
                done=lambda: self.notify(f"Promoted to an action item ({key_for('followup.action_items', self)} lists them).", timeout=3),
            )

    def on_timeline_view_amend_requested(self, message: TimelineView.AmendRequested) -> None:
        from warroom.ui.screens.pickers import TextPrompt

        incident_id = self._editable(message)
        if incident_id is None:
            return
        entry = message.entry

        def submit(text, saved, refused) -> None:  # the prompt stays open until it is saved
            decide = lambda: self.desk.amend(incident_id, entry.id, text)  # noqa: E731
            self.confirm_change(changes.amendment(entry, text), decide, done=lambda _e: saved(), failed=refused)

        self.push_screen(
            TextPrompt("Amend entry (the original is kept)", value=entry.text, context=entry_label(entry), submit=submit)
        )

    def on_timeline_view_redact_requested(self, message: TimelineView.RedactRequested) -> None:
        from warroom.ui.screens.pickers import TextPrompt

        incident_id = self._editable(message)
        if incident_id is None:
            return
        entry = message.entry

        def submit(reason, saved, refused) -> None:
            decide = lambda: self.desk.redact(incident_id, entry.id, reason)  # noqa: E731
            self.confirm_change(changes.redaction(entry, reason), decide, done=lambda _e: saved(), failed=refused)

        prompt = TextPrompt(
            "Redact entry: why?",
            placeholder="e.g. contained a customer email address",
            hint="The text is hidden; the entry and its history remain · Enter, then confirm",
            context=entry_label(entry),
            submit=submit,
        )
        self.push_screen(prompt)

    # --- search ----------------------------------------------------------------------------

    def on_timeline_view_search_requested(self, _message: TimelineView.SearchRequested) -> None:
        bar = self.query_one(SearchBar)
        bar.add_class("-shown")
        bar.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "search":
            return
        from warroom.domain.timeline_filter import FilterError, parse_filter

        bar = self.query_one(SearchBar)
        try:
            timeline_filter = parse_filter(event.value, self.clock.now())
        except FilterError as exc:
            bar.add_class("-invalid")
            bar.border_subtitle = str(exc)
            return
        bar.remove_class("-invalid")
        bar.border_subtitle = ""
        self.query_one(TimelineView).set_filter(timeline_filter)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            event.stop()
            self.query_one(TimelineView).focus()

    def on_search_bar_cancelled(self, _message: SearchBar.Cancelled) -> None:
        self._close_search()

    def on_timeline_view_filter_cleared(self, _message: TimelineView.FilterCleared) -> None:
        self._close_search()

    def _close_search(self) -> None:
        from warroom.domain.timeline_filter import TimelineFilter

        bar = self.query_one(SearchBar)
        bar.value = ""
        bar.remove_class("-shown", "-invalid")
        timeline = self.query_one(TimelineView)
        timeline.set_filter(TimelineFilter())
        timeline.focus()
