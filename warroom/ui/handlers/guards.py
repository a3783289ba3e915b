"""What keeps a person's typing safe: the scribe queue, stray keys, confirmations, the rules
known locally, and banners that never cover a dialog.

* The scribe box and its queue (``ScribeDesk``): lines become events the moment Enter is
  pressed, with ``14:32`` read in the zone the timeline shows; they are written in order and
  shown as *saving* in the timeline until they are on disk.
* Stray typing: a printable key that reaches no text box goes into the scribe box; a dialog
  one key opened closes itself when typing goes on (``TypingGuard``) and the keys follow.
* Changes to the incident go through one gate (:meth:`GuardHandlers.confirm_change`): the
  rules the sync server enforces (only the IC resolves or hands over IC) refuse before
  anything is written, then the change is shown ``old → new`` and made on Enter.
* Refusals, a config file that could not be used and a read-only data dir are shown in the
  banner above the panes; quitting with typed lines not saved asks first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import events

from warroom.domain.commands import DomainError
from warroom.domain.events import Event
from warroom.ui.keymap import key_for
from warroom.ui.widgets.notices import NoticeBar
from warroom.ui.widgets.scribe_desk import ScribeDesk
from warroom.ui.widgets.timeline import TimelineView

if TYPE_CHECKING:
    from datetime import tzinfo

    from warroom.domain.changes import ChangeSummary
    from warroom.domain.scribe_entry import PreparedEntry


_BURST_SECONDS = 0.02
"""Keys this close together arrived in one read (a paste, a laggy SSH link, ``tmux send-keys``):
one run of typing. Far below a person's fastest keystrokes, so a pane key pressed by hand just
before typing stays a pane key."""


class GuardHandlers:
    """Mixed into ``WarRoomApp``."""

    def setup_guards(self, config_problem: str | None) -> None:
        from warroom.store.localzone import local_zone

        self.config_problem = config_problem
        """Why config.toml was not used (the console runs on defaults), shown as a banner."""
        self.sync_admin = False
        """The server says we are an admin (who may resolve and hand over IC for anyone)."""
        self.local_zone = local_zone()
        """The machine's zone: the timeline's local time, and how typed times are read then."""
        self._typed_run = ""
        self._typed_run_at = 0.0
        self._stray_at = 0.0
        """When the last key went to the scribe box as stray typing."""
        """When the last bound key of ``_typed_run`` was typed (``events.Key.time``)."""

    def mount_scribe_and_banners(self) -> None:
        desk = self.query_one(ScribeDesk)
        desk.configure(prepare=self._prepare_line, record=self.desk.record, zone=self.display_zone, now=self.clock.now)
        # Typing starts in the box, even before the journals are loaded: keys typed at once
        # land there rather than on the pane that happens to be first.
        desk.input.focus()
        notices = self.query_one(NoticeBar)
        if self.config_problem:
            notices.show_notice("config", f"Running on default settings: {self.config_problem}", error=True)
        if self.workspace.read_only:
            notices.show_notice(
                "read-only",
                f"Read-only: {self.workspace.read_only}. Everything can be read and exported; "
                "changes are refused and kept where you typed them.",
                error=True,
            )

    def display_zone(self) -> tzinfo:
        """The zone the timeline shows: typed ``14:32`` means 14:32 there."""
        from warroom.domain.scribe import UTC

        return self.local_zone if self.query_one(TimelineView).local_time else UTC

    # --- the scribe queue ------------------------------------------------------------------

    def _prepare_line(self, text: str, when) -> PreparedEntry:
        if not self.loaded:
            raise DomainError("the incidents are still loading: log it again in a moment (tab, then enter)")
        incident = self.current
        if incident is None:
            raise DomainError(f"no incident selected: press {key_for('incident.declare', self)} to declare one")
        return self.desk.prepare_line(incident.id, text, self.display_zone(), when=when)

    def on_scribe_desk_entries_saved(self, _message: ScribeDesk.EntriesSaved) -> None:
        if self.screen_stack and self.screen_stack[0].is_attached:  # not while closing
            self.refresh_views()

    def on_scribe_desk_pending_changed(self, message: ScribeDesk.PendingChanged) -> None:
        timelines = self.screen_stack[0].query(TimelineView) if self.screen_stack else []
        if not timelines:
            return  # closing: the writer finished after the panes went
        rows = [(at, kind, actor, text) for incident_id, at, kind, actor, text in message.rows if incident_id == self.selected_id]
        timelines.first().set_pending(rows)

    async def action_quit(self) -> None:
        desk = self.query_one(ScribeDesk)
        unsaved = desk.unsaved
        if not unsaved:
            desk.close()  # lines still being written land before the app goes
            self.exit()
            return
        from warroom.ui.screens.comms import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                desk.close()
                self.exit()

        question = f"{len(unsaved)} typed line(s) are NOT saved (listed under the box). Quit and lose them?"
        self.push_screen(ConfirmScreen(question), answered)

    # --- stray typing ----------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """Printable keys no text box took. A key bound on the main screen is remembered (it
        may have opened a dialog that stray typing then trips); an unbound one means the
        person is typing and thinks the scribe box has focus, so it goes there."""
        base = self.screen_stack[0]
        if self.screen is not base and base.typed_here(event) and self.take_key_typed_before(event):
            event.stop()
            event.prevent_default()  # the dialog's bindings must not act on it
            return
        if not (event.is_printable and event.character):
            self._typed_run = ""
            return
        if self.screen is not base:
            self._typed_run += event.character  # a dialog's own key (SEV digit): kept for later
            return
        # Bound keys typed in one burst with the typing behind them are part of the line:
        # "14:32 rollback done" typed from a pane must not lose "14" to the pane keys 1 and 4.
        in_burst = event.time - self._typed_run_at <= _BURST_SECONDS
        # Once a run went to the box, the keys behind it in the same burst follow it there,
        # even those a pane binds (digits switch panes, space ticks a checklist step): they
        # may reach the app before the box has focus.
        following = event.time - self._stray_at <= _BURST_SECONDS
        if event.key in self.screen.active_bindings and not following:
            self._typed_run = (self._typed_run if in_burst else "") + event.character
            self._typed_run_at = event.time
            return
        event.stop()
        event.prevent_default()
        if not in_burst:
            self._typed_run = ""  # a pane key pressed on its own a while ago, not part of this
        self._stray_at = event.time
        self.take_stray_typing(event.character)

    def take_key_typed_before(self, event: events.Key) -> bool:
        """A key typed while the panes were on top, read after a dialog opened (a burst: the
        dialog's key came first). A printable one, or enter, closes the dialog, changing
        nothing, and the keys go to the scribe box (enter does not log them: the line may be
        half what was meant); True when it was taken. A dialog's own key (the digit after
        ``s``) and other keys (escape, arrows) are left to the dialog."""
        printable = bool(event.is_printable and event.character)
        if not printable and event.key != "enter":
            return False
        from warroom.ui.screens.confirm import TypingGuard

        top = self.screen
        if isinstance(top, TypingGuard):
            if printable and not top._guard_tripped and event.character in top.GUARD_ACCEPTS:
                return False
            top._guard_tripped = True
        top.dismiss(None)
        self.take_stray_typing(event.character if printable else "")
        return True

    def take_stray_typing(self, characters: str) -> None:
        """Typing that reached no text box: into the scribe box it goes (with the keys just
        before it, the one that opened a dialog included); nothing else happens."""
        box = self.query_one(ScribeDesk).input
        box.take_text(self._typed_run + characters)
        self._typed_run = ""
        box.screen.set_focus(box)

    # --- changes to the incident -----------------------------------------------------------

    def authority_refusal(self, events: list[Event]) -> str | None:
        """What the server would refuse, said before anything is written. Only with a server
        configured: a local-only data dir has nobody to refuse anything."""
        if self.sync_engine is None:
            return None
        return self.desk.refusal(events, admin=self.sync_admin)

    def show_refusal(self, reason: str, *, key: str = "refused", prefix: str = "Not done") -> None:
        """A refusal, shown for 30 s where it covers neither dialogs nor the timeline."""
        self.query_one(NoticeBar).show_notice(key, f"{prefix}: {reason}. Nothing was written.", error=True, seconds=30)
        self.bell()

    def confirm_change(
        self,
        summary: ChangeSummary,
        decide: Callable[[], list[Event]],
        *,
        done: Callable[[list[Event]], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> None:
        """Refuse now what the rules refuse; otherwise show ``summary`` (old → new) and make
        the change on Enter, deciding again from the state at that moment."""
        from warroom.ui.screens.confirm import ConfirmChange

        try:
            trial = decide()
        except DomainError as exc:
            if failed is not None:
                failed(str(exc))
            else:
                self.notify(str(exc), severity="warning")
            return
        refusal = self.authority_refusal(trial)
        if refusal is not None:
            self.show_refusal(refusal)
            if failed is not None:
                failed(refusal)
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            made: list[Event] = []

            def again() -> list[Event]:
                made[:] = decide()
                return made

            self.apply(again, done=(lambda: done(made)) if done else None, failed=failed)

        self.push_screen(ConfirmChange(summary), answered)
