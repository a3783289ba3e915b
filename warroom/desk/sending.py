"""Sending an update to a real destination.

"Mark as sent" on a channel with a destination in the config queues a delivery (durably,
before any attempt); the front end then attempts it (``DeliveryService.deliver`` in the CLI,
``run_due`` in the console's worker) and the update counts as sent only once it is delivered,
recorded by ``recorder``. A channel without one is recorded as sent at once (``Desk``).
"""

from __future__ import annotations

from collections.abc import Callable

from warroom.comms.delivery import DeliveryService
from warroom.domain import commands
from warroom.domain.commands import DomainError
from warroom.domain.models import CommsChannel, Incident
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


def queue_update(service: DeliveryService, incident: Incident, template_id: str, channel: CommsChannel, text: str, actor: str) -> Delivery:
    """Write the update to the outbox (fsync'd) for its channel's destination."""
    if not text.strip():
        raise DomainError("the update is empty")
    if len(text) > UPDATE_MAX_CHARS:
        raise DomainError(f"the update is longer than {UPDATE_MAX_CHARS:,} characters; shorten it")
    if service.destination_for(channel) is None:
        raise DomainError(f"the {channel.value} channel has no destination in the config")
    try:
        return service.enqueue(incident, template_id, channel, text, actor)
    except OSError as exc:
        raise DomainError(f"cannot write the delivery outbox ({exc.strerror or exc}); nothing was sent") from None
