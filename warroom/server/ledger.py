"""The server's authority over events: validate, deduplicate, authorize, store, fold.

The ledger keeps every incident's folded state in memory (rebuilt from SQLite at start) so it
can answer "who is the Incident Commander right now?" when an event asks to resolve the
incident or hand the role over. Events are never rewritten: an event whose actor is not the
authenticated user is rejected rather than re-signed, because the client has already
journalled it and every replica must end up with byte-identical events.

Rules, per event and in request order (earlier events of the same batch count):

1. it must validate (``parse_event``) → else ``invalid``;
2. an id already stored with the same content is a ``duplicate`` (idempotent re-push); with
   different content it is a ``conflict``;
3. with auth on, its ``actor`` must be the token's user (admins may push for anyone);
4. its incident must have been declared (``incident.declared`` stored or earlier in the
   batch), and may be declared only once;
5. resolving an incident or assigning the Incident Commander role needs the current IC (or an
   admin). With auth off the event's own actor is taken at its word: the rule then catches
   mistakes, not malice.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warroom.domain.clock import Clock
from warroom.domain.events import Event, parse_event
from warroom.domain.fold import IncidentFolder
from warroom.domain.ids import short_id
from warroom.domain.models import INCIDENT_COMMANDER, Status, canonical_role
from warroom.server.auth import Principal
from warroom.server.db import EventStore, StoredEvent
from warroom.wire import EventResult, IncidentSummary, Outcome, RejectionCode


def utc_iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class _Staged:
    index: int
    event: Event


class Ledger:
    """Accepts batches of events (one at a time: it is the single writer)."""

    def __init__(self, store: EventStore, clock: Clock, *, dedupe: bool = True) -> None:
        self.store = store
        self.clock = clock
        self.dedupe = dedupe
        self._lock = threading.Lock()
        self._folders: dict[str, IncidentFolder] = {}
        self._declared: set[str] = set()
        self._known_ids: set[str] = set()
        self._updated: dict[str, str] = {}
        self._last_position = 0
        self.unreadable_rows = 0
        self._rebuild()

    @property
    def last_position(self) -> int:
        """The newest committed position (read without the lock: an int swap is atomic)."""
        return self._last_position

    def _rebuild(self) -> None:
        by_incident: dict[str, list[Event]] = {}
        for position, received_at, event_json in self.store.iter_all():
            self._last_position = position
            try:
                event = Event.model_validate_json(event_json)
            except ValueError:
                # Stored by a newer server version with kinds this one does not know: keep
                # serving it in the feed, but it cannot take part in the rules.
                self.unreadable_rows += 1
                continue
            self._known_ids.add(event.id)
            self._updated[event.incident_id] = received_at
            if event.kind == "incident.declared":
                self._declared.add(event.incident_id)
            by_incident.setdefault(event.incident_id, []).append(event)
        for incident_id, events in by_incident.items():
            folder = IncidentFolder(incident_id)
            folder.add_many(events)
            self._folders[incident_id] = folder

    # --- pushing ---------------------------------------------------------------------------

    def submit(self, principal: Principal, raw_events: list[Any]) -> list[EventResult]:
        """Judge and store one batch. Raises ``StoreError`` (then nothing was stored)."""
        with self._lock:
            received_at = utc_iso(self.clock.now())
            results: list[EventResult | None] = [None] * len(raw_events)
            staged: list[_Staged] = []
            staged_ids: dict[str, _Staged] = {}
            unapplied: dict[str, list[Event]] = {}  # staged, not yet folded in
            declared_now: set[str] = set()
            duplicates_of_staged: list[tuple[int, str]] = []
            for index, raw in enumerate(raw_events):
                raw_id = raw.get("id") if isinstance(raw, dict) else None
                raw_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
                try:
                    event = parse_event(raw)
                except ValueError as exc:
                    results[index] = _rejected(
                        index, raw_id, RejectionCode.INVALID, f"the event is not valid: {exc}"
                    )
                    continue
                except OverflowError:
                    # A time whose conversion to UTC leaves datetime's range (year 1 with a
                    # positive offset, year 9999 with a negative one). Without this the whole
                    # batch was a 500, which a client retries forever: its outbox stuck.
                    results[index] = _rejected(
                        index, raw_id, RejectionCode.INVALID,
                        "the event is not valid: a time is out of range once converted to UTC",
                    )
                    continue
                if self.dedupe:
                    seen = self._judge_duplicate(index, event, staged_ids)
                    if seen is not None:
                        results[index] = seen
                        if seen.status is Outcome.DUPLICATE and seen.position is None:
                            duplicates_of_staged.append((index, event.id))
                        continue
                refusal = self._authorize(principal, event, declared_now, unapplied)
                if refusal is not None:
                    results[index] = _rejected(index, event.id, *refusal)
                    continue
                item = _Staged(index, event)
                staged.append(item)
                staged_ids[event.id] = item
                unapplied.setdefault(event.incident_id, []).append(event)
                if event.kind == "incident.declared":
                    declared_now.add(event.incident_id)

            rows = [_row(item.event, received_at, principal.name) for item in staged]
            try:
                positions = self.store.append(rows)
            except Exception:
                # Some staged events may already be folded in (for the IC rule): undo that.
                self._refold_from_store({item.event.incident_id for item in staged})
                raise
            position_of: dict[str, int] = {}
            for item, position in zip(staged, positions):
                position_of[item.event.id] = position
                results[item.index] = EventResult(
                    index=item.index, id=item.event.id, status=Outcome.ACCEPTED, position=position
                )
                self._known_ids.add(item.event.id)
                self._updated[item.event.incident_id] = received_at
            for index, event_id in duplicates_of_staged:
                results[index] = results[index].model_copy(update={"position": position_of[event_id]})
            self._declared |= declared_now
            for incident_id, events in unapplied.items():
                self._folder(incident_id).add_many(events)
            if positions:
                self._last_position = positions[-1]
            return [r for r in results if r is not None]

    def _judge_duplicate(
        self, index: int, event: Event, staged_ids: dict[str, _Staged]
    ) -> EventResult | None:
        """A duplicate/conflict result if this id is already stored or staged, else None."""
        if event.id in staged_ids:
            same = staged_ids[event.id].event == event
            position = None
        elif event.id in self._known_ids:
            stored = self.store.stored_event(event.id)
            position = stored[0] if stored else None
            same = stored is not None and Event.model_validate_json(stored[1]) == event
        else:
            return None
        if same:
            return EventResult(index=index, id=event.id, status=Outcome.DUPLICATE, position=position)
        return _rejected(
            index,
            event.id,
            RejectionCode.CONFLICT,
            f"another event with id {event.id} and different content is already stored; "
            "event ids must be unique (this points at a bug or an edited journal)",
        )

    def _authorize(
        self,
        principal: Principal,
        event: Event,
        declared_now: set[str],
        unapplied: dict[str, list[Event]],
    ) -> tuple[RejectionCode, str] | None:
        if principal.authenticated and not principal.admin and event.actor != principal.name:
            return (
                RejectionCode.FORBIDDEN,
                f"this event is signed by {event.actor!r} but your token belongs to "
                f"{principal.name!r}; events are accepted only from their author (or an "
                "admin). Set your warroom user name to match your token, or use the right token",
            )
        declared = event.incident_id in self._declared or event.incident_id in declared_now
        if event.kind == "incident.declared":
            if declared:
                return (
                    RejectionCode.CONFLICT,
                    f"incident {short_id(event.incident_id)} has already been declared",
                )
            return None
        if not declared:
            return (
                RejectionCode.UNKNOWN_INCIDENT,
                f"unknown incident {short_id(event.incident_id)}: its declaration has not "
                "reached the server; push the incident.declared event first",
            )
        action = _commander_only_action(event)
        if action is None or principal.admin:
            return None
        # The rule needs the state including this batch's earlier events: fold them in now.
        pending = unapplied.pop(event.incident_id, [])
        folder = self._folder(event.incident_id)
        if pending:
            folder.add_many(pending)
        commander = folder.state.roles.get(INCIDENT_COMMANDER)
        who = principal.name if principal.authenticated else event.actor
        if commander and who != commander:
            return (
                RejectionCode.FORBIDDEN,
                f"only the incident commander ({commander}) or an admin may {action}; "
                f"ask {commander} to do it or to hand the role to you",
            )
        return None

    def _folder(self, incident_id: str) -> IncidentFolder:
        folder = self._folders.get(incident_id)
        if folder is None:
            folder = self._folders[incident_id] = IncidentFolder(incident_id)
        return folder

    def _refold_from_store(self, incident_ids: set[str]) -> None:
        fresh = {iid: IncidentFolder(iid) for iid in incident_ids}
        for _position, _received, event_json in self.store.iter_all():
            try:
                event = Event.model_validate_json(event_json)
            except ValueError:
                continue
            if event.incident_id in fresh:
                fresh[event.incident_id].add(event)
        self._folders.update(fresh)

    # --- reading ---------------------------------------------------------------------------

    def incidents(self) -> list[IncidentSummary]:
        with self._lock:
            summaries = []
            for incident_id in self._declared:
                state = self._folders[incident_id].state
                summaries.append(
                    IncidentSummary(
                        id=incident_id,
                        title=state.title,
                        severity=state.severity.value,
                        status=state.status.value,
                        commander=state.commander,
                        updated=self._updated.get(incident_id),
                        event_count=state.event_count,
                    )
                )
        summaries.sort(key=lambda s: s.updated.timestamp() if s.updated else 0.0, reverse=True)
        return summaries


def _commander_only_action(event: Event) -> str | None:
    """What the event does that only the IC may do, in words; None if anyone may."""
    if event.kind == "incident.updated" and event.payload.get("status") == Status.RESOLVED.value:
        return "resolve the incident"
    if event.kind == "role.assigned" and _names_commander(event.payload.get("role")):
        return "assign the Incident Commander role"
    return None


def _names_commander(role: object) -> bool:
    """True for the IC role under any spelling people would read as it ("ic", "IC",
    "commander", "Incident  Commander"...). The fold keys roles by exact name, so an alias
    does not move the real IC, but it would put e.g. "IC: mallory" in everyone's roster."""
    if not isinstance(role, str):
        return False
    try:
        return canonical_role(role) == INCIDENT_COMMANDER
    except ValueError:
        return False


def _rejected(index: int, event_id: str | None, code: RejectionCode, reason: str) -> EventResult:
    return EventResult(index=index, id=event_id, status=Outcome.REJECTED, code=code, reason=reason)


def _row(event: Event, received_at: str, pushed_by: str | None) -> StoredEvent:
    event_json = event.model_dump_json()
    data = json.loads(event_json)
    return StoredEvent(
        event_id=event.id,
        incident_id=event.incident_id,
        kind=event.kind,
        actor=event.actor,
        hlc=event.hlc,
        at=data["at"],
        logged_at=data["logged_at"],
        received_at=received_at,
        pushed_by=pushed_by,
        event_json=event_json,
    )
