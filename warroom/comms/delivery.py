"""Delivering updates to real channels: queue durably, attempt, back off, record once.

``DeliveryService.enqueue`` writes the update to the outbox (fsync'd) before anything is
sent. ``attempt`` tries one delivery (under its lock, so two processes never send it at once);
a receiver that is down, answers 5xx/429/408, or times out is tried again later with
exponential backoff (2 s, 4 s, 8 s… at most a minute apart; ``Retry-After`` is honoured),
until the channel's ``max_attempts``. A receiver that refuses the update for good (4xx) fails
it at once. Either way a failed delivery keeps its text and is shown as failed, never as sent;
``retry`` queues it again.

Every attempt of one delivery sends the same body with the same delivery id (the
``Idempotency-Key`` header, and inside the body where the format allows), so a receiver that
got an update whose answer was lost can drop the repeat. When a delivery succeeds the
``record`` callback journals it as a ``comms.delivered`` event under the delivery's id:
recorded once, however many attempts it took or processes saw it.

Textual-free: the TUI runs ``run_due`` in a thread worker, the CLI calls ``deliver``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from warroom.comms.brief import clean
from warroom.comms.channels import build_body, subject
from warroom.domain.clock import Clock
from warroom.domain.ids import uuid7
from warroom.domain.models import CommsChannel, Incident
from warroom.store.config import ChannelDestination, DestinationKind
from warroom.store.deliveries import Attempt, Delivery, DeliveryOutbox, DeliveryState

if TYPE_CHECKING:
    import httpx

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 60.0
RETRY_AFTER_MAX_SECONDS = 300.0
_RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
_RETRYABLE_EXIT = {74, 75}  # sysexits EX_IOERR, EX_TEMPFAIL: sendmail's "try again later"
USER_AGENT = "warroom-delivery/1"


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    detail: str
    retryable: bool = False
    retry_after: float | None = None


def backoff_seconds(failures: int, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_MAX_SECONDS) -> float:
    """The wait after the ``failures``-th failed attempt in a row: base, 2×base, 4×base…"""
    return min(cap, base * 2 ** max(0, failures - 1))


def _short(text: str, limit: int = 160) -> str:
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def send_http(destination: ChannelDestination, delivery: Delivery, transport: httpx.BaseTransport | None = None) -> AttemptResult:
    # Imported here: the console builds the delivery service at start-up, and an HTTP stack
    # that only a configured webhook needs would delay its first frame.
    import httpx

    url = destination.resolved_url()
    if not url:
        return AttemptResult(False, f"no URL: environment variable {destination.url_env} is not set", retryable=False)
    headers = {
        **destination.headers,
        "Content-Type": delivery.content_type,
        "Idempotency-Key": delivery.id,
        "X-Warroom-Delivery-Id": delivery.id,
        "User-Agent": USER_AGENT,
    }
    try:
        with httpx.Client(transport=transport, timeout=destination.timeout_seconds, follow_redirects=False) as client:
            response = client.post(url, content=delivery.body.encode("utf-8"), headers=headers)
    except httpx.TimeoutException:
        return AttemptResult(False, f"no answer within {destination.timeout_seconds:g}s", retryable=True)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return AttemptResult(False, f"bad URL: {_short(str(exc))}", retryable=False)
    except httpx.HTTPError as exc:  # refused, reset, DNS…: the receiver may be back soon
        return AttemptResult(False, f"cannot reach the receiver: {_short(str(exc)) or type(exc).__name__}", retryable=True)
    code = response.status_code
    if 200 <= code < 300:
        return AttemptResult(True, f"HTTP {code}")
    detail = f"HTTP {code}: {_short(response.text)}" if response.text.strip() else f"HTTP {code}"
    if 300 <= code < 400:
        return AttemptResult(False, f"HTTP {code}: redirected to {_short(response.headers.get('location', '?'))}; put the final URL in the config")
    retry_after = None
    if code in (429, 503) and response.headers.get("retry-after", "").strip().isdigit():
        retry_after = min(RETRY_AFTER_MAX_SECONDS, float(response.headers["retry-after"]))
    return AttemptResult(False, detail, retryable=code in _RETRYABLE_STATUS, retry_after=retry_after)


def send_command(destination: ChannelDestination, delivery: Delivery) -> AttemptResult:
    env = {
        **os.environ,
        "WARROOM_DELIVERY_ID": delivery.id,
        "WARROOM_INCIDENT_ID": delivery.incident_id,
        "WARROOM_CHANNEL": delivery.channel.value,
        "WARROOM_SUBJECT": subject(delivery.text),
    }
    program = destination.command[0]
    try:
        done = subprocess.run(
            destination.command,
            input=delivery.body.encode("utf-8"),
            capture_output=True,
            timeout=destination.timeout_seconds,
            env=env,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return AttemptResult(False, f"{program} did not finish within {destination.timeout_seconds:g}s", retryable=True)
    except OSError as exc:
        return AttemptResult(False, f"cannot run {program}: {exc.strerror or exc}", retryable=False)
    if done.returncode == 0:
        return AttemptResult(True, f"{program}: exit 0")
    said = _short((done.stderr or done.stdout).decode("utf-8", errors="replace"))
    detail = f"{program}: exit {done.returncode}" + (f": {said}" if said else "")
    return AttemptResult(False, detail, retryable=done.returncode < 0 or done.returncode in _RETRYABLE_EXIT)


class DeliveryService:
    """The outbox of one data dir, delivered through the configured channels."""

    def __init__(
        self,
        outbox: DeliveryOutbox,
        channels: dict[str, ChannelDestination],
        clock: Clock,
        *,
        record: Callable[[Delivery], None] | None = None,
        on_change: Callable[[Delivery], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        backoff_max: float = BACKOFF_MAX_SECONDS,
    ) -> None:
        self.outbox = outbox
        self.channels = channels
        self.clock = clock
        self.record = record
        """Journals a delivered update (``comms.delivered``); may raise, and is retried."""
        self.on_change = on_change
        """Told about every saved change (queued, each attempt, retried), e.g. to redraw."""
        self.transport = transport
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max

    def destination_for(self, channel: CommsChannel) -> ChannelDestination | None:
        return self.channels.get(channel.value)

    # --- queueing ----------------------------------------------------------------------------

    def enqueue(self, incident: Incident, template_id: str, channel: CommsChannel, text: str, actor: str) -> Delivery:
        """Write the update to the outbox (durably) and return it; the first attempt is due
        at once. Raises ValueError when the channel has no destination, OSError when the
        outbox cannot be written (then nothing was queued)."""
        destination = self.destination_for(channel)
        if destination is None:
            raise ValueError(f"the {channel.value} channel has no destination in the config")
        now = self.clock.now()
        delivery_id = uuid7(now)
        body, content_type = build_body(
            destination,
            delivery_id=delivery_id,
            incident=incident,
            channel=channel,
            template_id=template_id,
            text=text,
            actor=actor,
            now=now,
        )
        delivery = Delivery(
            id=delivery_id,
            incident_id=incident.id,
            template_id=template_id,
            channel=channel,
            destination=destination.type.value,
            text=text,
            actor=actor,
            queued_at=now,
            body=body,
            content_type=content_type,
            next_attempt_at=now,
        )
        self.outbox.save(delivery)
        self._changed(delivery)
        return delivery

    def retry(self, delivery_id: str) -> Delivery:
        """Queue a failed delivery again, with a fresh set of attempts."""
        with self.outbox.locked(delivery_id) as mine:
            if not mine:
                raise ValueError("another warroom process is delivering it right now")
            delivery = self.outbox.load(delivery_id)
            if delivery.state is not DeliveryState.FAILED:
                raise ValueError(f"only a failed delivery can be retried (this one is {delivery.state.value})")
            delivery.state = DeliveryState.PENDING
            delivery.budget_from = len(delivery.attempts)
            delivery.next_attempt_at = self.clock.now()
            self.outbox.save(delivery)
        self._changed(delivery)
        return delivery

    # --- attempting -------------------------------------------------------------------------

    def attempt(self, delivery_id: str) -> Delivery | None:
        """One attempt if the delivery is due; None when it is not (or another process holds
        it). Returns the delivery as saved after the attempt."""
        with self.outbox.locked(delivery_id) as mine:
            if not mine:
                return None
            delivery = self.outbox.load(delivery_id)  # another process may have moved it on
            now = self.clock.now()
            if delivery.state is not DeliveryState.PENDING or (delivery.next_attempt_at and delivery.next_attempt_at > now):
                return None
            destination = self.destination_for(delivery.channel)
            if destination is None:
                result = AttemptResult(False, f"the {delivery.channel.value} channel has no destination in the config any more")
            elif destination.type is DestinationKind.COMMAND:
                result = send_command(destination, delivery)
            else:
                result = send_http(destination, delivery, self.transport)
            finished = self.clock.now()
            delivery.attempts.append(Attempt(at=finished, ok=result.ok, detail=result.detail, retryable=result.retryable))
            if result.ok:
                delivery.state = DeliveryState.DELIVERED
                delivery.next_attempt_at = None
            elif result.retryable and destination is not None and delivery.attempts_in_budget < destination.max_attempts:
                failures = delivery.attempts_in_budget
                wait = max(backoff_seconds(failures, self.backoff_base, self.backoff_max), result.retry_after or 0.0)
                delivery.next_attempt_at = finished + timedelta(seconds=wait)
            else:
                delivery.state = DeliveryState.FAILED
                delivery.next_attempt_at = None
            self.outbox.save(delivery)
            if delivery.state is DeliveryState.DELIVERED:
                self._record(delivery)
        self._changed(delivery)
        return delivery

    def _record(self, delivery: Delivery) -> None:
        if self.record is None or delivery.recorded:
            return
        try:
            self.record(delivery)
        except Exception as exc:  # e.g. the journal is unwritable right now: the next pass tries again
            delivery.record_problem = _short(str(exc)) or type(exc).__name__
            self.outbox.save(delivery)
            return
        delivery.recorded = True
        delivery.record_problem = ""
        self.outbox.save(delivery)

    def due(self) -> list[Delivery]:
        now = self.clock.now()
        return [
            d
            for d in self.outbox.all()[0]
            if d.state is DeliveryState.PENDING and (d.next_attempt_at is None or d.next_attempt_at <= now)
        ]

    def run_due(self) -> list[Delivery]:
        """Attempt every due delivery once, and record delivered ones not yet recorded (a
        crash between the two). Returns the deliveries attempted."""
        attempted = []
        for delivery in self.due():
            done = self.attempt(delivery.id)
            if done is not None:
                attempted.append(done)
        for delivery in self.outbox.all()[0]:
            if delivery.state is DeliveryState.DELIVERED and not delivery.recorded:
                with self.outbox.locked(delivery.id) as mine:
                    if mine:
                        self._record(self.outbox.load(delivery.id))
        return attempted

    def next_wakeup(self) -> datetime | None:
        """When the next pending attempt is due (None: nothing pending)."""
        times = [d.next_attempt_at or d.queued_at for d in self.outbox.all()[0] if d.state is DeliveryState.PENDING]
        return min(times, default=None)

    def deliver(self, delivery_id: str, sleep: Callable[[float], None] = time.sleep) -> Delivery:
        """Attempt until delivered or failed, waiting out the backoff (the CLI's ``send``)."""
        while True:
            delivery = self.outbox.load(delivery_id)
            if delivery.state is not DeliveryState.PENDING:
                return delivery
            wait = (delivery.next_attempt_at - self.clock.now()).total_seconds() if delivery.next_attempt_at else 0.0
            if wait > 0:
                sleep(wait)
            if self.attempt(delivery_id) is None:
                sleep(0.05)  # another process holds it: let it finish its attempt

    def _changed(self, delivery: Delivery) -> None:
        if self.on_change is not None:
            self.on_change(delivery)
