"""The incidents pane: active incidents first (worst SEV, oldest), resolved below."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from warroom.domain.text import safe_line
from warroom.domain.ids import short_id
from warroom.domain.models import Incident
from warroom.ui.styles import STATUS_GLYPHS, severity_badge


class IncidentList(OptionList):
    """Select an incident to switch every other pane to it.

    | Key | Action |
    | --- | --- |
    | up/down | move |
    | enter | open the highlighted incident |
    """

    DEFAULT_CSS = """
    IncidentList {
        height: 1fr;
        min-height: 3;
    }
    """

    class Selected(Message):
        """The user chose an incident."""

        def __init__(self, incident_list: IncidentList, incident_id: str) -> None:
            super().__init__()
            self.incident_list = incident_list
            self.incident_id = incident_id

        @property
        def control(self) -> IncidentList:
            return self.incident_list

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._ids: list[str] = []

    def show(self, incidents: list[Incident], selected_id: str | None) -> None:
        """Re-list the incidents, keeping the highlight on ``selected_id``."""
        options = []
        ids = []
        for incident in incidents:
            # Titles wrap onto a second line rather than being cut to a stub.
            label = Text()
            label.append_text(severity_badge(incident.severity))
            label.append(f" {STATUS_GLYPHS[incident.status]} ")
            label.append(safe_line(incident.title), style="" if incident.is_active else "dim strike")
            label.append(f" {short_id(incident.id)}", style="dim")
            options.append(Option(label, id=incident.id))
            ids.append(incident.id)
        if ids == self._ids and self.option_count == len(options):
            # Same incidents in the same order: update labels in place (no flicker, keeps scroll).
            for index, option in enumerate(options):
                shown = self.get_option_at_index(index).prompt
                if not isinstance(shown, Text) or (shown.plain, shown.spans, shown.style) != (option.prompt.plain, option.prompt.spans, option.prompt.style):
                    # An unchanged label is left alone: replacing it repaints the whole list.
                    self.replace_option_prompt_at_index(index, option.prompt)
        else:
            self.clear_options()
            self.add_options(options)
            self._ids = ids
        if selected_id in ids:
            self.highlighted = ids.index(selected_id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Selected(self, event.option.id))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # Moving the highlight switches the incident too: one key less at 3 a.m.
        event.stop()
        if event.option.id and self.has_focus:
            self.post_message(self.Selected(self, event.option.id))
