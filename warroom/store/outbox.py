"""The outbox: which journalled events the sync server does not have yet.

Every event in the local journals is either *known to the server* or *pending*. Instead of a
second file that must be fsync'd on the scribe's hot path, the outbox derives pending from
what is already durable:

    pending = events in the journals − ids in ``synced-ids`` − ids in ``rejected.jsonl``

``synced-ids`` is an append-only list of ids the server acknowledged (accepted or duplicate)
or sent us in the feed. It is never fsync'd: losing its tail only means those events are
pushed again, and the server answers "duplicate". A torn line is simply not an id, and is
skipped.

``rejected.jsonl`` keeps events the server refused, with its reason. They stay in the journal
and on screen; they are not retried until someone asks (``retry_rejected``), because the same
event would be refused again. Refusals that only wait on something still to arrive — the
incident's declaration, the author's key (see ``WAITING_CODES``) — are different: those
events are *waiting*, not rejected, and ``requeue_waiting`` sends them again on its own.
An event the server turns out to have after all (it came in the feed) stops being rejected.

The outbox reads the journal files itself (only the bytes added since its last look), so it
sees events written by any process on this data dir and never touches the Workspace's
in-memory state from another thread. ``note_recorded`` (hooked to ``Workspace.add_listener``)
is the fast path for events this process just wrote.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from warroom.domain.events import Event
from warroom.domain.ids import is_uuid
from warroom.store import paths
from warroom.store.atomic import atomic_write
from warroom.store.journal import Journal, JournalError

WAITING_CODES = frozenset({"unknown_incident", "unknown_key"})
"""Rejection codes that mean "not yet" (mirrors ``warroom.wire.WAITING_CODES``)."""

SYNCED_FILE_NAME = "synced-ids"
REJECTED_FILE_NAME = "rejected.jsonl"


@dataclass(frozen=True)
class Rejection:
    """An event the server refused, and why."""

    event_id: str
    incident_id: str
    kind: str
    code: str
    reason: str
    rejected_at: str


class _JournalTail:
    """Reads the events appended to one journal since the last look."""

    def __init__(self, path: Path, incident_id: str) -> None:
        self.path = path
        self.incident_id = incident_id
        self.journal = Journal(path, incident_id)
        self.size_seen = 0

    def read_new(self) -> list[Event]:
        try:
            size = os.lstat(self.path).st_size
        except FileNotFoundError:
            return []
        if size < self.size_seen:
            # The file shrank: a torn tail was repaired on open. Read it again from the top
            # (events already known are filtered out by id).
            self.journal = Journal(self.path, self.incident_id)
        elif size == self.size_seen:
            return []
        events = self.journal.read_new()
        self.size_seen = size
        return events


def _append_lines(path: Path, lines: Iterable[str]) -> None:
    """One ``write`` on an O_APPEND descriptor: concurrent writers never interleave lines."""
    blob = "".join(line + "\n" for line in lines).encode("utf-8")
    if not blob:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, blob)
    finally:
        os.close(fd)


def _event_sort_key(event: Event) -> tuple:
    # Declarations first: the server refuses events of an incident it has not seen declared.
    return (event.kind != "incident.declared", event.hlc, event.actor, event.id)


class Outbox:
    """Pending and rejected events of one data dir, for one server. Thread-safe."""

    def __init__(self, journal_dir: Path, state_dir: Path) -> None:
        self.journal_dir = journal_dir
        self.state_dir = state_dir
        self.synced_path = state_dir / SYNCED_FILE_NAME
        self.rejected_path = state_dir / REJECTED_FILE_NAME
        # _lock guards the sets below and is only held for quick in-memory work, so a status
        # query never waits for file reading; _scan_lock serializes the journal readers.
        self._lock = threading.RLock()
        self._scan_lock = threading.Lock()
        self._inbox: deque[Event] = deque()  # from note_recorded: appended without any lock
        self._synced: set[str] = set()
        self._synced_offset = 0
        self._rejected: dict[str, Rejection] = {}
        self._waiting: dict[str, Rejection] = {}
        self._waiting_events: dict[str, Event] = {}
        self._pending: dict[str, Event] = {}
        self._tails: dict[str, _JournalTail] = {}
        self.problems: list[str] = []
        """Journals that could not be read on the last scan (their events wait)."""
        state_dir.mkdir(parents=True, exist_ok=True)
        self._load_rejected()

    # --- state files -----------------------------------------------------------------------

    def _refresh_synced(self) -> None:
        """Pick up ids appended since the last look (by us or another process)."""
        try:
            with open(self.synced_path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size < self._synced_offset:
                    self._synced_offset = 0  # another process reset it (resend-all)
                handle.seek(self._synced_offset)
                data = handle.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        ids = [line.decode("ascii", "replace").strip() for line in data[:end].split(b"\n")]
        with self._lock:
            for event_id in ids:
                if is_uuid(event_id):
                    self._synced.add(event_id)
                    self._pending.pop(event_id, None)
        self._synced_offset += end

    def _load_rejected(self) -> None:
        try:
            lines = self.rejected_path.read_bytes().splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                record = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # a torn last line: that rejection is re-learnt on the next push
            if not isinstance(record, dict) or not isinstance(record.get("event_id"), str):
                continue
            if record.get("retry"):
                self._rejected.pop(record["event_id"], None)
                self._waiting.pop(record["event_id"], None)
                continue
            try:
                rejection = Rejection(**record)
            except TypeError:
                continue
            if rejection.code in WAITING_CODES:
                self._waiting[rejection.event_id] = rejection
            else:
                self._rejected[rejection.event_id] = rejection

    # --- finding pending events -------------------------------------------------------------

    def scan(self) -> int:
        """Read what was journalled since the last scan; returns how many became pending."""
        with self._scan_lock:
            self._refresh_synced()
            problems = []
            found: list[Event] = []
            try:
                names = sorted(os.listdir(self.journal_dir))
            except FileNotFoundError:
                names = []
            for name in names:
                incident_id = paths.journal_incident_id(name)
                if incident_id is None:
                    continue
                tail = self._tails.get(name)
                if tail is None:
                    tail = self._tails[name] = _JournalTail(self.journal_dir / name, incident_id)
                try:
                    found.extend(tail.read_new())
                except JournalError as exc:
                    problems.append(f"not sending from an unusable journal: {exc}")
                    continue
                if tail.journal.damaged:
                    problems.append(f"damaged journal (the other lines are sent): {tail.journal.damage_report()}")
            self.problems = problems
            with self._lock:
                self._drain_inbox()
                return self._add_pending(found)

    def note_recorded(self, events: Iterable[Event]) -> None:
        """Events this process just journalled (the Workspace listener): pending at once.

        Runs on the recording (UI) thread, so it takes no lock and does no I/O."""
        self._inbox.extend(events)

    def _drain_inbox(self) -> None:
        while self._inbox:
            self._add_pending([self._inbox.popleft()])

    def _add_pending(self, events: Iterable[Event]) -> int:
        added = 0
        for event in events:
            if event.id in self._waiting:
                self._waiting_events[event.id] = event
                continue
            if event.id in self._synced or event.id in self._rejected or event.id in self._pending:
                continue
            self._pending[event.id] = event
            added += 1
        return added

    def pending_count(self) -> int:
        with self._lock:
            self._drain_inbox()
            return len(self._pending)

    def pending(self) -> list[Event]:
        """Every pending event, in the order they should be sent."""
        with self._lock:
            self._drain_inbox()
            return sorted(self._pending.values(), key=_event_sort_key)

    def pending_batches(self, max_events: int, max_bytes: int) -> list[list[Event]]:
        """Pending events split so each batch fits the server's limits."""
        batches: list[list[Event]] = []
        batch: list[Event] = []
        size = 0
        for event in self.pending():
            event_size = len(event.model_dump_json()) + 1
            if batch and (len(batch) >= max_events or size + event_size > max_bytes):
                batches.append(batch)
                batch, size = [], 0
            batch.append(event)
            size += event_size
        if batch:
            batches.append(batch)
        return batches

    def is_synced(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._synced

    # --- outcomes --------------------------------------------------------------------------

    def mark_synced(self, event_ids: Iterable[str]) -> None:
        """The server has these events (it acknowledged them, or sent them to us)."""
        with self._lock:
            fresh = [i for i in dict.fromkeys(event_ids) if i not in self._synced and is_uuid(i)]
            for event_id in fresh:
                self._synced.add(event_id)
                self._pending.pop(event_id, None)
            # The server has it after all (someone relayed it): no longer rejected or waiting.
            settled = [i for i in fresh if i in self._rejected or i in self._waiting]
            for event_id in settled:
                self._rejected.pop(event_id, None)
                self._waiting.pop(event_id, None)
                self._waiting_events.pop(event_id, None)
            try:
                _append_lines(self.synced_path, fresh)
                if settled:
                    _append_lines(self.rejected_path, (json.dumps({"event_id": i, "retry": True}) for i in settled))
            except OSError:
                # Not fatal: the ids are known in memory; after a restart they are pushed
                # again and come back as duplicates.
                pass

    def mark_rejected(self, rejections: Iterable[tuple[Event, str, str]]) -> list[Rejection]:
        """Record ``(event, code, reason)`` refusals; the events stop being pending."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            records = []
            for event, code, reason in rejections:
                record = Rejection(event.id, event.incident_id, event.kind, code, reason, now)
                self._pending.pop(event.id, None)
                if code in WAITING_CODES:
                    self._waiting[event.id] = record
                    self._waiting_events[event.id] = event
                else:
                    self._rejected[event.id] = record
                records.append(record)
            try:
                _append_lines(self.rejected_path, (json.dumps(asdict(r)) for r in records))
            except OSError:
                pass  # re-learnt on the next push: the server refuses them again
            return records

    def rejections(self) -> list[Rejection]:
        """Refused for good (until someone retries): left out of what people see."""
        with self._lock:
            return list(self._rejected.values())

    def rejected_count(self) -> int:
        with self._lock:
            return len(self._rejected)

    def waiting(self) -> list[Rejection]:
        """Refused for now, waiting on a declaration or a key; sent again automatically."""
        with self._lock:
            return list(self._waiting.values())

    def waiting_count(self) -> int:
        with self._lock:
            return len(self._waiting)

    def requeue_waiting(self) -> int:
        """Make waiting events pending again (their prerequisite may have arrived).
        Returns how many."""
        with self._lock:
            ready = list(self._waiting_events)
            for event_id in ready:
                self._pending[event_id] = self._waiting_events.pop(event_id)
                self._waiting.pop(event_id, None)
            if ready:
                try:
                    _append_lines(self.rejected_path, (json.dumps({"event_id": i, "retry": True}) for i in ready))
                except OSError:
                    pass
            return len(ready)

    def retry_rejected(self, event_ids: Iterable[str] | None = None) -> int:
        """Make rejected events pending again (e.g. after becoming IC). Returns how many."""
        with self._scan_lock, self._lock:
            chosen = list(self._rejected) if event_ids is None else [
                i for i in event_ids if i in self._rejected
            ]
            for event_id in chosen:
                del self._rejected[event_id]
            _append_lines(
                self.rejected_path, (json.dumps({"event_id": i, "retry": True}) for i in chosen)
            )
            self._tails.clear()  # re-read the journals so those events are found again
        self.scan()
        return len(chosen)

    def reset_synced(self) -> int:
        """Forget every acknowledgement and re-send everything (after the server was restored
        from a backup, or to prove dedupe works). Returns how many events became pending."""
        with self._scan_lock, self._lock:
            atomic_write(self.synced_path, b"", mode=0o600)
            self._synced.clear()
            self._synced_offset = 0
            self._tails.clear()
            self._pending.clear()
        return self.scan()
