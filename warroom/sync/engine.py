"""The sync engine: push the outbox, follow the feed, report status. Threads, no asyncio.

``run_forever`` runs two loops:

* the **push loop** (in the calling thread) sends pending events in batches. It sleeps until
  woken by a local ``record`` (``Workspace.add_listener``) — so an entry reaches the server
  within a round trip — or until a periodic scan (events written by other processes on this
  data dir), or until its backoff after a failure ends;
* the **pull loop** (a daemon thread) holds a long-poll on ``/v1/feed`` and ingests what
  arrives, then saves the cursor.

Neither loop touches the UI. Received events go through ``apply`` (default
``workspace.ingest``); a UI passes a function that runs the ingest on its own thread, e.g.
``lambda events: app.call_from_thread(workspace.ingest, events)``, because ``Workspace`` is
not thread-safe. Status changes go to ``on_status(SyncStatus)`` from the engine's threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from warroom.domain.clock import Clock, SystemClock
from warroom.domain.events import Event
from warroom.domain.ids import short_id
from warroom.store.outbox import WAITING_CODES, Outbox, Rejection
from warroom.store.sync_state import CursorFile, resolve_server, resolve_token, state_dir
from warroom.sync.client import (
    SyncClient,
    SyncCursorGone,
    SyncError,
    SyncRejected,
    SyncUnauthorized,
    SyncUnavailable,
)
from warroom.sync.status import Backoff, PullCounts, PushCounts, SyncCounts, SyncStatus
from warroom.wire import DEFAULT_HOLD_SECONDS, MAX_BATCH_EVENTS, MAX_BODY_BYTES, Outcome

__all__ = ["Backoff", "PullCounts", "PushCounts", "SyncCounts", "SyncEngine", "SyncStatus"]

# Leave room for the envelope and JSON punctuation under the server's 1 MiB body limit.
_BATCH_BYTES = MAX_BODY_BYTES - 64 * 1024


class SyncEngine:
    """Keeps one data dir in sync with one server."""

    def __init__(
        self,
        workspace: Any,
        client: SyncClient,
        data_dir: Path | None = None,
        *,
        apply: Callable[[list[Event]], object] | None = None,
        clock: Clock | None = None,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        scan_interval: float = 2.0,
        waiting_retry_seconds: float = 5.0,
    ) -> None:
        self.workspace = workspace
        self.client = client
        self.data_dir = Path(data_dir) if data_dir is not None else workspace.data_dir
        self.state_dir = state_dir(self.data_dir, client.base_url)
        self.outbox = Outbox(workspace.journal_dir, self.state_dir)
        self.cursor = CursorFile(self.state_dir)
        self.receipt = CursorFile(self.state_dir, "receipt")
        """Where the server said it stored our last pushed events (see ``check_receipt``)."""
        self._apply = apply or workspace.ingest
        self.clock = clock or SystemClock()
        self.hold_seconds = hold_seconds
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.scan_interval = scan_interval
        self.waiting_retry_seconds = waiting_retry_seconds
        self._last_requeue = time.monotonic()
        self._requeue_now = threading.Event()
        self._status_lock = threading.Lock()
        self._pull_lock = threading.Lock()  # one feed reader at a time (cursor consistency)
        self._status = SyncStatus(
            server=client.base_url,
            online=False,
            since=None,
            pending=0,
            rejected=self.outbox.rejected_count(),
        )
        self._emitted: SyncStatus | None = None
        self._on_status: Callable[[SyncStatus], None] | None = None
        self._push_wake = threading.Event()
        self._feed_thread = threading.local()
        """``ingesting`` is set while this thread journals what the feed brought."""
        self._pull_wake = threading.Event()
        self._listening = False
        self._identity_stale = False

    @classmethod
    def from_config(
        cls,
        workspace: Any,
        server: str | None = None,
        *,
        apply: Callable[[list[Event]], object] | None = None,
        timeout: float = 10.0,
    ) -> "SyncEngine | None":
        """An engine for the configured server (``server`` = ``--server`` if given, else
        ``WARROOM_SERVER`` or ``warroom login``'s file), or None when sync is not set up.
        Raises ``SyncConfigError`` (e.g. a token file others can read)."""
        url = resolve_server(server)
        if url is None:
            return None
        client = SyncClient(url, resolve_token(), timeout=timeout)
        return cls(workspace, client, apply=apply)

    # --- status ----------------------------------------------------------------------------

    @property
    def status(self) -> SyncStatus:
        with self._status_lock:
            return replace(
                self._status,
                pending=self.outbox.pending_count(),
                rejected=self.outbox.rejected_count(),
                waiting=self.outbox.waiting_count(),
            )

    def rejections(self) -> list[Rejection]:
        """Events the server refused, with reasons (to show; they are never dropped)."""
        return self.outbox.rejections()

    def _update(self, **changes: Any) -> None:
        with self._status_lock:
            if "online" in changes and changes["online"] != self._status.online:
                changes["since"] = self.clock.now()
            elif "online" in changes and self._status.since is None:
                changes["since"] = self.clock.now()
            self._status = replace(self._status, **changes)

    def _went_online(self) -> None:
        was_online = self._status.online
        was_offline = not was_online and self._status.since is not None
        self._update(online=True, last_error=None)
        if was_offline:
            # Back after an outage: the server may have been restored meanwhile.
            self._identity_stale = True
        if not was_online:
            # The server is back: let the other loop stop backing off.
            self._push_wake.set()
            self._pull_wake.set()

    def _went_offline(self, error: str) -> None:
        self._update(online=False, last_error=error)

    def _emit(self) -> None:
        callback = self._on_status
        if callback is None:
            return
        with self._status_lock:
            status = replace(
                self._status,
                pending=self.outbox.pending_count(),
                rejected=self.outbox.rejected_count(),
                waiting=self.outbox.waiting_count(),
            )
            if status == self._emitted:
                return
            self._emitted = status
        try:
            callback(status)
        except Exception:  # the UI's problem must not stop sync
            pass

    # --- one-shot operations ---------------------------------------------------------------

    def push_pending(self, *, retries: int = 0, stop: threading.Event | None = None) -> PushCounts:
        """Send everything pending, in batches within the server's limits.

        On ``SyncUnavailable`` it retries up to ``retries`` times with exponential backoff
        (interrupted by ``stop``), then re-raises. Rejected events are recorded, not raised.
        Waiting events (their declaration or key had not arrived) go again when something
        new came from the server, or every ``waiting_retry_seconds``."""
        self.outbox.scan()
        due = time.monotonic() - self._last_requeue >= self.waiting_retry_seconds
        if self._requeue_now.is_set() or due:
            self._requeue_now.clear()
            self._last_requeue = time.monotonic()
            self.outbox.requeue_waiting()
        counts = PushCounts(new_rejections=[])
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        while True:
            batches = self.outbox.pending_batches(MAX_BATCH_EVENTS, _BATCH_BYTES)
            if not batches:
                break
            batch = batches[0]
            keys = self._text_keys().keys_for(e.id for e in batch) if self._text_keys() is not None else None
            try:
                result = self.client.push(batch, keys)
            except SyncUnavailable as exc:
                self._went_offline(str(exc))
                if backoff.failures >= retries or (stop is not None and stop.is_set()):
                    raise
                delay = backoff.next_delay()
                if stop is not None:
                    stop.wait(delay)
                else:
                    time.sleep(delay)
                continue
            except SyncError as exc:
                self._update(last_error=str(exc))
                raise
            self._went_online()
            progressed = self._record_push(batch, result, counts)
            if not progressed:
                break  # the server answered without results for these: do not spin
        counts.pending = self.outbox.pending_count()
        return counts

    def _record_push(self, batch: list[Event], result, counts: PushCounts) -> bool:
        by_id = {event.id: event for event in batch}
        known = [i for i in result.known_ids if i in by_id]
        self.outbox.mark_synced(known)
        refused = [
            (by_id[r.id], (r.code.value if r.code else "rejected"), r.reason or "no reason given")
            for r in result.rejected
            if r.id in by_id
        ]
        records = self.outbox.mark_rejected(refused) if refused else []
        if any(code == "unknown_key" and event.actor == getattr(self.workspace, "actor", None) for event, code, _ in refused):
            # Our own key is not known there (a server restored from an older backup):
            # register it again, and send the waiting events at once.
            self.ensure_key_registered(force=True)
            self._requeue_now.set()
        if result.receipt:
            try:
                self.receipt.save(result.receipt)
            except (OSError, UnicodeEncodeError):
                pass  # only the restore check is weaker; nothing is lost
        counts.sent += len(batch)
        counts.accepted += result.count(Outcome.ACCEPTED)
        counts.duplicate += result.count(Outcome.DUPLICATE)
        final = [r for r in records if r.code not in WAITING_CODES]
        counts.rejected += len(final)
        counts.waiting += len(records) - len(final)
        counts.new_rejections.extend(final)
        if final:
            newest = final[-1]
            self._update(
                last_rejection=f"{newest.kind} {short_id(newest.event_id)} rejected: {newest.reason}"
            )
        return bool(known or records)

    def pull_once(self, timeout: float = 0.0) -> PullCounts:
        """Fetch one feed page (waiting up to ``timeout`` s), ingest it, save the cursor."""
        return self._pull(self.client, timeout)

    def _pull(
        self, client: SyncClient, timeout: float, stop: threading.Event | None = None
    ) -> PullCounts:
        with self._pull_lock:
            try:
                page = client.feed(self.cursor.load(), timeout)
            except SyncUnavailable as exc:
                self._went_offline(str(exc))
                raise
            except SyncCursorGone as exc:
                # Another database (restored or replaced): read it from the start and make
                # sure it gets everything we have (our key too).
                self.cursor.save(None)
                self.outbox.reset_synced()
                self._identity_stale = True
                self._update(last_error=str(exc))
                self._push_wake.set()
                return PullCounts(more=True, reset=True)
            except SyncError as exc:
                self._update(last_error=str(exc))
                raise
            self._went_online()
            if stop is not None and stop.is_set():
                return PullCounts()  # shutting down: the UI may be gone; fetch it next time
            if page.events:
                # Mark first: the ingest's record() fires our listener, which must not queue
                # these as pending. (Marking is harmless if the ingest then fails: the server
                # does have them, and the cursor is not advanced, so they come again.)
                self.outbox.mark_synced(e.id for e in page.events)
                keys = self._text_keys()
                keys_synced = None
                if page.keys and keys is not None:
                    # Written before the events (a folded entry opens at once); their fsync
                    # overlaps the journal's, and both are done before the cursor moves on.
                    _, keys_synced = keys.add_started(page.keys)
                self._feed_thread.ingesting = True
                try:
                    self._apply(page.events)
                finally:
                    self._feed_thread.ingesting = False
                if keys_synced is not None:
                    keys_synced()
                if self.outbox.waiting_count():
                    # Something arrived (a declaration, perhaps): waiting events may go now.
                    # (Nothing waiting: the push loop stays asleep, off the CPU while the
                    # screen draws what came in.)
                    self._requeue_now.set()
                    self._push_wake.set()
            if page.unreadable:
                self._update(
                    warning=f"{len(page.unreadable)} event(s) from the server need a newer "
                    f"warroom to read ({page.unreadable[0]}); upgrade, then run "
                    "`warroom sync --from-start`"
                )
            self.cursor.save(page.cursor)
            return PullCounts(received=len(page.events), more=page.more)

    def check_receipt(self) -> bool:
        """Does the server still have the last events it acknowledged to us? A server
        restored from an older backup may hold the same database id and a feed that reads
        on without a gap, yet not our events: then forget every acknowledgement and push
        everything again (the server answers "duplicate" for what it has). Returns True
        when that happened."""
        receipt = self.receipt.load()
        if not receipt:
            return False
        try:
            self.client.feed(receipt, timeout=0, limit=1)
        except SyncCursorGone:
            self.receipt.save(None)
            self.cursor.save(None)
            self.outbox.reset_synced()
            self.ensure_key_registered(force=True)
            self._requeue_now.set()
            self._push_wake.set()
            return True
        except SyncRejected:
            return False  # an older server without receipts: nothing to check
        return False

    def sync_once(self) -> SyncCounts:
        """Push the outbox, then pull the feed until nothing more is waiting."""
        self.ensure_key_registered()
        self.check_receipt()
        counts = SyncCounts(push=self.push_pending())
        reset = False
        while True:
            pulled = self.pull_once(timeout=0)
            counts.received += pulled.received
            reset = reset or pulled.reset
            if not pulled.more:
                break
        if reset or (counts.received and self.outbox.waiting_count()):
            # A new or restored server database: it needs what we have, too. (Or events
            # waiting on a declaration that has just come in.)
            if reset:
                self.ensure_key_registered(force=True)
            self._requeue_now.set()
            again = self.push_pending()
            push = counts.push
            push.sent += again.sent
            push.accepted += again.accepted
            push.duplicate += again.duplicate
            push.rejected += again.rejected
            push.waiting = again.waiting
            push.pending = again.pending
            push.new_rejections.extend(again.new_rejections or [])
        return counts

    def resend_all(self) -> int:
        """Forget what the server acknowledged and push everything again (idempotent)."""
        count = self.outbox.reset_synced()
        self._push_wake.set()
        return count

    def retry_rejected(self, event_ids: list[str] | None = None) -> int:
        """Push refused events again (e.g. after the IC handed you the role)."""
        count = self.outbox.retry_rejected(event_ids)
        self._push_wake.set()
        return count

    def restart_feed(self) -> None:
        """Read the whole feed again from the start (ingesting is idempotent)."""
        self.cursor.save(None)

    def _text_keys(self):
        return getattr(self.workspace, "text_keys", None)

    def ensure_key_registered(self, *, force: bool = False, known: list[str] | None = None) -> bool:
        """Register this person's public signing key with the server once (a marker file
        remembers it; ``force`` asks again, e.g. after a restore). Never raises: without a
        registered key the server still takes events pushed by their author, and other
        people's relays of them wait. Returns True when the server has the key."""
        signer = getattr(self.workspace, "signer", None)
        if signer is None:
            return False
        marker = self.state_dir / f"key-{signer.key_id}"
        if known is not None:
            force = force or signer.key_id not in known
        if marker.exists() and not force:
            return True
        try:
            self.client.register_key(signer.public_key_text)
        except SyncError:
            return False
        try:
            marker.touch()
        except OSError:
            pass
        return True

    def check_identity(self) -> None:
        """Ask the server who we are; warn when events would be refused for their actor."""
        me = self.client.whoami()
        if me.auth_required and me.user:
            self.ensure_key_registered(known=me.key_ids)
        warning = None
        actor = getattr(self.workspace, "actor", None)
        if me.auth_required and not me.admin and me.user and actor and me.user != actor:
            warning = (
                f"your token is for {me.user!r} but you record as {actor!r}; the server will "
                f"refuse your events. Use --as {me.user!r} (or WARROOM_USER) or log in with "
                "your own token"
            )
        self._update(user=me.user, admin=bool(me.admin), warning=warning)

    # --- the long-running loops -------------------------------------------------------------

    def _on_local_record(self, _incident_id: str, events: list[Event]) -> None:
        """Workspace listener (runs in the recording thread): queue and wake; never raises."""
        try:
            self.outbox.note_recorded(events)
            if not getattr(self._feed_thread, "ingesting", False):
                # What the feed brought is marked synced already: nothing to push for it.
                self._push_wake.set()
        except Exception:
            pass

    def run_forever(
        self,
        stop_event: threading.Event,
        on_status: Callable[[SyncStatus], None] | None = None,
    ) -> None:
        """Sync until ``stop_event`` is set. Blocks: call it from a worker thread."""
        self._on_status = on_status
        if not self._listening:
            self.workspace.add_listener(self._on_local_record)
            self._listening = True
        puller = threading.Thread(
            target=self._pull_loop, args=(stop_event,), name="warroom-sync-feed", daemon=True
        )
        puller.start()
        try:
            self._push_loop(stop_event)
        finally:
            self._pull_wake.set()
            # A held long-poll cannot be interrupted; the daemon thread ends when it returns
            # and sees the stop flag. Do not keep the caller waiting for it.
            puller.join(timeout=0.25)
            self._emit()

    def _wait(self, wake: threading.Event, stop: threading.Event, seconds: float) -> None:
        """Sleep up to ``seconds``, ending early on ``wake`` or ``stop``."""
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or wake.wait(min(remaining, 0.2)):
                break
        wake.clear()

    def _push_loop(self, stop: threading.Event) -> None:
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        identity_checked = False
        while not stop.is_set():
            self._push_wake.clear()
            delay = self.scan_interval
            try:
                if not identity_checked or self._identity_stale:
                    self._identity_stale = False
                    self.check_identity()
                    self.check_receipt()
                    identity_checked = True
                    self._went_online()
                self.push_pending()
                backoff.reset()
                problems = self.outbox.problems
                if problems:
                    self._update(last_error=problems[0])
            except SyncUnavailable as exc:
                self._went_offline(str(exc))
                delay = backoff.next_delay()
            except SyncUnauthorized as exc:
                self._update(last_error=str(exc))
                delay = max(backoff.next_delay(), 10.0)  # needs a person; do not hammer
            except SyncError as exc:
                self._update(last_error=str(exc))
                delay = backoff.next_delay()
            except Exception as exc:  # a local problem (disk...): report, keep going
                self._update(last_error=f"sync failed: {exc}")
                delay = backoff.next_delay()
            self._emit()
            self._wait(self._push_wake, stop, delay)

    def _pull_loop(self, stop: threading.Event) -> None:
        client = self.client.clone()
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    counts = self._pull(client, self.hold_seconds, stop)
                except SyncUnavailable as exc:
                    self._went_offline(str(exc))
                    self._emit()
                    self._wait(self._pull_wake, stop, backoff.next_delay())
                    continue
                except Exception as exc:
                    self._update(last_error=f"receiving from the server failed: {exc}")
                    self._emit()
                    self._wait(self._pull_wake, stop, max(backoff.next_delay(), 2.0))
                    continue
                backoff.reset()
                self._emit()
                quick_empty = not counts.received and not counts.more and (
                    time.monotonic() - started < self.hold_seconds / 2
                )
                if quick_empty:
                    # An empty page long before the hold time (the server is shutting down,
                    # or a proxy cut the request): do not spin.
                    self._wait(self._pull_wake, stop, 0.5)
        finally:
            client.close()

