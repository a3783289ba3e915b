"""The comms pane: templates to draft from, draft and conflict markers, the last update sent."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from warroom.comms.templates import Template
from warroom.domain.models import Incident


class CommsPane(OptionList):
    """Enter opens a template as a draft filled from live state.

    | Key | Action |
    | --- | --- |
    | enter | open the draft |
    | p | set a status-page component's state |
    """

    BINDINGS = [Binding("p", "component", "Status page", id="comms.component")]

    DEFAULT_CSS = """
    CommsPane {
        height: 1fr;
        min-height: 3;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    class DraftRequested(Message):
        """The user wants to draft an update from ``template_id``."""

        def __init__(self, pane: CommsPane, template_id: str) -> None:
            super().__init__()
            self.pane = pane
            self.template_id = template_id

        @property
        def control(self) -> CommsPane:
            return self.pane

    class ComponentRequested(Message):
        """The user wants to change a status-page component."""

        def __init__(self, pane: CommsPane) -> None:
            super().__init__()
            self.pane = pane

        @property
        def control(self) -> CommsPane:
            return self.pane

    def show(self, templates: dict[str, Template], incident: Incident | None) -> None:
        signature = (
            (incident.id, tuple(templates), tuple((t, len(v)) for t, v in incident.drafts.items()), tuple(incident.components.items()), len(incident.sent_updates))
            if incident
            else None
        )
        if signature == getattr(self, "_signature", ()) and self.option_count:
            return  # nothing this pane shows has changed: skip the rebuild (and its layout)
        self._signature = signature
        highlighted = self.highlighted
        self.clear_options()
        if incident is None:
            return
        for template in templates.values():
            label = Text(no_wrap=True, overflow="ellipsis")
            heads = incident.draft_heads(template.id)
            if len(heads) > 1:
                label.append("⚠ ", style="bold reverse")
            elif heads:
                label.append("✎ ", style="bold")
            else:
                label.append("  ")
            label.append(template.name)
            label.append(f"  {template.channel.value}", style="dim")
            if len(heads) > 1:
                label.append(f"  {len(heads)} versions: conflict", style="bold")
            self.add_option(Option(label, id=template.id))
        for name, state in incident.components.items():
            self.add_option(Option(Text(f"  ◉ {name}: {state.value}", style="italic"), disabled=True))
        if incident.sent_updates:
            last = incident.sent_updates[-1]
            self.add_option(
                Option(Text(f"  last sent {last.at:%H:%M} {last.channel.value} by {last.actor}", style="dim"), disabled=True)
            )
        if highlighted is not None and highlighted < self.option_count:
            self.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.DraftRequested(self, event.option.id))

    def action_component(self) -> None:
        self.post_message(self.ComponentRequested(self))
