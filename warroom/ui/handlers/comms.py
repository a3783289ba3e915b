"""Comms: the update cadence in the header, open a draft filled from live state, save and
send versions, status-page components."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warroom.domain.models import Incident
from warroom.ui.widgets.comms import CommsPane
from warroom.ui.widgets.header import HeaderBar

if TYPE_CHECKING:
    from warroom.ui.screens.comms import DraftEditor


class CommsHandlers:
    """Mixed into ``WarRoomApp``."""

    def cadence_words(self, incident: Incident | None) -> tuple[str, bool]:
        """('update due 15:19Z (in 6m)', overdue?): the header's and the draft editor's words."""
        from warroom.domain.cadence import describe

        timing = self.desk.cadence(incident) if incident else None
        return (describe(timing), timing.overdue) if timing else ("", False)

    def _tick(self) -> None:
        self.query_one(HeaderBar).now = self.clock.now()
        self._show_cadence()

    def _show_cadence(self) -> None:
        header = self.query_one(HeaderBar)
        header.cadence_text, header.cadence_overdue = self.cadence_words(self.current)
        show_cadence = getattr(self.screen, "show_cadence", None)  # the draft editor says it too
        if show_cadence is not None:
            show_cadence(header.cadence_text, header.cadence_overdue)
        if header.cadence_overdue and not self._was_overdue and self.config.bell_when_overdue:
            self.bell()
        self._was_overdue = header.cadence_overdue

    def on_comms_pane_draft_requested(self, message: CommsPane.DraftRequested) -> None:
        self.open_draft(message.template_id)

    def action_status_update(self) -> None:
        self.open_draft("status-update")

    def open_draft(self, template_id: str) -> None:
        incident = self.require_incident()
        template = self.desk.library.templates.get(template_id) if self.loaded else None
        if incident is None or template is None:
            return

        def render_fresh() -> str:
            return self.desk.render(incident.id, template.id)

        heads = incident.draft_heads(template.id)
        destinations = {name: destination.type.value for name, destination in self.config.channels.items()}
        sent = [u for u in incident.sent_updates if u.template_id == template.id]
        from warroom.ui.screens.comms import DraftEditor  # a text editor: imported when first opened

        editor = DraftEditor(
            template.id, template.name, template.channel, render_fresh(), heads, render_fresh, destinations,
            last_sent=sent[-1] if sent else None, cadence=self.cadence_words(incident),
        )
        self.push_screen(editor)

    def on_draft_editor_copy_requested(self, message: DraftEditor.CopyRequested) -> None:
        self.copy_to_clipboard(message.text)
        self.notify("Draft copied to the clipboard.", timeout=3)

    def on_draft_editor_write_requested(self, message: DraftEditor.WriteRequested) -> None:
        self.write_file_in_worker(message.path, lambda: message.text, saying="Draft written to")

    def on_draft_editor_save_requested(self, message: DraftEditor.SaveRequested) -> None:
        self._save_draft(message)

    def on_draft_editor_send_requested(self, message: DraftEditor.SendRequested) -> None:
        self._save_draft(message, message.channel)

    def _save_draft(self, message: DraftEditor._DraftMessage, channel=None) -> None:
        incident_id = self.selected_id
        template_id = message.editor.template_id

        def saved() -> None:
            incident = self.desk.get(incident_id)
            heads = incident.draft_heads(template_id)
            if heads and message.editor.is_attached:
                message.editor.saved(heads[-1], heads)
            if channel is None:
                self.notify("Draft saved.", timeout=2)
                return
            if self.desk.delivers(channel):  # counts as sent once delivered
                self.queue_delivery(incident_id, template_id, channel, message.text)
                return
            due = self.desk.cadence(incident).due_at
            after = f" Next update due {due:%H:%M}Z." if due else ""
            self.notify(f"Logged as sent to {channel.value}.{after}", timeout=5)

        self.apply(lambda: self.desk.save_draft(incident_id, template_id, message.text, message.bases, send_to=channel), done=saved)

    def action_set_component(self) -> None:
        incident = self.require_incident()
        if incident is None:
            return

        def chosen(result) -> None:
            if result is not None:
                name, state = result
                self.apply(lambda: self.desk.set_component(incident.id, name, state))

        from warroom.ui.screens.comms import ComponentScreen

        self.push_screen(ComponentScreen(incident.components), chosen)

    def on_comms_pane_component_requested(self, _message: CommsPane.ComponentRequested) -> None:
        self.action_set_component()
