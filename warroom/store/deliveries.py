"""The delivery outbox: updates on their way to a real channel, and every attempt.

One JSON file per delivery in ``<data dir>/deliveries/``, replaced atomically (fsync'd)
whenever it changes. A delivery is written here *before* the first attempt, so the text of an
update is never lost: not when the receiver is down, not when warroom is killed mid-send, not
when every attempt fails. The file keeps the exact request body, built once when the update
was queued, so every retry sends the same bytes with the same delivery id.

Several warroom processes may share a data dir (the TUI and a ``warroom comms send``); an
attempt holds an exclusive ``flock`` on the delivery's lock file, so one delivery is never
attempted by two processes at once.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from warroom.domain.ids import is_uuid, matches_ref
from warroom.domain.models import CommsChannel
from warroom.store.atomic import atomic_write

DELIVERIES_DIR = "deliveries"


class DeliveryState(StrEnum):
    PENDING = "pending"
    """Queued or between attempts; the next attempt is at ``next_attempt_at``."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Given up (attempts used up, or the receiver refused it for good). The text stays;
    a retry puts it back in the queue."""


class Attempt(BaseModel):
    """One try at delivering, and what came of it."""

    model_config = ConfigDict(extra="forbid")

    at: datetime
    ok: bool
    detail: str
    """``HTTP 200``, ``connection refused``, ``exit 75: …``: what a person needs to know."""
    retryable: bool = False
    """True when trying again may help (receiver down, 5xx, timeout)."""


class Delivery(BaseModel):
    """An update on its way to one destination."""

    model_config = ConfigDict(extra="forbid")

    id: str
    """UUIDv7; the receiver sees it (``Idempotency-Key``) and can drop a repeat. Once
    delivered it is also the id of the ``comms.delivered`` event."""
    incident_id: str
    template_id: str
    channel: CommsChannel
    destination: str
    """The kind of destination (``slack``…) when queued; the address is read from the
    config at each attempt and never stored here."""
    text: str
    actor: str
    queued_at: datetime
    body: str
    """The exact request body (JSON, or the text a command reads on stdin)."""
    content_type: str = "application/json"
    state: DeliveryState = DeliveryState.PENDING
    attempts: list[Attempt] = Field(default_factory=list)
    budget_from: int = 0
    """Attempts before this index were used up before a manual retry."""
    next_attempt_at: datetime | None = None
    recorded: bool = False
    """True once the ``comms.delivered`` event is in the incident's journal."""
    record_problem: str = ""
    """Why recording it failed last time (it is tried again); empty when fine."""

    @property
    def attempts_in_budget(self) -> int:
        return len(self.attempts) - self.budget_from

    @property
    def last_attempt(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None


class DeliveryOutbox:
    """The deliveries of one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / DELIVERIES_DIR

    def path(self, delivery_id: str) -> Path:
        if not is_uuid(delivery_id):
            raise ValueError(f"not a delivery id: {delivery_id!r}")
        return self.directory / f"{delivery_id}.json"

    def save(self, delivery: Delivery) -> None:
        """Durably replace the delivery's file (raises OSError; nothing is half-written)."""
        atomic_write(self.path(delivery.id), delivery.model_dump_json(indent=1).encode("utf-8"), mode=0o600)

    def load(self, delivery_id: str) -> Delivery:
        return Delivery.model_validate_json(self.path(delivery_id).read_bytes())

    def all(self) -> tuple[list[Delivery], list[str]]:
        """Every delivery, oldest first, and one sentence per file that cannot be read
        (kept on disk, never deleted)."""
        found, problems = [], []
        try:
            names = sorted(p.name for p in self.directory.glob("*.json"))
        except OSError as exc:
            return [], [f"cannot list {self.directory}: {exc.strerror}"]
        for name in names:
            path = self.directory / name
            try:
                found.append(Delivery.model_validate_json(path.read_bytes()))
            except (OSError, ValidationError, ValueError) as exc:
                problems.append(f"{path}: unreadable delivery ({str(exc).splitlines()[0]})")
        found.sort(key=lambda d: (d.queued_at, d.id))
        return found, problems

    def for_incident(self, incident_id: str) -> list[Delivery]:
        return [d for d in self.all()[0] if d.incident_id == incident_id]

    def find(self, ref: str) -> Delivery:
        """A delivery by id or short id."""
        matches = [d for d in self.all()[0] if matches_ref(d.id, ref)]
        if len(matches) != 1:
            raise KeyError(f"no delivery {ref!r}" if not matches else f"{ref!r} matches several deliveries")
        return matches[0]

    @contextmanager
    def locked(self, delivery_id: str) -> Iterator[bool]:
        """Hold the delivery's attempt lock; yields False (at once) when another process has
        it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock_path = self.directory / f".{delivery_id}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)


def describe(delivery: Delivery) -> str:
    """One line for people: state, channel, attempts, the last result."""
    last = delivery.last_attempt
    tries = len(delivery.attempts)
    if delivery.state is DeliveryState.DELIVERED:
        return f"delivered to {delivery.channel.value} via {delivery.destination} (attempt {tries})"
    if delivery.state is DeliveryState.FAILED:
        return f"FAILED to {delivery.channel.value} via {delivery.destination} after {tries} attempt{'s' if tries != 1 else ''}: {last.detail if last else '?'}"
    if last is None:
        return f"queued for {delivery.channel.value} via {delivery.destination}"
    when = f"; next try {delivery.next_attempt_at:%H:%M:%S}" if delivery.next_attempt_at else ""
    return f"attempt {tries} to {delivery.channel.value} via {delivery.destination} failed ({last.detail}){when}"


def as_json(delivery: Delivery) -> dict:
    """For ``--json`` output: everything but the request body."""
    return json.loads(delivery.model_dump_json(exclude={"body"}))
