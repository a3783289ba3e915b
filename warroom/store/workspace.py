"""A data directory of incidents: load, act, follow other writers.

The CLI and the TUI both go through this class. ``record`` is the only way events enter the
local store: it appends them to the incident's journal (fsync'd) and only then applies them to
the in-memory state, so anything shown as saved is on disk.

Events made here are signed with the person's key and their timeline text is sealed under a
key of its own (stored before the journal line, see ``warroom.store.keys``).

One damaged incident never stops the others: a journal with corrupt lines loads the rest of
its lines and is flagged (``damaged``); a journal that cannot be used at all (a symlink, not
a regular file) is set aside (``_broken``) and events arriving for it are skipped and
counted, to be fetched again by ``warroom repair``.
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
from warroom.domain.fold import IncidentFolder, bulk
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import matches_ref, short_id
from warroom.domain.models import Incident, canonical_person, incident_sort_key
from warroom.domain.sealing import KEY_BYTES, TextSealer, entry_of
from warroom.domain.signing import Signer
from warroom.store import paths
from warroom.store.atomic import atomic_write
from warroom.store.journal import READ_ONLY_ERRNOS, Journal, JournalError, JournalUnusable, ReadOnlyError
from warroom.store.keys import TextKeyStore, load_signer

AUTO = "auto"

_NODE_FILE = "node-id"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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
    """The incidents of one data directory and the events that make them.

    ``signer``: the actor's signing key; by default loaded (or made) under the config dir.
    Pass None for a workspace whose events stay unsigned (sample data, benchmarks).
    ``keys_ahead``: see ``keep_text_keys_ready`` (the TUI)."""

    def __init__(
        self,
        data_dir: Path,
        actor: str,
        clock: Clock | None = None,
        *,
        signer: Signer | None | str = AUTO,
        seal: bool = True,
        keys_ahead: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.clock = clock or SystemClock()
        self.journal_dir = paths.incidents_dir(data_dir)
        self._folders: dict[str, IncidentFolder] = {}
        self._journals: dict[str, Journal] = {}
        self._broken: dict[str, str] = {}  # incident id -> why its journal cannot be used
        self.damaged: dict[str, str] = {}
        """Incidents whose journal has corrupt lines (kept and quarantined): loaded from the
        good lines, flagged until ``warroom repair`` rebuilds them."""
        self.skipped: dict[str, int] = {}
        """Events received for an incident whose journal cannot be used (fetched again by
        ``warroom repair``)."""
        self.read_only: str | None = _cannot_write(data_dir)
        """Why this data dir cannot be written (read-only mount, another user's files), or
        None. Read-only, everything loads and can be read and exported; writes are refused."""
        self.hlc = HybridClock(self.clock, self._node_id())
        self.text_keys = TextKeyStore(data_dir)
        actor = self._clean_actor(actor)
        self._auto_signer = signer == AUTO
        self.factory = EventFactory(
            actor,
            self.clock,
            self.hlc,
            signer=load_signer(actor) if signer == AUTO else signer,  # type: ignore[arg-type]
            sealer=TextSealer() if seal else None,
        )
        self.report = LoadReport()
        self._listeners: list[Callable[[str, list[Event]], None]] = []
        # The TUI writes from a worker thread and the sync engine from its own; every public
        # method that reads or changes the folders holds this lock, briefly (never across a
        # disk write). Re-entrant for the methods that call one another.
        self._lock = threading.RLock()
        self._append_lock = threading.Lock()
        """Held by one writer at a time while it journals; never taken under ``_lock``."""
        self._excluded: set[str] = set()
        """Ids of events the sync server refused: kept in the journal, left out of the state."""
        self._keys_ahead = 0
        self._storing_keys_ahead = False
        if keys_ahead:
            self.keep_text_keys_ready()

    # --- identity --------------------------------------------------------------------------

    @property
    def actor(self) -> str:
        return self.factory.actor

    @staticmethod
    def _clean_actor(actor: str) -> str:
        try:
            return canonical_person(actor)
        except ValueError as exc:
            raise DomainError(f"your user name cannot be used: {exc}") from None

    def set_actor(self, actor: str) -> None:
        actor = self._clean_actor(actor)
        self.factory.actor = actor
        if self._auto_signer:
            self.factory.signer = load_signer(actor)

    @property
    def signer(self) -> Signer | None:
        return self.factory.signer

    def flags(self) -> dict[str, str]:
        """Incidents that need `warroom repair`, with why (damaged or unusable journals)."""
        with self._lock:
            found = dict(self.damaged)
            found.update(self._broken)
            for incident_id, count in self.skipped.items():
                found.setdefault(incident_id, f"{count} event(s) from the server were not saved")
            return found

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
        try:
            atomic_write(node_file, node.encode())
        except OSError:
            # A data dir we may only read: it is still read; any write to it will fail with
            # its own clear reason, so this id never needs to outlive the process.
            pass
        return node

    def keep_text_keys_ready(self, count: int = 64) -> None:
        """Store text keys ahead of time, under the ids of events not made yet, for a front
        end where people log entries one by one (the TUI). Each key is fsync'd before any
        event takes it, off the typing path, so saving an entry waits for the journal's fsync
        alone; a few keys no event took are left in the key file (harmless: they open
        nothing). Commands that write once (the CLI) do not call this."""
        self._keys_ahead = count
        self._store_keys_ahead()

    def _store_keys_ahead(self) -> None:
        sealer = self.factory.sealer
        if sealer is None or not self._keys_ahead or self._storing_keys_ahead:
            return
        missing = self._keys_ahead - sealer.ready()
        if missing < self._keys_ahead // 2:
            return
        self._storing_keys_ahead = True
        now = self.clock.now()
        keys = {self.factory.new_id(now): os.urandom(KEY_BYTES) for _ in range(missing)}

        def done(stored: bool) -> None:
            if stored:
                sealer.provide(keys)
            self._storing_keys_ahead = False

        self.text_keys.add_in_background(keys, done)

    # --- loading ---------------------------------------------------------------------------

    def load(self, progress: Callable[[int, int], None] | None = None) -> LoadReport:
        """Read every journal. Corrupt journals are reported, not half-loaded.
        ``progress(bytes_done, bytes_total)`` follows the reading, over all journals."""
        with self._lock:
            if not self.journal_dir.is_dir():
                if self.read_only is not None:
                    return self.report  # nothing to read, and nothing may be created
                self.journal_dir.mkdir(parents=True, exist_ok=True)
            todo = []
            for path in sorted(self.journal_dir.iterdir()):
                incident_id = paths.journal_incident_id(path.name)
                if incident_id and incident_id not in self._journals:
                    todo.append((incident_id, path))
            sizes = [_size(path) for _, path in todo]
            total, before = sum(sizes), 0
            # One pause of the collector over every parse and fold: each pause's end costs a
            # pass over all the objects made so far (a 100,000-entry incident's, ~30 ms).
            with bulk(total // 100):
                for index, (incident_id, path) in enumerate(todo):
                    step = None
                    if progress is not None:
                        step = lambda done, _total, base=before: progress(base + done, total)  # noqa: E731
                        before += sizes[index]
                    self._open_journal(incident_id, path, step)
            return self.report

    def _open_journal(self, incident_id: str, path: Path, progress: Callable[[int, int], None] | None = None) -> list[Event]:
        journal = Journal(path, incident_id)
        try:
            result = journal.open(progress)
        except JournalError as exc:
            self._broken[incident_id] = str(exc)
            self.report.errors.append(str(exc))
            return []
        if not result.events and not result.damaged:
            # An empty file (a create whose first write failed, or one in progress) is not
            # an incident yet; poll() opens it again once something is in it.
            self.report.warnings.extend(result.warnings)
            return []
        self._journals[incident_id] = journal
        if result.damaged:
            self.damaged[incident_id] = journal.damage_report()
            self.report.errors.extend(w for w in result.warnings if w == self.damaged[incident_id])
            self.report.warnings.extend(w for w in result.warnings if w != self.damaged[incident_id])
        else:
            self.report.warnings.extend(result.warnings)
        folder = IncidentFolder(incident_id, self.text_keys)
        folder.add_many(e for e in result.events if e.id not in self._excluded)
        self._folders[incident_id] = folder
        self._observe(result.events)
        return result.events

    def _observe(self, events: list[Event]) -> None:
        # The largest acceptable HLC: one stamped far in the future is kept in its event,
        # never adopted as this machine's time (it would stop every later write winning).
        if not events:
            return
        suffix = "-" + self.hlc.node
        actor = self.actor
        own = [e.hlc for e in events if e.actor == actor and e.hlc.endswith(suffix)]
        if own:
            self.hlc.resume(max(own))
        self.hlc.observe_many(e.hlc for e in events)

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
                journal = self._journals[incident_id]
                try:
                    events = journal.read_new()
                except JournalError as exc:
                    self._broken[incident_id] = str(exc)
                    self.report.errors.append(str(exc))
                    continue
                if journal.damaged and incident_id not in self.damaged:
                    self.damaged[incident_id] = journal.damage_report()
                    self.report.errors.append(self.damaged[incident_id])
                fresh = [
                    e for e in events if e.id not in self._excluded and self._folders[incident_id].add(e)
                ]
                if fresh:
                    self._observe(fresh)
                    changed[incident_id] = fresh
            changed_keys = self.text_keys.refresh()
            if changed_keys:
                self._reopen(changed_keys)
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
                raise DomainError(f"{self._broken[ref]}; run `warroom repair {short_id(ref)}`")
            matches = [iid for iid in self._folders if matches_ref(iid, ref)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise UnknownIncidentError(f"{incident_ref!r} matches several incidents; type more of the id")
            broken = [iid for iid in self._broken if matches_ref(iid, ref)]
            if len(broken) == 1:
                raise DomainError(f"{self._broken[broken[0]]}; run `warroom repair {short_id(broken[0])}`")
            raise UnknownIncidentError(f"no incident {incident_ref!r} in {self.data_dir}")

    def events(self, incident_id: str) -> list[Event]:
        with self._lock:
            return self._folders[incident_id].events

    # --- writing ---------------------------------------------------------------------------

    def record(self, events: list[Event]) -> None:
        """Durably journal the events, then apply them. Raises JournalError (nothing applied).

        Writers take turns (``_append_lock``), but the disk is waited on outside the state
        lock: a slow fsync never makes a reader (the UI drawing the timeline) wait."""
        if self.read_only is not None and events:
            raise ReadOnlyError(f"not saved: this data directory is read-only ({self.read_only})")
        by_incident: dict[str, list[Event]] = {}
        for event in events:
            by_incident.setdefault(event.incident_id, []).append(event)
        with self._append_lock:
            with self._lock:
                for incident_id in by_incident:
                    if incident_id in self._broken:
                        raise DomainError(self._broken[incident_id])
            sealer = self.factory.sealer
            keys_synced = None
            if sealer is not None:
                # The keys are written first, and their fsync overlaps the journal's: the
                # entry is reported saved only once both are on disk.
                _, keys_synced = self.text_keys.add_started(sealer.take(e.id for e in events))
            for incident_id, batch in by_incident.items():
                with self._lock:
                    journal = self._journals.get(incident_id)
                    if journal is None:
                        # Known before it is written, so poll() follows it with read_new
                        # instead of opening it (which would wait for our lock on the file).
                        journal = Journal(paths.journal_file(self.journal_dir, incident_id), incident_id)
                        self._journals[incident_id] = journal
                try:
                    journal.append(batch)  # raises before anything is applied
                except JournalUnusable as exc:
                    with self._lock:
                        self._broken[incident_id] = str(exc)
                    raise DomainError(str(exc)) from None
                if keys_synced is not None:
                    keys_synced()
                    keys_synced = None
                with self._lock:
                    folder = self._folders.get(incident_id)
                    if folder is None:
                        folder = self._folders[incident_id] = IncidentFolder(incident_id, self.text_keys)
                    if sealer is not None:
                        folder.know_texts(sealer.texts_of(e.id for e in batch))
                    folder.add_many(batch)
                    self._apply_purges(folder, batch)
            self._store_keys_ahead()
            for listener in self._listeners:
                for incident_id, batch in by_incident.items():
                    listener(incident_id, batch)

    def _apply_purges(self, folder: IncidentFolder, batch: list[Event]) -> None:
        """An ``entry.purged`` destroys this machine's keys of that entry's texts."""
        purged = {e.payload["entry_id"] for e in batch if e.kind == "entry.purged"}
        if not purged:
            return
        ids = [e.id for e in folder.events if entry_of(e) in purged]
        self.text_keys.destroy(ids)
        folder.reopen(ids)

    def _reopen(self, event_ids: list[str]) -> None:
        wanted = set(event_ids)
        for folder in self._folders.values():
            present = [i for i in wanted if i in folder]
            if present:
                folder.reopen(present)

    def ingest(
        self, events: list[Event], keys: dict[str, bytes] | None = None
    ) -> dict[str, list[Event]]:
        """Events from elsewhere (the sync server, an import): journal the new ones, apply.
        ``keys`` are text keys that came with them (stored first). Returns the ones that were
        new, per incident.

        An incident whose journal cannot be used is skipped (and counted in ``skipped``), so
        one bad journal never stops the others from receiving. Any other failure to write
        (a full disk) raises: the caller must not move past these events."""
        fresh: dict[str, list[Event]] = {}
        added = self.text_keys.add(keys) if keys else []  # its fsync outside the state lock
        with self._lock:
            if added:
                self._reopen(added)
            for event in events:
                folder = self._folders.get(event.incident_id)
                if folder is not None and event.id in folder:
                    continue
                fresh.setdefault(event.incident_id, []).append(event)
        saved: dict[str, list[Event]] = {}
        for incident_id, batch in fresh.items():
            unique = list({e.id: e for e in batch}.values())
            try:
                if incident_id in self._broken:
                    raise DomainError(self._broken[incident_id])
                self.record(unique)  # outside the state lock: readers never wait on the disk
            except DomainError:
                with self._lock:
                    if incident_id not in self._broken:
                        raise
                    self.skipped[incident_id] = self.skipped.get(incident_id, 0) + len(unique)
                continue
            self._observe(unique)
            saved[incident_id] = unique
        return saved

    def rebuild(self, incident_id: str, events: list[Event]) -> Path | None:
        """``warroom repair``: set the incident's journal aside (renamed, never deleted) and
        write a new one holding its good local events plus ``events`` (from the server).
        Returns where the old journal was moved (None if there was none)."""
        with self._lock:
            path = paths.journal_file(self.journal_dir, incident_id)
            local = list(self._folders[incident_id].events) if incident_id in self._folders else []
            merged = list({e.id: e for e in [*local, *events] if e.incident_id == incident_id}.values())
            moved = None
            if os.path.lexists(path):
                stamp = self.clock.now().strftime("%Y%m%dT%H%M%SZ")
                moved = path.with_name(f"{path.name}.damaged-{stamp}")
                n = 1
                while os.path.lexists(moved):
                    n += 1
                    moved = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
                os.rename(path, moved)  # a symlink is moved as a link: its target is untouched
            self._journals.pop(incident_id, None)
            self._folders.pop(incident_id, None)
            self._broken.pop(incident_id, None)
            self.damaged.pop(incident_id, None)
            self.skipped.pop(incident_id, None)
            journal = Journal(path, incident_id)
            journal.append(sorted(merged, key=Event.order_key))
            self._open_journal(incident_id, path)
            return moved

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


def _cannot_write(data_dir: Path) -> str | None:
    """Why nothing can be written under ``data_dir``, or None. Tried for real (a file created
    and removed) rather than with ``os.access``, which a read-only mount or root fool."""
    target = data_dir
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno in READ_ONLY_ERRNOS:
            return f"{data_dir} cannot be created: {exc.strerror}"
        raise
    journal_dir = paths.incidents_dir(data_dir)
    if journal_dir.is_dir():
        target = journal_dir
    probe = target / f".warroom-write-test-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    except OSError as exc:
        if exc.errno in READ_ONLY_ERRNOS:
            return f"{target} cannot be written: {exc.strerror}"
        raise
    os.close(fd)
    os.unlink(probe)
    return None
