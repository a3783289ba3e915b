"""Sending an update: to a real destination when the channel has one, else recorded by hand.

``send_update`` is what "mark as sent" does in both front ends. A channel with a destination
in the config queues a delivery (durably, before any attempt) and returns it: the caller then
attempts it (``DeliveryService.deliver`` in the CLI, ``run_due`` in the console's worker), and
the update counts as sent only once it is delivered. A channel without one records the
update as sent at once, as before.
"""

from __future__ import annotations

from collections.abc import Callable

from warroom.comms.delivery import DeliveryService
from warroom.domain import commands
from warroom.domain.commands import DomainError
from warroom.domain.events import Event
from warroom.domain.models import CommsChannel
from warroom.store.config import Config
from warroom.store.deliveries import Delivery, DeliveryOutbox
from warroom.store.workspace import Workspace

UPDATE_MAX_CHARS = 20_000
"""What an update event holds (a delivered update is recorded with its whole text)."""


def recorder(workspace: Workspace) -> Callable[[Delivery], None]:
    """Journals a delivered update as ``comms.delivered`` under the delivery's id, once."""

    def record(delivery: Delivery) -> None:
        incident = workspace.get(delivery.incident_id)
        if any(update.id == delivery.id for update in incident.sent_updates):
            return  # another process recorded it already
        event = commands.record_delivery(
            workspace.factory,
            incident,
            delivery.id,
            template_id=delivery.template_id,
            channel=delivery.channel,
            text=delivery.text,
            destination=delivery.destination,
            attempts=len(delivery.attempts),
            queued_at=delivery.queued_at,
        )
        workspace.record([event])

    return record


def delivery_service(
    workspace: Workspace,
    config: Config,
    *,
    on_change: Callable[[Delivery], None] | None = None,
    record: Callable[[Delivery], None] | None = None,
    **kwargs,
) -> DeliveryService:
    """The data dir's outbox with the configured channels; delivered updates are journaled
    into ``workspace`` (or through ``record``, e.g. on the console's writer thread)."""
    return DeliveryService(
        DeliveryOutbox(workspace.data_dir),
        config.channels,
        workspace.clock,
        record=record or recorder(workspace),
        on_change=on_change,
        **kwargs,
    )


def send_update(
    workspace: Workspace,
    service: DeliveryService,
    incident_ref: str,
    template_id: str,
    channel: CommsChannel,
    text: str,
) -> Delivery | Event:
    """Queue a delivery (the channel has a destination) or record the update as sent."""
    incident = workspace.get(incident_ref)
    if not text.strip():
        raise DomainError("the update is empty")
    if len(text) > UPDATE_MAX_CHARS:
        raise DomainError(f"the update is longer than {UPDATE_MAX_CHARS:,} characters; shorten it")
    if service.destination_for(channel) is None:
        event = commands.mark_sent(workspace.factory, incident, template_id, channel, text)
        workspace.record([event])
        return event
    try:
        return service.enqueue(incident, template_id, channel, text, workspace.actor)
    except OSError as exc:
        raise DomainError(f"cannot write the delivery outbox ({exc.strerror or exc}); nothing was sent") from None
