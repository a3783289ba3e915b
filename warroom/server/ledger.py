"""The server's authority over events: validate, deduplicate, authorize, store, fold.

The ledger keeps every incident's folded state in memory (rebuilt from the store at start) so
it can answer "who is the Incident Commander right now?" when an event asks to resolve the
incident or hand the role over. Events are never rewritten: an event whose actor is not the
authenticated user is rejected rather than re-signed, because the client has already
journalled it and every replica must end up with byte-identical events.

Rules, per event and in request order (earlier events of the same batch count):

1. it must validate (``parse_event``) → else ``invalid``;
2. an id already stored with the same content is a ``duplicate`` (idempotent re-push); with
   different content it is a ``conflict``;
3. its times may not run ahead of the server's clock beyond the allowed skew, its text may
   carry no terminal control characters, its names no invisible or look-alike letters, and
   it must be its author's: signed with a key registered to its actor (then anyone may
   deliver it), or unsigned from the actor's own token while that actor has no key
   (``warroom.server.authority``);
4. its incident must have been declared (``incident.declared`` stored or earlier in the
   batch), and may be declared only once; only alert intake declares incidents whose id is
   not a UUIDv7 (the ids alerts use);
5. resolving an incident, setting its resolved or mitigated milestone, or assigning the
   Incident Commander role needs the current IC (or an admin) as the event's author; voids
   and purges need an admin, and a purge a redacted entry. With auth off the event's own
   actor is taken at its word: the rules then catch mistakes, not malice.

The keys of sealed entry texts pushed with the events are stored in the same transaction
(``warroom.server.textkeys``); an accepted purge deletes the keys of that entry.

A batch is judged inside the store's write transaction for its incidents. With several server
replicas on one database (``store.shared``) other processes store events too: inside that
transaction the store has locked the batch's incidents against every other writer, and the
ledger first folds in what the others stored for them (``newer_rows``), so the rules above
read the current state. Everything else (for ``/v1/incidents`` and the alert intake) is
folded in by ``catch_up``, lazily: when the list is asked for after the store said the feed
moved. So replicas under a stream of pushes do not each parse every other replica's events.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from datetime import timedelta

from warroom.domain.authority import commander_only_action, commander_refusal
from warroom.domain.clock import Clock
from warroom.domain.events import Event, parse_event
from warroom.domain.fold import IncidentFolder
from warroom.domain.hlc import MAX_CLOCK_SKEW
from warroom.domain.ids import short_id
from warroom.domain.models import INCIDENT_COMMANDER
from warroom.domain.sealing import entry_of
from warroom.server.auth import Principal
from warroom.server.authority import UNCHECKED, Authority, Unchecked
from warroom.server.identities import Identities
from warroom.server.textkeys import key_problem, purged_key_ids
from warroom.server.storage import EventStore, FeedRow, RaceLost, StoredEvent, StoreError, WriteBatch
from warroom.wire import EventResult, IncidentSummary, Outcome, RejectionCode

log = logging.getLogger("warroom.server")

_ATTEMPTS = 5
"""How often a batch is judged again after losing a race it could not see coming."""


def utc_iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class _Staged:
    index: int
    event: Event
    event_json: str


@dataclass
class _Keys:
    """What one batch does to the text keys: keys to keep (with the entry each writes), and
    entries it purges."""

    offered: dict[str, str]
    keep: dict[str, tuple[str, str | None]]
    purged: set[str]
    verdicts: dict[int, str | None]
    """Signatures checked before the lock (batch index → why not the actor's; None: it is)."""
    prepared: dict[int, "_Prepared"]


@dataclass
class _Prepared:
    """What is known of one valid event of a batch before the lock."""

    event_json: str
    text_refusal: "tuple[RejectionCode, str] | None"


class Ledger:
    """Accepts batches of events, one at a time per process (the store orders processes)."""

    def __init__(
        self, store: EventStore, clock: Clock, *, dedupe: bool = True, max_skew: timedelta = MAX_CLOCK_SKEW
    ) -> None:
        self.store = store
        self.clock = clock
        self.dedupe = dedupe
        self.identities = Identities(store)
        self.authority = Authority(self.identities.keyring, self.identities.admins, max_skew)
        self._purged: set[str] = set()  # entries whose text keys were destroyed
        self._lock = threading.Lock()
        self._folders: dict[str, IncidentFolder] = {}
        self._declared: set[str] = set()
        self._updated: dict[str, str] = {}
        self._seen: dict[str, int] = {}  # incident -> highest row position folded in
        self._feed_mark = store.start
        self._behind = False
        self.unreadable_rows = 0
        self.on_stored: Callable[[list[StoredEvent], list[int], dict[str, str], list[str]], None] | None = None
        """Called (in the submitting thread, under the ledger's lock) after each commit, in
        commit order, with the rows stored and their positions, the text keys stored (by
        event id; a key already stored stays) and the event ids whose keys were destroyed."""
        self.catch_up()

    # --- following the store ---------------------------------------------------------------

    def catch_up(self) -> int:
        """Fold in every row stored since the last call (at start: everything). Returns how
        many rows were read."""
        with self._lock:
            self._behind = False
            fresh: list[FeedRow] = []
            read = 0
            for row in self.store.iter_feed(self._feed_mark):
                read += 1
                self._feed_mark = row.mark
                # Rows of an incident this process already folded (its own, or read under
                # the incident's lock) come again here, in the same order: skip them unparsed.
                if row.position > self._seen.get(row.incident_id, 0):
                    fresh.append(row)
            self._fold_rows(fresh)  # at once: an incident re-folds at most once
            return read

    def note_feed_moved(self) -> None:
        """Other processes stored events (called from the store's listener thread)."""
        self._behind = True

    def _fold_rows(self, rows: list[FeedRow]) -> None:
        """Fold stored rows in (position order within each incident)."""
        by_incident: dict[str, list[Event]] = {}
        for row in rows:
            self._seen[row.incident_id] = max(self._seen.get(row.incident_id, 0), row.position)
            try:
                event = Event.model_validate_json(row.event_json)
            except ValueError:
                # Stored by a newer server version with kinds this one does not know: keep
                # serving it in the feed, but it cannot take part in the rules.
                self.unreadable_rows += 1
                continue
            self._updated[event.incident_id] = row.received_at
            if event.kind == "incident.declared":
                self._declared.add(event.incident_id)
            elif event.kind == "entry.purged":
                self._purged.add(event.payload["entry_id"])
            by_incident.setdefault(event.incident_id, []).append(event)
        for incident_id, events in by_incident.items():
            self._folder(incident_id).add_many(events)

    # --- pushing ---------------------------------------------------------------------------

    def submit(
        self, principal: Principal, raw_events: list[Any], text_keys: dict[str, str] | None = None
    ) -> list[EventResult]:
        """Judge and store one batch (with the keys of its sealed texts). Raises
        ``StoreError`` (then nothing was stored)."""
        parsed = [_parse(index, raw) for index, raw in enumerate(raw_events)]
        incident_ids = sorted({item.incident_id for item in parsed if isinstance(item, Event)})
        if not incident_ids:  # nothing valid: no transaction, no lock
            return [item for item in parsed if isinstance(item, EventResult)]
        # Signatures are checked before the lock, on other threads: they are most of the
        # work, and this thread prepares what does not depend on them meanwhile. Each once:
        # an event this server holds already is a duplicate (same bytes, checked when it
        # was accepted) or a conflict (refused whatever its signature says).
        verdicts_of = self.authority.start_verifying(
            (index, item) for index, item in enumerate(parsed) if isinstance(item, Event) and not self._holds(item)
        )
        prepared = {
            index: _Prepared(item.model_dump_json(), self.authority.check_text(item))
            for index, item in enumerate(parsed)
            if isinstance(item, Event)
        }
        verdicts = verdicts_of()
        with self._lock:
            for attempt in range(_ATTEMPTS):
                try:
                    return self._submit_once(principal, parsed, incident_ids, text_keys or {}, verdicts, prepared)
                except RaceLost as exc:
                    log.info("batch judged again (%s)", exc)
            raise StoreError("the database stayed too busy to take this batch; try again")

    def _submit_once(
        self,
        principal: Principal,
        parsed: list["Event | EventResult"],
        incident_ids: list[str],
        text_keys: dict[str, str],
        verdicts: dict[int, str | None],
        prepared: dict[int, "_Prepared"],
    ) -> list[EventResult]:
        now = self.clock.now()
        received_at = utc_iso(now)
        keys = _Keys(text_keys, {}, set(), verdicts, prepared)
        results: list[EventResult | None] = [None] * len(parsed)
        staged: list[_Staged] = []
        folded_early: dict[str, set[str]] = {}  # staged events folded in for the IC rule
        try:
            with self.store.writing(incident_ids) as batch:
                if self.store.shared:
                    self._fold_rows(batch.newer_rows({i: self._seen.get(i, 0) for i in incident_ids}))
                self._judge(batch, principal, parsed, results, staged, folded_early, keys, now)
                rows = [stored_row(i.event, received_at, principal.name, i.event_json) for i in staged]
                positions = batch.insert(rows)
                drop = self._keys_to_drop(keys.purged)
                kept = {
                    event_id: key
                    for event_id, (key, entry) in keys.keep.items()
                    if event_id not in drop and entry not in self._purged and entry not in keys.purged
                }
                batch.put_text_keys(kept, received_at)
                batch.drop_text_keys(drop)
        except BaseException:
            for incident_id, event_ids in folded_early.items():
                self._folders[incident_id].discard(event_ids)
            raise
        if (rows or kept or drop) and self.on_stored is not None:
            self.on_stored(rows, positions, kept, drop)
        position_of = {item.event.id: position for item, position in zip(staged, positions)}
        by_incident: dict[str, list[Event]] = {}
        for item, position in zip(staged, positions):
            results[item.index] = EventResult(
                index=item.index, id=item.event.id, status=Outcome.ACCEPTED, position=position
            )
            incident_id = item.event.incident_id
            self._updated[incident_id] = received_at
            self._seen[incident_id] = max(self._seen.get(incident_id, 0), position)
            if item.event.kind == "incident.declared":
                self._declared.add(incident_id)
            by_incident.setdefault(incident_id, []).append(item.event)
        for index, result in enumerate(results):
            if result is not None and result.status is Outcome.DUPLICATE and result.position is None:
                results[index] = result.model_copy(update={"position": position_of.get(result.id)})
        for incident_id, events in by_incident.items():
            self._folder(incident_id).add_many(events)
        self._purged |= keys.purged
        return [r for r in results if r is not None]

    def _judge(
        self,
        batch: WriteBatch,
        principal: Principal,
        parsed: list["Event | EventResult"],
        results: list[EventResult | None],
        staged: list[_Staged],
        folded_early: dict[str, set[str]],
        keys: _Keys,
        now: datetime,
    ) -> None:
        """Fill ``results`` (refusals, duplicates) and ``staged`` (to insert), in order, and
        ``keys`` with the text keys to keep and the entries purged."""
        stored = batch.stored([e.id for e in parsed if isinstance(e, Event)]) if self.dedupe else {}
        staged_ids: dict[str, _Staged] = {}
        unapplied: dict[str, list[Event]] = {}  # staged, not yet folded in
        declared_now: set[str] = set()
        for index, event in enumerate(parsed):
            if isinstance(event, EventResult):
                results[index] = event
                continue
            event_json = keys.prepared[index].event_json
            offered = keys.offered.get(event.id)
            problem = key_problem(event, offered) if offered is not None else None
            if self.dedupe:
                seen = _judge_duplicate(index, event, event_json, staged_ids, stored)
                if seen is not None:
                    results[index] = seen
                    if seen.status is Outcome.DUPLICATE and offered is not None and problem is None:
                        keys.keep[event.id] = (offered, entry_of(event))  # a relay bringing a key we lacked
                    continue
            refusal = self._authorize(
                principal, event, declared_now, unapplied, folded_early, now,
                keys.verdicts.get(index, UNCHECKED), keys.prepared[index].text_refusal,
            )  # fmt: skip
            if refusal is None and problem is not None:
                refusal = (RejectionCode.INVALID, f"the event is not valid: {problem}")
            if refusal is not None:
                results[index] = _rejected(index, event.id, *refusal)
                continue
            if offered is not None:
                keys.keep[event.id] = (offered, entry_of(event))
            if event.kind == "entry.purged":
                keys.purged.add(event.payload["entry_id"])
            item = _Staged(index, event, event_json)
            staged.append(item)
            staged_ids[event.id] = item
            unapplied.setdefault(event.incident_id, []).append(event)
            if event.kind == "incident.declared":
                declared_now.add(event.incident_id)

    def _authorize(
        self,
        principal: Principal,
        event: Event,
        declared_now: set[str],
        unapplied: dict[str, list[Event]],
        folded_early: dict[str, set[str]],
        now: datetime,
        verdict: "str | None | Unchecked",
        text_refusal: tuple[RejectionCode, str] | None,
    ) -> tuple[RejectionCode, str] | None:
        refusal = self.authority.check_time(event, now) or text_refusal
        if refusal is not None:
            return refusal
        author, refusal = self.authority.author(principal, event, verdict)
        if refusal is not None:
            return refusal
        assert author is not None
        refusal = self.authority.check_reserved(principal, author, event)
        if refusal is not None:
            return refusal
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
        action = commander_only_action(event)
        if action is None and event.kind not in ("entry.purged", "event.voided"):
            return None
        # The rules need the state including this batch's earlier events: fold them in now
        # (taken out again if the batch is not stored).
        pending = unapplied.pop(event.incident_id, [])
        folder = self._folder(event.incident_id)
        if pending:
            fresh = {e.id for e in pending if e.id not in folder}
            folder.add_many(pending)
            folded_early.setdefault(event.incident_id, set()).update(fresh)
        refusal = _repair_refusal(event, folder)
        if refusal is not None or action is None or author.admin:
            return refusal
        commander = folder.state.roles.get(INCIDENT_COMMANDER)
        who = author.name
        reason = commander_refusal(commander, who, action)
        return None if reason is None else (RejectionCode.FORBIDDEN, reason)

    def _keys_to_drop(self, purged: set[str]) -> list[str]:
        """The text keys a batch's purges destroy (the entries' own and their amendments')."""
        drop: list[str] = []
        for entry_id in purged:
            for folder in self._folders.values():
                if entry_id in folder:
                    drop += purged_key_ids(entry_id, folder.events)
                    break
        return drop

    def _holds(self, event: Event) -> bool:
        """Whether this event's id is folded here already (read without the lock: a stale
        answer only means checking a signature that was checked before)."""
        folder = self._folders.get(event.incident_id)
        return folder is not None and event.id in folder

    def _folder(self, incident_id: str) -> IncidentFolder:
        folder = self._folders.get(incident_id)
        if folder is None:
            folder = self._folders[incident_id] = IncidentFolder(incident_id)
        return folder

    # --- reading ---------------------------------------------------------------------------

    def declared_by(self, incident_id: str) -> str | None:
        with self._lock:
            folder = self._folders.get(incident_id)
            return folder.state.declared_by if folder is not None else None

    def intake_names(self) -> set[str]:
        """Who posts alerts: the users of alert-intake tokens."""
        return {t.name for t in self.store.tokens() if t.scope == "intake"}

    def incidents(self) -> list[IncidentSummary]:
        if self._behind:
            self.catch_up()
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


def _parse(index: int, raw: Any) -> "Event | EventResult":
    """The event, or the ``invalid`` result for it (judged before any lock is taken)."""
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    raw_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
    try:
        return parse_event(raw)
    except ValueError as exc:
        return _rejected(index, raw_id, RejectionCode.INVALID, f"the event is not valid: {exc}")
    except OverflowError:
        # A time whose conversion to UTC leaves datetime's range (year 1 with a positive
        # offset, year 9999 with a negative one). Without this the whole batch was a 500,
        # which a client retries forever: its outbox stuck.
        return _rejected(
            index, raw_id, RejectionCode.INVALID,
            "the event is not valid: a time is out of range once converted to UTC",
        )  # fmt: skip


def _judge_duplicate(
    index: int,
    event: Event,
    event_json: str,
    staged_ids: dict[str, _Staged],
    stored: dict[str, tuple[int, str]],
) -> EventResult | None:
    """A duplicate/conflict result if this id is already stored or staged, else None."""
    if event.id in staged_ids:
        same = staged_ids[event.id].event_json == event_json
        position = None  # filled in once the staged event has its position
    elif event.id in stored:
        position, stored_json = stored[event.id]
        # The stored bytes decide; a server version that serialised the same event another
        # way still recognises it through the parsed model.
        same = stored_json == event_json or _same_event(stored_json, event)
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


def _same_event(stored_json: str, event: Event) -> bool:
    try:
        return Event.model_validate_json(stored_json) == event
    except ValueError:
        return False


def _repair_refusal(event: Event, folder: IncidentFolder) -> tuple[RejectionCode, str] | None:
    """A purge needs a redacted entry; a void an event of this incident (and not a void)."""
    if event.kind == "entry.purged":
        entry = next((e for e in folder.state.timeline if e.id == event.payload["entry_id"]), None)
        if entry is None or not entry.redacted:
            return RejectionCode.CONFLICT, "only a redacted entry of this incident can be purged"
    elif event.kind == "event.voided":
        target = event.payload["event_id"]
        if target not in folder:
            return RejectionCode.CONFLICT, f"no event {short_id(target)} in this incident to void"
        if next(e for e in folder.events if e.id == target).kind == "event.voided":
            return RejectionCode.CONFLICT, "a void cannot be voided"
    return None


def _rejected(index: int, event_id: str | None, code: RejectionCode, reason: str) -> EventResult:
    return EventResult(index=index, id=event_id, status=Outcome.REJECTED, code=code, reason=reason)


def stored_row(
    event: Event, received_at: str, pushed_by: str | None, event_json: str | None = None
) -> StoredEvent:
    """The row that stores ``event`` (``event_json``: its canonical JSON, if already made)."""
    event_json = event_json if event_json is not None else event.model_dump_json()
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
