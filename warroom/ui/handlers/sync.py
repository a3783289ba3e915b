"""Sync with the team's server: the engine runs in a thread and reports through messages."""

from __future__ import annotations

from warroom.ui.messages import EventsArrived, SyncStatusChanged
from warroom.ui.widgets.header import HeaderBar
from warroom.ui.widgets.notices import NoticeBar


class SyncHandlers:
    """Mixed into ``WarRoomApp``; active only when a server is configured."""

    def _sync_thread(self) -> None:
        """Thread: push the outbox and follow the server's feed until the app exits."""
        self.sync_engine.run_forever(self._sync_stop, lambda status: self._post_from_thread(SyncStatusChanged(status)))

    def events_arrived(self) -> None:
        """Called by the sync thread after it journalled events from the server."""
        self._post_from_thread(EventsArrived())

    def _post_from_thread(self, message) -> None:
        if self._sync_stop.is_set():
            return  # the app is closing: its event loop may already be gone
        try:
            self.post_message(message)
        except RuntimeError:
            pass  # the app is shutting down

    def on_sync_status_changed(self, message: SyncStatusChanged) -> None:
        status = message.status
        header = self.query_one(HeaderBar)
        label = status.summary
        if not status.online and status.since is not None:
            label = f"offline since {status.since:%H:%M}Z" + label[len("offline"):]
        header.sync_label = label
        header.sync_ok = status.online and not status.rejected and not status.warning
        self.sync_admin = status.admin
        if status.warning:
            self.notify(status.warning, title="Sync", severity="error", timeout=30)
        if status.rejected != self._rejected_count:
            self._rejected_count = status.rejected
            self.run_worker(self._exclude_rejected, thread=True, group="sync-rejections", name="leave out refused events")
        if status.last_rejection and status.last_rejection != self._last_rejection:
            self._last_rejection = status.last_rejection
            # Above the panes for 30 s: a toast would cover dialogs and the timeline that long.
            self.query_one(NoticeBar).show_notice(
                "server-refused",
                f"The server refused a change: {status.last_rejection}. It stays saved here "
                "and is shown as rejected; nothing was dropped.",
                error=True,
                seconds=30,
            )

    def _exclude_rejected(self) -> None:
        """Thread: a change the server refused is not part of the shared incident, so take it
        out of what this screen shows (it stays in the local journal, counted as rejected)."""
        rejected = {r.event_id for r in self.sync_engine.rejections()}
        if self.workspace.exclude(rejected):
            self.post_message(EventsArrived())
