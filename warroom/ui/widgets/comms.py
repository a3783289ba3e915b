"""The comms pane: templates to draft from, draft and conflict markers, deliveries on their
way (each attempt's result), the last update sent."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from warroom.comms.templates import Template
from warroom.domain.models import Incident
from warroom.store.deliveries import Delivery, DeliveryState

_DELIVERY = "delivery:"  # option id prefix of a delivery row
DELIVERED_SHOWN = 2
"""Delivered updates listed (the newest); queued and failed ones are always listed."""


class CommsPane(OptionList):
    """Enter opens a template as a draft filled from live state, or a delivery's attempts.

    | Key | Action |
    | --- | --- |
    | enter | open the draft / the delivery (a failed one can be sent again) |
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

    class DeliveryChosen(Message):
        """Enter on a delivery row: show its attempts (and offer to send a failed one again)."""

        def __init__(self, pane: CommsPane, delivery_id: str) -> None:
            super().__init__()
            self.pane = pane
            self.delivery_id = delivery_id

        @property
        def control(self) -> CommsPane:
            return self.pane

    def show_deliveries(self, deliveries: list[Delivery]) -> None:
        """The outbox changed (an attempt, a new delivery): redraw with it."""
        self._deliveries = deliveries
        self.show(getattr(self, "_templates", {}), getattr(self, "_incident", None))

    def _rows(self, incident: Incident) -> list[Delivery]:
        mine = [d for d in getattr(self, "_deliveries", []) if d.incident_id == incident.id]
        delivered = [d for d in mine if d.state is DeliveryState.DELIVERED][-DELIVERED_SHOWN:]
        return [d for d in mine if d.state is not DeliveryState.DELIVERED or d in delivered]

    def show(self, templates: dict[str, Template], incident: Incident | None) -> None:
        self._templates, self._incident = templates, incident
        rows = self._rows(incident) if incident else []
        signature = (
            (incident.id, tuple(templates), tuple((t, len(v)) for t, v in incident.drafts.items()), tuple(incident.components.items()), len(incident.sent_updates),
             tuple((d.id, d.state, len(d.attempts)) for d in rows))
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
        # Deliveries first: a failed or pending update is what needs eyes in a small pane.
        for delivery in rows:
            self.add_option(Option(delivery_label(delivery), id=f"{_DELIVERY}{delivery.id}"))
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
            via = f" via {last.destination}" if last.destination else ""
            self.add_option(
                Option(Text(f"  last sent {last.at:%H:%M} {last.channel.value}{via} by {last.actor}", style="dim"), disabled=True)
            )
        if highlighted is not None and highlighted < self.option_count:
            self.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and event.option.id.startswith(_DELIVERY):
            self.post_message(self.DeliveryChosen(self, event.option.id.removeprefix(_DELIVERY)))
        elif event.option.id:
            self.post_message(self.DraftRequested(self, event.option.id))

    def action_component(self) -> None:
        self.post_message(self.ComponentRequested(self))


def delivery_label(delivery: Delivery) -> Text:
    """``⟳ internal: attempt 2 failed (HTTP 503), next 15:12:40`` — state in words and a
    mark, never colour alone."""
    label = Text(no_wrap=True, overflow="ellipsis")
    last = delivery.last_attempt
    channel = delivery.channel.value
    if delivery.state is DeliveryState.DELIVERED:
        label.append("  ✓ ", style="bold")
        label.append(f"{channel} delivered {last.at:%H:%M:%S} via {delivery.destination}", style="dim")
    elif delivery.state is DeliveryState.FAILED:
        label.append("  ✗ FAILED ", style="bold reverse")
        label.append(f" {channel}: {last.detail if last else '?'} · enter: send again")
    elif last is None:
        label.append("  ⟳ ", style="bold")
        label.append(f"{channel} sending via {delivery.destination}…")
    else:
        when = f", next {delivery.next_attempt_at:%H:%M:%S}" if delivery.next_attempt_at else ""
        label.append("  ⟳ ", style="bold")
        label.append(f"{channel}: attempt {len(delivery.attempts)} failed ({last.detail}){when}")
    return label
