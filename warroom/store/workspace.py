"""A data directory of incidents: load, act, follow other writers.

The CLI and the TUI both go through this class. ``record`` is the only way events enter the
local store: it appends them to the incident's journal (fsync'd) and only then applies them to
the in-memory state, so anything shown as saved is on disk.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from warroom.domain.clock import Clock, SystemClock
from warroom.domain.commands import DomainError, EventFactory
from warroom.domain.events import Event
from warroom.domain.fold import IncidentFolder
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import matches_ref
from warroom.domain.models import Incident, incident_sort_key
from warroom.store import paths
from warroom.store.atomic import atomic_write
from warroom.store.journal import Journal, JournalError

_NODE_FILE = "node-id"


class UnknownIncidentError(DomainError):
    pass


@dataclass
class LoadReport:
    """What opening the data dir found besides the incidents themselves."""

    warnings: list[str] = field(default_factory=list)
    """Repaired torn tails and similar: worth telling the user, nothing lost."""
    errors: list[str] = field(default_factory=list)
    """Journals that could not be loaded (corruption): their incidents are not shown."""


class Workspace:
    """The incidents of one data directory and the events that make them."""

    def __init__(self, data_dir: Path, actor: str, clock: Clock | None = None) -> None:
        self.data_dir = data_dir
        self.clock = clock or SystemClock()
        self.journal_dir = paths.incidents_dir(data_dir)
        self._folders: dict[str, IncidentFolder] = {}
        self._journals: dict[str, Journal] = {}
        self._broken: dict[str, str] = {}  # incident id -> why its journal cannot be used
        self.hlc = HybridClock(self.clock, self._node_id())
        self.factory = EventFactory(actor, self.clock, self.hlc)
        self.report = LoadReport()
        self._listeners: list[Callable[[str, list[Event]], None]] = []
        # The TUI writes from a worker thread and the sync engine from its own; every public
        # method that reads or changes the folders holds this lock. Re-entrant because
        # ingest() calls record().
        self._lock = threading.RLock()
        self._excluded: set[str] = set()
        """Ids of events the sync server refused: kept in the journal, left out of the state."""

    # --- identity --------------------------------------------------------------------------

    @property
    def actor(self) -> str:
        return self.factory.actor

    def set_actor(self, actor: str) -> None:
        self.factory.actor = actor

    def _node_id(self) -> str:
        """A short id for this data dir, so HLC values from different machines never tie."""
        node_file = self.data_dir / _NODE_FILE
        try:
            node = node_file.read_text().strip()
            if re.fullmatch(r"[0-9a-f]{8}", node):
                return node
        except FileNotFoundError:
            pass
        node = os.urandom(4).hex()
        atomic_write(node_file, node.encode())
        return node

    # --- loading ---------------------------------------------------------------------------

    def load(self) -> LoadReport:
        """Read every journal. Corrupt journals are reported, not half-loaded."""
        with self._lock:
            self.journal_dir.mkdir(parents=True, exist_ok=True)
            for path in sorted(self.journal_dir.iterdir()):
                incident_id = paths.journal_incident_id(path.name)
                if incident_id and incident_id not in self._journals:
                    self._open_journal(incident_id, path)
            return self.report

    def _open_journal(self, incident_id: str, path: Path) -> list[Event]:
        journal = Journal(path, incident_id)
        try:
            result = journal.open()
        except JournalError as exc:
            self._broken[incident_id] = str(exc)
            self.report.errors.append(str(exc))
            return []
        self._journals[incident_id] = journal
        self.report.warnings.extend(result.warnings)
        folder = IncidentFolder(incident_id)
        folder.add_many(e for e in result.events if e.id not in self._excluded)
        self._folders[incident_id] = folder
        if folder.state.last_hlc:
            self.hlc.observe(folder.state.last_hlc)
        return result.events

    def poll(self) -> dict[str, list[Event]]:
        """Pick up events other processes wrote since the last look (new journals too).
        Returns the new events per incident."""
        with self._lock:
            changed: dict[str, list[Event]] = {}
            try:
                names = os.listdir(self.journal_dir)
            except FileNotFoundError:
                return changed
            for name in names:
                incident_id = paths.journal_incident_id(name)
                if incident_id is None or incident_id in self._broken:
                    continue
                if incident_id not in self._journals:
                    events = self._open_journal(incident_id, self.journal_dir / name)
                    if events:
                        changed[incident_id] = events
                    continue
                try:
                    events = self._journals[incident_id].read_new()
                except JournalError as exc:
                    self._broken[incident_id] = str(exc)
                    self.report.errors.append(str(exc))
                    continue
                fresh = [
                    e for e in events if e.id not in self._excluded and self._folders[incident_id].add(e)
                ]
                if fresh:
                    self.hlc.observe(max(e.hlc for e in fresh))
                    changed[incident_id] = fresh
            return changed

    # --- reading state ---------------------------------------------------------------------

    def incidents(self) -> list[Incident]:
        """Active first (worst SEV, oldest first), then resolved."""
        with self._lock:
            return sorted((f.state for f in self._folders.values()), key=incident_sort_key)

    def get(self, incident_ref: str) -> Incident:
        """An incident by full id or short id (the last 8 hex digits people type)."""
        with self._lock:
            return self._folders[self.resolve_id(incident_ref)].state

    def resolve_id(self, incident_ref: str) -> str:
        with self._lock:
            ref = incident_ref.strip().lower()
            if ref in self._folders:
                return ref
            if ref in self._broken:
                raise DomainError(self._broken[ref])
            matches = [iid for iid in self._folders if matches_ref(iid, ref)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise UnknownIncidentError(f"{incident_ref!r} matches several incidents; type more of the id")
            broken = [iid for iid in self._broken if matches_ref(iid, ref)]
            if len(broken) == 1:
                raise DomainError(self._broken[broken[0]])
            raise UnknownIncidentError(f"no incident {incident_ref!r} in {self.data_dir}")

    def events(self, incident_id: str) -> list[Event]:
        with self._lock:
            return self._folders[incident_id].events

    # --- writing ---------------------------------------------------------------------------

    def record(self, events: list[Event]) -> None:
        """Durably journal the events, then apply them. Raises JournalError (nothing applied)."""
        with self._lock:
            by_incident: dict[str, list[Event]] = {}
            for event in events:
                by_incident.setdefault(event.incident_id, []).append(event)
            for incident_id, batch in by_incident.items():
                if incident_id in self._broken:
                    raise DomainError(self._broken[incident_id])
                journal = self._journals.get(incident_id)
                if journal is None:
                    journal = Journal(paths.journal_file(self.journal_dir, incident_id), incident_id)
                journal.append(batch)  # raises before anything is applied
                self._journals[incident_id] = journal
                folder = self._folders.setdefault(incident_id, IncidentFolder(incident_id))
                folder.add_many(batch)
            for listener in self._listeners:
                for incident_id, batch in by_incident.items():
                    listener(incident_id, batch)

    def ingest(self, events: list[Event]) -> dict[str, list[Event]]:
        """Events from elsewhere (the sync server, an import): journal the new ones, apply.
        Returns the ones that were new, per incident."""
        with self._lock:
            fresh: dict[str, list[Event]] = {}
            for event in events:
                folder = self._folders.get(event.incident_id)
                if folder is not None and event.id in folder:
                    continue
                fresh.setdefault(event.incident_id, []).append(event)
            for incident_id, batch in fresh.items():
                unique = list({e.id: e for e in batch}.values())
                fresh[incident_id] = unique
                self.record(unique)
                self.hlc.observe(max(e.hlc for e in unique))
            return fresh

    def exclude(self, event_ids) -> bool:
        """Leave these events out of the folded state from now on (the server refused them).
        They stay in the journal, and are shown as rejected by the sync status. Returns True
        if the state changed."""
        with self._lock:
            new = set(event_ids) - self._excluded
            if not new:
                return False
            self._excluded |= new
            changed = False
            for folder in self._folders.values():
                changed |= folder.discard(new)
            return changed

    def add_listener(self, listener: Callable[[str, list[Event]], None]) -> None:
        """Called after every durable ``record`` (the sync outbox hooks in here)."""
        self._listeners.append(listener)
