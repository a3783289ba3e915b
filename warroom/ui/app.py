"""The warroom Textual app: five panes over one desk.

The app lays out the panes, loads and follows the incidents in workers, and turns what the
widgets ask for into desk calls: the desk decides (on this thread, in the order keys were
pressed), a worker journals the events (fsync), and only then does the screen show them as
saved. What each pane's intents do is in ``warroom.ui.handlers``; the palette's commands
in ``warroom.ui.palette``. The UI thread never waits on the disk or the network.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Static

from warroom.desk import Desk, Library
from warroom.domain.clock import Clock, SystemClock
from warroom.domain.commands import DomainError
from warroom.domain.events import Event
from warroom.domain.models import Incident
from warroom.store.config import Config, ConfigError, login_name, save_config
from warroom.store.journal import JournalError
from warroom.store.workspace import Workspace
from warroom.ui.handlers import (
    ChecklistHandlers,
    GuardHandlers,
    CommsHandlers,
    DeliveryHandlers,
    FollowUpHandlers,
    IncidentHandlers,
    SituationHandlers,
    LayoutHandlers,
    LoadingHandlers,
    SyncHandlers,
    TimelineHandlers,
)
from warroom.ui.keymap import install_keymap, key_for
from warroom.ui.messages import EventsArrived
from warroom.ui.palette import WarRoomCommands
from warroom.ui.screens.console import ConsoleScreen
from warroom.ui.themes import install_themes
from warroom.ui.widgets.checklist import ChecklistPane
from warroom.ui.widgets.comms import CommsPane
from warroom.ui.widgets.header import HeaderBar
from warroom.ui.widgets.incidents import IncidentList
from warroom.ui.widgets.notices import NoticeBar
from warroom.ui.widgets.panes import PaneTabs
from warroom.ui.widgets.roster import RosterList
from warroom.ui.widgets.scribe import ScribeInput
from warroom.ui.widgets.scribe_desk import ScribeDesk
from warroom.ui.widgets.search import SearchBar
from warroom.ui.widgets.timeline import TimelineView

# Screens used after start-up (runbook picker, comms editor, follow-up) are imported where they
# are opened: they pull in markdown-it and more, and an IC waits for the first frame.

# How often to look for entries written by other processes (the CLI, another TUI).
JOURNAL_POLL_SECONDS = 0.5


class WarRoomApp(
    GuardHandlers, IncidentHandlers, TimelineHandlers, ChecklistHandlers, CommsHandlers, FollowUpHandlers,
    SyncHandlers, SituationHandlers, DeliveryHandlers, LayoutHandlers, LoadingHandlers, App[int],
):  # fmt: skip
    """The incident war-room console.

    | Key | Action |
    | --- | --- |
    | n, ctrl+n | declare an incident (ctrl+n also while typing) |
    | i | log an entry (focus the scribe input) |
    | s / t | set severity / status |
    | r | assign a role / hand over |
    | e / x | amend / redact the selected entry |
    | u | UTC ↔ local time |
    | f / m | action items / milestones and metrics |
    | b / ! | situation brief / run the next step's command (asks first) |
    | 1-5 | focus incidents, timeline, roster, checklist, comms |
    | z | the focused pane full screen, and back |
    | ctrl+p | command palette |
    | ctrl+q | quit |
    """

    CSS_PATH = "app.tcss"
    TITLE = "warroom"
    COMMANDS = App.COMMANDS | {WarRoomCommands}

    BINDINGS = [
        Binding("n", "declare", "Declare", id="incident.declare", tooltip="Declare a new incident"),
        # Works even while typing in the scribe box: declaring must never wait for a mode switch.
        Binding("ctrl+n", "declare", "Declare", show=False, priority=True, id="incident.declare_anywhere"),
        Binding("i", "focus_scribe", "Log", id="scribe.focus", tooltip="Type a timeline entry"),
        Binding("s", "set_severity", "SEV", id="incident.severity", tooltip="Change the severity"),
        Binding("t", "set_status", "Status", id="incident.status", tooltip="Move the incident along its lifecycle"),
        Binding("r", "assign_role", "Role", id="incident.assign_role", tooltip="Assign a role or hand over"),
        Binding("u", "toggle_local_time", "UTC/local", id="view.local_time", tooltip="Show times in UTC or local time"),
        Binding("z", "toggle_zoom", "Zoom", id="view.zoom", tooltip="Show the focused pane full screen, and back"),
        Binding("f", "action_items", "Follow-ups", id="followup.action_items", tooltip="Action items of the incident"),
        Binding("m", "metrics", "Metrics", id="followup.metrics", tooltip="Milestones, metrics, MTTA/MTTR"),
        Binding("full_stop", "tick_next", "Tick next", show=False, id="checklist.tick_next", tooltip="Tick the next open checklist step"),
        Binding("U", "status_update", "Status update", show=False, id="comms.status_update", tooltip="Draft the status update from live state"),
        Binding("b", "brief", "Brief", show=False, id="situation.brief", tooltip="Where the incident stands, in 80 columns (c copies it)"),
        Binding("exclamation_mark", "run_command", "Run cmd", show=False, id="checklist.run", tooltip="Run the next step's command (shown first, asks)"),
        Binding("1", "focus_pane('incidents')", "Incidents", show=False, id="focus.incidents"),
        Binding("2", "focus_pane('timeline')", "Timeline", show=False, id="focus.timeline"),
        Binding("3", "focus_pane('roster')", "Roster", show=False, id="focus.roster"),
        Binding("4", "focus_pane('checklist')", "Checklist", show=False, id="focus.checklist"),
        Binding("5", "focus_pane('comms')", "Comms", show=False, id="focus.comms"),
        Binding("question_mark", "help", "Keys", id="app.help", tooltip="Every key of every pane"),
        # Textual's own keys, given ids so a keymap can move them too.
        Binding("ctrl+p", "command_palette", "palette", show=False, priority=True, id="app.command_palette", tooltip="Open the command palette"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit", tooltip="Quit warroom"),
    ]

    def __init__(
        self,
        workspace: Workspace,
        *,
        config: Config | None = None,
        clock: Clock | None = None,
        theme: str | None = None,
        ask_name: bool = False,
        save_settings: bool = True,
        poll_journals: bool = True,
        cursor_blink: bool = True,
        sync_engine=None,
        start_in_timeline: bool = False,
        config_problem: str | None = None,
    ) -> None:
        super().__init__()
        self.setup_guards(config_problem)
        self._start_in_timeline = start_in_timeline  # the demo: read and try keys before typing
        self.workspace = workspace
        self.clock = clock or workspace.clock or SystemClock()
        self.config = config or Config()
        self.desk = Desk(workspace, Library(self.config))
        """Every use-case; its library is read in the load worker."""
        self._requested_theme = theme or self.config.theme
        self._ask_name = ask_name
        self._save_settings = save_settings
        self._poll_journals = poll_journals
        self._cursor_blink = cursor_blink  # off in snapshot tests: a blinking cursor flakes
        self.selected_id: str | None = None
        self._previewed_id: str | None = None
        """The incident shown (its latest entries) while the journals were still loading."""
        self.loaded = False
        self._was_overdue = False
        self.sync_engine = sync_engine
        """A warroom.sync SyncEngine when a server is configured (runs in a thread worker)."""
        self._sync_stop = threading.Event()
        self._last_rejection: str | None = None
        self._known_incidents: set[str] | None = None
        self._rejected_count = 0
        self._load_result: tuple[list[str], list[str]] | None = None  # (warnings, errors), set by the load
        self._panes_ready = threading.Event()  # set once mounted: the load's results have panes to go to

    # --- layout ----------------------------------------------------------------------------

    def get_default_screen(self) -> ConsoleScreen:
        return ConsoleScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield PaneTabs(id="pane-tabs")
        yield NoticeBar(id="notices")
        yield Static(id="load-errors")
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                for pane, pane_id, title in (
                    (IncidentList, "incidents", "1 Incidents"),
                    (RosterList, "roster", "3 Roster"),
                    (ChecklistPane, "checklist", "4 Checklist"),
                    (CommsPane, "comms", "5 Comms"),
                ):
                    widget = pane(id=pane_id, classes="pane")
                    widget.border_title = title
                    yield widget
            with Vertical(id="main"):
                yield SearchBar(id="search")
                timeline = TimelineView(id="timeline", classes="pane")
                timeline.border_title = "2 Timeline"
                yield timeline
                yield Static(id="detail")
                yield ScribeDesk(id="scribe-desk")
        yield Footer()

    def on_mount(self) -> None:
        install_themes(self, self._requested_theme)  # one notification for every theme problem
        install_keymap(self, self.config.keymap)  # likewise for the [keymap] table
        # Badge and status colours come from the theme: redraw them when it changes.
        self.theme_changed_signal.subscribe(self, lambda _theme: self.refresh_views() if self.loaded else None)
        self.query_one(ScribeInput).cursor_blink = self._cursor_blink
        header = self.query_one(HeaderBar)
        header.user = self.workspace.actor
        header.now = self.clock.now()
        # The header's own timer: it stops when the header goes, so a tick can never run
        # while the app is taking its screens down (an app timer could, under load).
        header.set_interval(1.0, self._tick)
        timeline = self.query_one(TimelineView)
        timeline.local_time = self.config.local_time
        timeline.zone = self.local_zone
        self.mount_scribe_and_banners()
        self._panes_ready.set()
        timeline.loading = self._load_result is None  # a big data dir: say so until it is read
        self._load_finished()
        if self._ask_name:
            from warroom.ui.screens.pickers import TextPrompt

            prompt = TextPrompt(
                "Your name on the timeline",
                value=self.workspace.actor or login_name(),
                hint="Everyone in the incident sees this name · Enter saves",
                max_length=64,
            )
            self.push_screen(prompt, self._name_chosen)

    # --- loading and following ---------------------------------------------------------------

    def _loaded(self, warnings: list[str], errors: list[str]) -> None:
        self.loaded = True
        self.query_one(TimelineView).loading = False
        self.query_one(HeaderBar).loading = False
        incidents = self.desk.incidents()
        if incidents and self.selected_id is None:
            # The screen stays on the incident whose latest entries were shown while loading
            # (unless it is closed): switching under someone already reading it would surprise.
            previewed = [i for i in incidents if i.id == self._previewed_id and i.is_active]
            self.selected_id = (previewed or incidents)[0].id
        self.refresh_views(reset_timeline=True)
        self._tick()
        for warning in warnings:
            self.notify(warning, title="Journal repaired", severity="warning", timeout=15)
        if errors:
            banner = self.query_one("#load-errors", Static)
            banner.update("⚠ Damaged journals (nothing was deleted; run warroom repair): " + " | ".join(errors))
            banner.add_class("-shown")
        if self._poll_journals:
            self.set_interval(JOURNAL_POLL_SECONDS, self._poll)
        if self.sync_engine is not None:
            self.query_one(HeaderBar).sync_label = "connecting…"
            self.run_worker(self._sync_thread, thread=True, group="sync", name="sync with server")
        if not self._ask_name and not incidents:
            self.query_one(IncidentList).focus()
        elif not self._ask_name:
            self.query_one(TimelineView).focus() if self._start_in_timeline else self.action_focus_scribe()

    def _poll(self) -> None:
        self.run_worker(self._poll_thread, thread=True, group="poll", exclusive=True, name="follow journals")

    def _poll_thread(self) -> None:
        if self.workspace.poll():
            self.post_message(EventsArrived())

    def on_events_arrived(self, _message: EventsArrived) -> None:
        with self.batch_update():  # whatever arrived: one frame
            self.refresh_views()

    def on_unmount(self) -> None:
        self._sync_stop.set()
        gc.unfreeze()  # what was set aside at load can be collected again
        gc.enable()  # also when the app ends before its first full frame

    # --- state → widgets ---------------------------------------------------------------------

    @property
    def current(self) -> Incident | None:
        if self.selected_id is None:
            return None
        try:
            return self.desk.get(self.selected_id)
        except DomainError:
            return None

    def refresh_views(self, *, reset_timeline: bool = False) -> None:
        incidents = self.desk.incidents()
        self._announce_new_incidents(incidents)
        if self.selected_id is None and incidents:
            self.selected_id = incidents[0].id  # the first incident arrived from elsewhere
            reset_timeline = True
        incident = self.current
        self.query_one(IncidentList).show(incidents, self.selected_id)
        self.query_one(HeaderBar).incident = incident
        self.query_one(RosterList).show(incident)
        self.query_one(ChecklistPane).show(incident)
        self.query_one(CommsPane).show(self.desk.library.templates if self.loaded else {}, incident)
        self.query_one(TimelineView).show(incident.timeline if incident else [], reset=reset_timeline)
        self._show_cadence()  # resolving pauses it, an update sent restarts it: now, not at the next tick

    def _announce_new_incidents(self, incidents: list[Incident]) -> None:
        """Someone else declared an incident (another terminal, the server): say so once."""
        known = self._known_incidents
        self._known_incidents = {i.id for i in incidents}
        if known is None:
            return  # the first look, at load: nothing is "new"
        for incident in incidents:
            if incident.id not in known and incident.declared_by != self.workspace.actor:
                self.notify(
                    f"{incident.severity.value} declared by {incident.declared_by}: {incident.title}",
                    title="New incident",
                    severity="warning" if incident.severity.rank <= 2 else "information",
                    timeout=15,
                )

    def select_incident(self, incident_id: str) -> None:
        if incident_id != self.selected_id:
            self.selected_id = incident_id
            self.refresh_views(reset_timeline=True)
            self._tick()

    # --- deciding and saving -----------------------------------------------------------------

    def apply(
        self,
        decide: Callable[[], list[Event]],
        *,
        done: Callable[[], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> None:
        """Ask the desk now (a refusal is a notification), then journal the events in a
        worker; ``done`` runs on the UI thread once they are on disk, ``failed`` with the
        reason if they were refused or could not be written."""
        try:
            events = decide()
        except DomainError as exc:
            self.notify(str(exc), severity="warning")
            if failed is not None:
                failed(str(exc))
            return
        self.save(events, done=done, failed=failed)

    def save(self, events: list[Event], *, done: Callable[[], None] | None = None, failed: Callable[[str], None] | None = None) -> None:
        """Journal ``events`` in a worker; ``done`` runs on the UI thread once they are on disk.
        What the server would refuse is refused here first, before anything is written."""
        if (refusal := self.authority_refusal(events)) is not None:
            self.show_refusal(refusal)
            return failed(refusal) if failed is not None else None

        def write() -> None:
            try:
                self.desk.record(events)
            except (JournalError, DomainError, OSError) as exc:
                self.call_from_thread(self._save_failed, str(exc), failed)
                return
            self.call_from_thread(self._saved, done)

        self.run_worker(write, thread=True, group="journal", name="save events")

    def _saved(self, done: Callable[[], None] | None) -> None:
        with self.batch_update():  # the new line, the cleared box and the panes: one frame
            self.refresh_views()
            self._tick()  # the header (status, cadence) shows the change now, not at the next second
            if done is not None:
                done()

    def _save_failed(self, reason: str, failed: Callable[[str], None] | None) -> None:
        self.show_refusal(reason, key="not-saved", prefix="Not saved")  # above the panes, not over a dialog
        if failed is not None:
            failed(reason)

    def write_file_in_worker(self, path: str, make_text: Callable[[], str], *, saying: str) -> None:
        """Make a file's text and write it (a draft, the postmortem) in a worker; the outcome
        is a notification: ``saying`` and the path, or why it could not be written."""

        def write() -> None:
            try:
                target = self.desk.write_file(path, make_text())
            except OSError as exc:
                self.call_from_thread(self.notify, f"Could not write {Path(path).expanduser()}: {exc.strerror}", severity="error")
                return
            self.call_from_thread(self.notify, f"{saying} {target}", timeout=5)

        self.run_worker(write, thread=True, name="write file")

    def require_incident(self) -> Incident | None:
        incident = self.current
        if incident is None:
            self.notify(f"No incident selected. Press {key_for('incident.declare', self)} to declare one.", severity="warning")
        return incident

    # --- app-wide actions --------------------------------------------------------------------

    def action_help(self) -> None:
        from warroom.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_focus_scribe(self) -> None:
        self.query_one(ScribeInput).focus()

    def action_toggle_local_time(self) -> None:
        timeline = self.query_one(TimelineView)
        timeline.local_time = not timeline.local_time
        self.notify("Times in local time" if timeline.local_time else "Times in UTC", timeout=2)

    def _name_chosen(self, name: str | None) -> None:
        name = (name or "").strip() or login_name()
        self.workspace.set_actor(name)
        self.query_one(HeaderBar).user = name
        if self._save_settings:
            try:
                self.config.user = name
                save_config(self.config)
            except (ConfigError, OSError) as exc:
                self.notify(f"Could not save your name: {exc}", severity="warning")
        if self.loaded:
            self.action_focus_scribe() if self.current else self.query_one(IncidentList).focus()
