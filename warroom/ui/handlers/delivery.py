"""Updates on their way to real channels: a worker delivers the outbox (with backoff) and the
comms pane shows every attempt; a failed delivery can be sent again."""

from __future__ import annotations

import threading

from warroom.domain.commands import DomainError
from warroom.ui.messages import DeliveriesChanged, EventsArrived
from warroom.ui.widgets.comms import CommsPane

RESCAN_SECONDS = 5.0
"""Also look at the outbox this often: another process (``warroom comms send``) may have
queued something, or failed deliveries may have been retried from the shell."""


class DeliveryHandlers:
    """Mixed into ``WarRoomApp``."""

    def on_mount(self) -> None:
        # Textual calls every class's own on_mount along the MRO: the app's, then this one.
        self._delivery_wake = threading.Event()
        self._delivery_stop = threading.Event()
        service = self.desk.deliveries
        journal = service.record

        def record(delivery) -> None:  # on the delivery thread; the workspace takes its lock
            journal(delivery)
            self._post_delivery_message(EventsArrived())

        service.record = record
        service.on_change = lambda _delivery: self._post_delivery_message(DeliveriesChanged(service.outbox.all()[0]))
        # A plain daemon thread, not a Textual worker: it lives as long as the app and must
        # never hold up the app's exit while it waits for the next attempt.
        threading.Thread(target=self._delivery_thread, name="deliver updates", daemon=True).start()

    def on_unmount(self) -> None:
        self._delivery_stop.set()
        self._delivery_wake.set()

    def wake_deliveries(self) -> None:
        """Something was queued or retried: attempt it now rather than at the next scan."""
        self._delivery_wake.set()

    def _delivery_thread(self) -> None:
        service = self.desk.deliveries
        while not self._delivery_stop.is_set():
            try:
                service.run_due()
                self._post_delivery_message(DeliveriesChanged(service.outbox.all()[0]))
            except OSError as exc:  # the outbox cannot be written: say so, keep trying
                self.call_from_thread(self.notify, f"Delivery outbox: {exc}", severity="error", timeout=30)
            wake = service.next_wakeup()
            wait = RESCAN_SECONDS
            if wake is not None:
                wait = min(RESCAN_SECONDS, max(0.05, (wake - self.clock.now()).total_seconds()))
            self._delivery_wake.wait(wait)
            self._delivery_wake.clear()

    def _post_delivery_message(self, message) -> None:
        if self._delivery_stop.is_set():
            return  # closing: the event loop may be gone
        try:
            self.post_message(message)
        except RuntimeError:
            pass

    def on_deliveries_changed(self, message: DeliveriesChanged) -> None:
        self.query_one(CommsPane).show_deliveries(message.deliveries)

    def queue_delivery(self, incident_id: str, template_id: str, channel, text: str) -> None:
        """Write the update to the outbox (in a worker: it is fsync'd), then deliver it."""

        def queue() -> None:
            try:
                delivery = self.desk.send(incident_id, template_id, channel, text)
            except DomainError as exc:
                self.call_from_thread(self.notify, str(exc), title="Not sent", severity="error", timeout=30)
                return
            self.wake_deliveries()
            self.call_from_thread(
                self.notify,
                f"Sending to {channel.value} via {delivery.destination}: the comms pane shows each attempt. "
                "It counts as sent once delivered.",
                timeout=5,
            )

        self.run_worker(queue, thread=True, group="journal", name="queue delivery")

    def on_comms_pane_delivery_chosen(self, message: CommsPane.DeliveryChosen) -> None:
        from warroom.store.deliveries import DeliveryState, describe
        from warroom.ui.screens.viewer import DeliveryViewer

        outbox = self.desk.deliveries.outbox
        delivery_id = message.delivery_id

        def text() -> str:
            delivery = outbox.load(delivery_id)
            lines = [describe(delivery), f"queued {delivery.queued_at:%Y-%m-%d %H:%M:%S} UTC by {delivery.actor} · delivery id {delivery.id}", ""]
            for number, attempt in enumerate(delivery.attempts, start=1):
                lines.append(f"attempt {number} at {attempt.at:%H:%M:%S} UTC: {'ok' if attempt.ok else 'failed'} · {attempt.detail}")
            return "\n".join([*lines, "", delivery.text])

        def closed(answer: str | None) -> None:
            if answer == "retry":
                self._retry_delivery(delivery_id)

        failed = outbox.load(delivery_id).state is DeliveryState.FAILED
        hint = "s sends it again" if failed else ""
        self.push_screen(DeliveryViewer(text, title="Delivery", copied="Update text copied", hint=hint), closed)

    def _retry_delivery(self, delivery_id: str) -> None:
        def retry() -> None:  # a worker: the outbox file is fsync'd
            try:
                self.desk.deliveries.retry(delivery_id)
            except (ValueError, OSError) as exc:
                self.call_from_thread(self.notify, str(exc), severity="warning", timeout=5)
                return
            self.wake_deliveries()
            self.call_from_thread(self.notify, "Queued again: same text, same delivery id.", timeout=3)

        self.run_worker(retry, thread=True, group="journal", name="retry delivery")
