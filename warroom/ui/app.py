"""The warroom Textual app: five panes over one workspace.

Widgets render state and post intents; this class turns intents into domain commands and
hands the resulting events to a thread worker that journals them (fsync) before the UI shows
them as saved. The UI thread never waits on the disk or the network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from pathlib import Path

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from warroom.domain import commands
from warroom.domain.clock import Clock, SystemClock
from warroom.domain.commands import DomainError
from warroom.domain.events import Event
from warroom.domain.models import Incident, allowed_transitions
from warroom.domain.scribe import ScribeError, parse_scribe_line
from warroom.store.config import Config, ConfigError, login_name, save_config
from warroom.store.journal import JournalError
from warroom.store.workspace import Workspace
from warroom.ui.screens.declare import DeclareRequest, DeclareScreen
from warroom.ui.screens.entry import EntryScreen, RoleHistoryScreen
from warroom.ui.screens.pickers import AssignRoleScreen, SeverityPicker, StatusPicker, TextPrompt
from warroom.ui.keymap import install_keymap, key_for
from warroom.ui.themes import install_themes
from warroom.ui.widgets.header import HeaderBar
from warroom.ui.widgets.incidents import IncidentList
from warroom.ui.widgets.checklist import ChecklistPane
from warroom.ui.widgets.comms import CommsPane
from warroom.ui.widgets.roster import RosterList
from warroom.ui.widgets.scribe import ScribeInput
from warroom.ui.widgets.search import SearchBar
from warroom.ui.widgets.timeline import TimelineView, describe_entry

if TYPE_CHECKING:
    from warroom.ui.screens.comms import DraftAction, DraftEditor
    from warroom.ui.screens.followup import ActionItemEdit

# Screens used after start-up (runbook picker, comms editor, follow-up) are imported where they
# are opened: they pull in markdown-it and more, and an IC waits for the first frame.

_PANES = {
    "incidents": "#incidents",
    "timeline": "#timeline",
    "roster": "#roster",
    "checklist": "#checklist",
    "comms": "#comms",
}

# How often to look for entries written by other processes (the CLI, another TUI).
JOURNAL_POLL_SECONDS = 0.5


class WarRoomApp(App[int]):
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
    | 1-5 | focus incidents, timeline, roster, checklist, comms |
    | ctrl+p | command palette |
    | ctrl+q | quit |
    """

    CSS_PATH = "app.tcss"
    TITLE = "warroom"

    BINDINGS = [
        Binding("n", "declare", "Declare", id="incident.declare", tooltip="Declare a new incident"),
        # Works even while typing in the scribe box: declaring must never wait for a mode switch.
        Binding("ctrl+n", "declare", "Declare", show=False, priority=True, id="incident.declare_anywhere"),
        Binding("i", "focus_scribe", "Log", id="scribe.focus", tooltip="Type a timeline entry"),
        Binding("s", "set_severity", "SEV", id="incident.severity", tooltip="Change the severity"),
        Binding("t", "set_status", "Status", id="incident.status", tooltip="Move the incident along its lifecycle"),
        Binding("r", "assign_role", "Role", id="incident.assign_role", tooltip="Assign a role or hand over"),
        Binding("u", "toggle_local_time", "UTC/local", id="view.local_time", tooltip="Show times in UTC or local time"),
        Binding("f", "action_items", "Follow-ups", id="followup.action_items", tooltip="Action items of the incident"),
        Binding("m", "metrics", "Metrics", id="followup.metrics", tooltip="Milestones, metrics, MTTA/MTTR"),
        Binding("full_stop", "tick_next", "Tick next", show=False, id="checklist.tick_next", tooltip="Tick the next open checklist step"),
        Binding("U", "status_update", "Status update", show=False, id="comms.status_update", tooltip="Draft the status update from live state"),
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
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.clock = clock or workspace.clock or SystemClock()
        self.config = config or Config()
        self._requested_theme = theme or self.config.theme
        self._ask_name = ask_name
        self._save_settings = save_settings
        self._poll_journals = poll_journals
        self._cursor_blink = cursor_blink  # off in snapshot tests: a blinking cursor flakes
        self.selected_id: str | None = None
        self.loaded = False
        self.runbooks: list = []  # the runbook library, loaded with the journals
        self.templates: dict = {}  # comms templates by id, loaded with the journals
        self.incident_types: dict = {}  # incident types by key, loaded with the journals
        self._was_overdue = False
        self.sync_engine = sync_engine
        """A warroom.sync SyncEngine when a server is configured (runs in a thread worker)."""
        self._sync_stop = threading.Event()
        self._last_rejection: str | None = None
        self._known_incidents: set[str] | None = None
        self._rejected_count = 0

    # --- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield Static(id="load-errors")
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                incidents = IncidentList(id="incidents", classes="pane")
                incidents.border_title = "1 Incidents"
                yield incidents
                roster = RosterList(id="roster", classes="pane")
                roster.border_title = "3 Roster"
                yield roster
                checklist = ChecklistPane(id="checklist", classes="pane")
                checklist.border_title = "4 Checklist"
                yield checklist
                comms = CommsPane(id="comms", classes="pane")
                comms.border_title = "5 Comms"
                yield comms
            with Vertical(id="main"):
                yield SearchBar(id="search")
                timeline = TimelineView(id="timeline", classes="pane")
                timeline.border_title = "2 Timeline"
                yield timeline
                yield Static(id="detail")
                yield ScribeInput(id="scribe")
        yield Footer()

    def on_mount(self) -> None:
        self._install_themes()
        self.query_one(ScribeInput).cursor_blink = self._cursor_blink
        header = self.query_one(HeaderBar)
        header.user = self.workspace.actor
        header.now = self.clock.now()
        self.set_interval(1.0, self._tick)
        self.query_one(TimelineView).local_time = self.config.local_time
        self.query_one(TimelineView).loading = True
        self.run_worker(self._load, thread=True, group="load", name="load journals")
        if self._ask_name:
            self.push_screen(
                TextPrompt(
                    "Your name on the timeline",
                    value=self.workspace.actor or login_name(),
                    hint="Everyone in the incident sees this name · Enter saves",
                    max_length=64,
                ),
                self._name_chosen,
            )

    def on_resize(self) -> None:
        self.screen.set_class(self.size.height < 32, "-compact")

    def on_descendant_focus(self, event) -> None:
        # With blinking off (snapshot tests), every input, dialogs' included, shows a steady cursor.
        if not self._cursor_blink and isinstance(event.widget, Input):
            event.widget.cursor_blink = False

    def _install_themes(self) -> None:
        install_themes(self, self._requested_theme)  # one notification for every theme problem
        install_keymap(self, self.config.keymap)  # likewise for the [keymap] table
        # Badge and status colours come from the theme: redraw them when it changes.
        self.theme_changed_signal.subscribe(self, lambda _theme: self.refresh_views() if self.loaded else None)

    # --- loading and following ---------------------------------------------------------------

    def _load(self) -> None:
        """Thread: read every journal and the runbook library, then hand over to the UI."""
        from warroom.runbooks.library import load_library

        from warroom.comms.templates import load_templates, template_dirs
        from warroom.desk.incident_types import load_incident_types

        report = self.workspace.load()
        self.runbooks, runbook_errors = load_library(self.config.runbook_dirs)
        self.templates, template_errors = load_templates(template_dirs(self.config.template_dirs))
        self.incident_types, type_errors = load_incident_types()
        if type_errors:
            message = "Incident types not loaded:\n" + "\n".join(str(e) for e in type_errors)
            self.call_from_thread(self.notify, message, title="Incident types", severity="warning", timeout=20)
        if template_errors:
            message = "These templates could not be used (the others loaded):\n" + "\n".join(str(e) for e in template_errors)
            self.call_from_thread(self.notify, message, title="Templates", severity="warning", timeout=20)
        if runbook_errors:
            message = "These runbooks could not be read (the others loaded):\n" + "\n".join(
                str(error) for error in runbook_errors
            )
            self.call_from_thread(self.notify, message, title="Runbooks", severity="warning", timeout=20)
        self.call_from_thread(self._loaded, report.warnings, report.errors)

    def _loaded(self, warnings: list[str], errors: list[str]) -> None:
        self.loaded = True
        self.query_one(TimelineView).loading = False
        incidents = self.workspace.incidents()
        if incidents and self.selected_id is None:
            self.selected_id = incidents[0].id
        self.refresh_views(reset_timeline=True)
        self._tick()
        for warning in warnings:
            self.notify(warning, title="Journal repaired", severity="warning", timeout=15)
        if errors:
            banner = self.query_one("#load-errors", Static)
            banner.update("⚠ Not loaded (nothing was changed): " + " | ".join(errors))
            banner.add_class("-shown")
        if self._poll_journals:
            self.set_interval(JOURNAL_POLL_SECONDS, self._poll)
        if self.sync_engine is not None:
            self.query_one(HeaderBar).sync_label = "connecting…"
            self.run_worker(self._sync_thread, thread=True, group="sync", name="sync with server")
        if not self._ask_name:
            self.action_focus_scribe() if incidents else self.query_one(IncidentList).focus()

    def _poll(self) -> None:
        self.run_worker(self._poll_thread, thread=True, group="poll", exclusive=True, name="follow journals")

    def _poll_thread(self) -> None:
        if self.workspace.poll():
            self.call_from_thread(self.refresh_views)

    # --- sync ------------------------------------------------------------------------------

    def _sync_thread(self) -> None:
        """Thread: push the outbox and follow the server's feed until the app exits."""
        self.sync_engine.run_forever(self._sync_stop, self._sync_status_changed)

    def _sync_status_changed(self, status) -> None:
        """Called on the sync thread; the header is updated on the UI thread."""
        if self._sync_stop.is_set():
            return  # the app is closing: its event loop may already be gone
        try:
            self.call_from_thread(self._show_sync_status, status)
        except RuntimeError:
            pass  # the app is shutting down

    def _show_sync_status(self, status) -> None:
        header = self.query_one(HeaderBar)
        label = status.summary
        if not status.online and status.since is not None:
            label = f"offline since {status.since:%H:%M}Z" + label[len("offline"):]
        header.sync_label = label
        header.sync_ok = status.online and not status.rejected and not status.warning
        if status.warning:
            self.notify(status.warning, title="Sync", severity="error", timeout=30)
        if status.rejected != self._rejected_count:
            self._rejected_count = status.rejected
            self.run_worker(self._exclude_rejected, thread=True, group="sync-rejections", name="leave out refused events")
        if status.last_rejection and status.last_rejection != self._last_rejection:
            self._last_rejection = status.last_rejection
            self.notify(
                f"The server refused a change: {status.last_rejection}. It stays saved here "
                "and is shown as rejected; nothing was dropped.",
                title="Sync",
                severity="error",
                timeout=30,
            )

    def _exclude_rejected(self) -> None:
        """Thread: a change the server refused is not part of the shared incident, so take it
        out of what this screen shows (it stays in the local journal, counted as rejected)."""
        rejected = {r.event_id for r in self.sync_engine.rejections()}
        if self.workspace.exclude(rejected):
            self.call_from_thread(self.refresh_views)

    def events_arrived(self) -> None:
        """Called by the sync thread after it journalled events from the server."""
        if self._sync_stop.is_set():
            return
        try:
            self.call_from_thread(self.refresh_views)
        except RuntimeError:
            pass

    def on_unmount(self) -> None:
        self._sync_stop.set()

    def _tick(self) -> None:
        from warroom.domain.cadence import cadence, format_countdown

        header = self.query_one(HeaderBar)
        now = self.clock.now()
        header.now = now
        incident = self.current
        timing = cadence(incident, now, self.cadence_overrides(incident)) if incident else None
        if timing is None or timing.paused:
            header.cadence_text, header.cadence_overdue = "", False
        elif timing.overdue:
            header.cadence_text = f"UPDATE OVERDUE {format_countdown(timing.remaining_seconds)}"
            header.cadence_overdue = True
        else:
            header.cadence_text = f"next update {format_countdown(timing.remaining_seconds)}"
            header.cadence_overdue = False
        if header.cadence_overdue and not self._was_overdue and self.config.bell_when_overdue:
            self.bell()
        self._was_overdue = header.cadence_overdue

    # --- state → widgets ---------------------------------------------------------------------

    @property
    def current(self) -> Incident | None:
        if self.selected_id is None:
            return None
        try:
            return self.workspace.get(self.selected_id)
        except DomainError:
            return None

    def refresh_views(self, *, reset_timeline: bool = False) -> None:
        incidents = self.workspace.incidents()
        self._announce_new_incidents(incidents)
        if self.selected_id is None and incidents:
            self.selected_id = incidents[0].id  # the first incident arrived from elsewhere
            reset_timeline = True
        incident = self.current
        self.query_one(IncidentList).show(incidents, self.selected_id)
        self.query_one(HeaderBar).incident = incident
        self.query_one(RosterList).show(incident)
        checklist = self.query_one(ChecklistPane)
        checklist.show(incident)
        if incident and incident.checklists:
            done = sum(c.progress[0] for c in incident.checklists.values())
            total = sum(c.progress[1] for c in incident.checklists.values())
            checklist.border_subtitle = f"{done}/{total}"
        else:
            checklist.border_subtitle = ""
        comms = self.query_one(CommsPane)
        comms.show(self.templates, incident)
        timeline = self.query_one(TimelineView)
        timeline.show(incident.timeline if incident else [], reset=reset_timeline)

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

    def on_incident_list_selected(self, message: IncidentList.Selected) -> None:
        self.select_incident(message.incident_id)

    def on_timeline_view_cursor_moved(self, message: TimelineView.CursorMoved) -> None:
        detail = self.query_one("#detail", Static)
        if message.entry is None:
            detail.update("")
        else:
            detail.update(describe_entry(message.entry, local_time=self.query_one(TimelineView).local_time))

    # --- saving ------------------------------------------------------------------------------

    def save(
        self,
        events: list[Event],
        *,
        done: Callable[[], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> None:
        """Journal ``events`` in a worker; ``done`` runs on the UI thread once they are on disk."""

        def write() -> None:
            try:
                self.workspace.record(events)
            except (JournalError, DomainError, OSError) as exc:
                self.call_from_thread(self._save_failed, str(exc), failed)
                return
            self.call_from_thread(self._saved, events, done)

        self.run_worker(write, thread=True, group="journal", name="save events")

    def _saved(self, events: list[Event], done: Callable[[], None] | None) -> None:
        self.refresh_views()
        if done is not None:
            done()

    def _save_failed(self, reason: str, failed: Callable[[str], None] | None) -> None:
        self.notify(reason, title="Not saved", severity="error", timeout=30)
        if failed is not None:
            failed(reason)

    def _run_command(self, make_events: Callable[[], list[Event]], done: Callable[[], None] | None = None) -> None:
        """Build events from a domain command; a refusal becomes a notification."""
        try:
            events = make_events()
        except DomainError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.save(events, done=done)

    def _require_incident(self) -> Incident | None:
        incident = self.current
        if incident is None:
            self.notify(f"No incident selected. Press {key_for('incident.declare', self)} to declare one.", severity="warning")
        return incident

    # --- scribe ------------------------------------------------------------------------------

    def on_scribe_input_entry_submitted(self, message: ScribeInput.EntrySubmitted) -> None:
        scribe = self.query_one(ScribeInput)
        incident = self._require_incident()
        if incident is None:
            scribe.mark_failed("no incident selected")
            return
        try:
            line = parse_scribe_line(message.text, self.clock.now())
            event = commands.log_entry(self.workspace.factory, incident, line.text, line.kind, line.at)
        except (ScribeError, DomainError) as exc:
            scribe.mark_failed(str(exc))
            self.notify(str(exc), severity="warning")
            return
        self.save([event], done=lambda: scribe.mark_saved(message.text), failed=scribe.mark_failed)

    # --- search ------------------------------------------------------------------------------

    def on_timeline_view_search_requested(self) -> None:
        bar = self.query_one(SearchBar)
        bar.add_class("-shown")
        bar.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "search":
            return
        from warroom.domain.timeline_filter import FilterError, parse_filter

        bar = self.query_one(SearchBar)
        try:
            timeline_filter = parse_filter(event.value, self.clock.now())
        except FilterError as exc:
            bar.add_class("-invalid")
            bar.border_subtitle = str(exc)
            return
        bar.remove_class("-invalid")
        bar.border_subtitle = ""
        self.query_one(TimelineView).set_filter(timeline_filter)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            event.stop()
            self.query_one(TimelineView).focus()

    def on_search_bar_cancelled(self) -> None:
        self._close_search()

    def on_timeline_view_filter_cleared(self) -> None:
        self._close_search()

    def _close_search(self) -> None:
        from warroom.domain.timeline_filter import TimelineFilter

        bar = self.query_one(SearchBar)
        bar.value = ""
        bar.remove_class("-shown", "-invalid")
        timeline = self.query_one(TimelineView)
        timeline.set_filter(TimelineFilter())
        timeline.focus()

    def on_scribe_input_left(self) -> None:
        self.query_one(TimelineView).focus()

    # --- actions -----------------------------------------------------------------------------

    def action_help(self) -> None:
        from warroom.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_focus_scribe(self) -> None:
        self.query_one(ScribeInput).focus()

    def action_focus_pane(self, pane: str) -> None:
        self.query_one(_PANES[pane]).focus()

    def action_toggle_local_time(self) -> None:
        timeline = self.query_one(TimelineView)
        timeline.local_time = not timeline.local_time
        self.notify("Times in local time" if timeline.local_time else "Times in UTC", timeout=2)

    def action_declare(self) -> None:
        def declared(request: DeclareRequest | None) -> None:
            if request is None:
                return
            try:
                events = commands.declare(
                    self.workspace.factory,
                    title=request.title,
                    severity=request.severity,
                    commander=request.commander,
                    impact=request.impact,
                    incident_type=request.incident_type,
                )
                events += self._starting_checklists(events, incident_type=request.incident_type)
            except DomainError as exc:
                self.notify(str(exc), severity="warning")
                return

            def show_new() -> None:
                self.select_incident(events[0].incident_id)
                self.notify(f"Declared {request.severity.value}: {request.title}", severity="information")
                self.action_focus_scribe()

            self.save(events, done=show_new)

        self.push_screen(DeclareScreen(self.workspace.actor, self.incident_types), declared)

    def cadence_overrides(self, incident: Incident) -> dict[str, int]:
        from warroom.domain.cadence import overrides_for

        kind = self.incident_types.get(incident.incident_type or "")
        return overrides_for(incident, self.config.cadence_minutes, kind.cadence_minutes if kind else None)

    def _starting_checklists(self, declared: list[Event], incident_type: str | None) -> list[Event]:
        """What a new incident starts with: the IC checklist, its type's runbooks (and those
        whose front matter names the type), and its type's roles to fill."""
        from warroom.domain.fold import fold_incident
        from warroom.runbooks.library import attach_fields, runbooks_for_declare

        incident = fold_incident(declared[0].incident_id, declared)
        kind = self.incident_types.get(incident_type or "")
        events = [
            commands.attach_runbook(self.workspace.factory, incident, **attach_fields(runbook))
            for runbook in runbooks_for_declare(self.runbooks, incident_type, kind.runbooks if kind else None)
        ]
        return events + commands.roles_to_fill(self.workspace.factory, incident.id, kind.roles if kind else [])

    # --- checklists ----------------------------------------------------------------------------

    def action_attach_runbook(self) -> None:
        incident = self._require_incident()
        if incident is None:
            return
        if not self.runbooks:
            self.notify("No runbooks found. Put Markdown runbooks in your runbook directory.", severity="warning")
            return

        def chosen(runbook) -> None:
            if runbook is None:
                return
            from warroom.runbooks.library import attach_fields

            def focus_checklist() -> None:
                self.query_one(ChecklistPane).focus()

            self._run_command(
                lambda: [commands.attach_runbook(self.workspace.factory, self.workspace.get(incident.id), **attach_fields(runbook))],
                done=focus_checklist,
            )

        from warroom.ui.screens.runbooks import RunbookPicker

        self.push_screen(RunbookPicker(self.runbooks, set(incident.checklists)), chosen)

    def action_tick_next(self) -> None:
        """One key from anywhere: tick the step under the checklist cursor if it is open,
        else the first open step."""
        incident = self._require_incident()
        if incident is None:
            return
        from warroom.ui.widgets.checklist import split_option_id

        pane = self.query_one(ChecklistPane)
        target = None
        if pane.highlighted_option_id:
            runbook_id, step_id = split_option_id(pane.highlighted_option_id)
            step = incident.checklists.get(runbook_id) and incident.checklists[runbook_id].step(step_id)
            if step is not None and not step.done:
                target = (runbook_id, step_id)
        if target is None:
            target = next(((c.runbook_id, c.next_open().id) for c in incident.checklists.values() if c.next_open()), None)
        if target is None:
            self.notify("Every checklist step is done." if incident.checklists else "No checklist attached.", timeout=3)
            return
        self.on_checklist_pane_step_chosen(ChecklistPane.StepChosen(target[0], target[1], "toggle"))

    def action_status_update(self) -> None:
        self.open_draft("status-update")

    def on_checklist_pane_attach_requested(self) -> None:
        self.action_attach_runbook()

    def on_checklist_pane_step_chosen(self, message: ChecklistPane.StepChosen) -> None:
        incident = self._require_incident()
        if incident is None:
            return
        checklist = incident.checklists.get(message.runbook_id)
        step = checklist.step(message.step_id) if checklist else None
        if step is None:
            return
        pane = self.query_one(ChecklistPane)
        if message.intent == "copy":
            if step.command:
                self.copy_to_clipboard(step.command)
                self.notify(f"Copied: {step.command[:60]}", timeout=3)
            else:
                self.notify("This step has no command to copy.", severity="warning", timeout=3)
        elif message.intent == "toggle":
            if step.done:
                self._run_command(lambda: [commands.untick_step(self.workspace.factory, self.workspace.get(incident.id), message.runbook_id, message.step_id)])
            else:
                self._run_command(
                    lambda: [commands.tick_step(self.workspace.factory, self.workspace.get(incident.id), message.runbook_id, message.step_id)],
                    done=lambda: pane.highlight_next_open(self.workspace.get(incident.id)),
                )
        elif message.intent == "skip":
            if step.done:
                self.notify("Already done; untick it first (space).", severity="warning")
                return

            def skipped(reason: str | None) -> None:
                if reason is not None:
                    self._run_command(
                        lambda: [commands.tick_step(self.workspace.factory, self.workspace.get(incident.id), message.runbook_id, message.step_id, skipped_reason=reason)],
                        done=lambda: pane.highlight_next_open(self.workspace.get(incident.id)),
                    )

            self.push_screen(TextPrompt(f"Skip: {step.text[:50]}", placeholder="Why is it skipped?", hint="The reason goes in the timeline · Enter skips"), skipped)

    def action_set_severity(self) -> None:
        incident = self._require_incident()
        if incident is None:
            return

        def chosen(severity) -> None:
            if severity is not None:
                self._run_command(lambda: [commands.update(self.workspace.factory, self.workspace.get(incident.id), severity=severity)])

        self.push_screen(SeverityPicker(incident.severity), chosen)

    def action_set_status(self) -> None:
        incident = self._require_incident()
        if incident is None:
            return

        def chosen(status) -> None:
            if status is not None:
                self._run_command(
                    lambda: [commands.update(self.workspace.factory, self.workspace.get(incident.id), status=status)],
                    done=lambda: self._after_status(incident.id, status),
                )

        self.push_screen(StatusPicker(incident.status, allowed_transitions(incident.status)), chosen)

    def _after_status(self, incident_id: str, status) -> None:
        """Resolving: offer to put the status-page components back to operational."""
        from warroom.domain.models import ComponentState, Status
        from warroom.ui.screens.comms import ConfirmScreen

        incident = self.workspace.get(incident_id)
        affected = [n for n, s in incident.components.items() if s is not ComponentState.OPERATIONAL]
        if status is not Status.RESOLVED or not affected:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._run_command(
                    lambda: [
                        commands.set_component(self.workspace.factory, self.workspace.get(incident_id), name, ComponentState.OPERATIONAL)
                        for name in affected
                    ]
                )

        self.push_screen(ConfirmScreen(f"Resolved. Set {', '.join(affected)} back to operational on the status page?"), answered)

    # --- comms ---------------------------------------------------------------------------------

    def on_comms_pane_draft_requested(self, message: CommsPane.DraftRequested) -> None:
        self.open_draft(message.template_id)

    def open_draft(self, template_id: str) -> None:
        incident = self._require_incident()
        template = self.templates.get(template_id)
        if incident is None or template is None:
            return
        from warroom.comms.render import render
        from warroom.ui.screens.comms import DraftEditor

        def render_fresh() -> str:
            current = self.workspace.get(incident.id)
            return render(template, current, self.clock.now(), self.cadence_overrides(current))

        self.push_screen(
            DraftEditor(template.id, template.name, template.channel, render_fresh(), incident.draft_heads(template.id), render_fresh, self._draft_action)
        )

    def _draft_action(self, editor: DraftEditor, action: DraftAction) -> None:
        incident_id = self.selected_id
        template_id = editor.template_id
        if action.kind == "copy":
            self.copy_to_clipboard(action.text)
            self.notify("Draft copied to the clipboard.", timeout=3)
            return
        if action.kind == "write":
            self.run_worker(lambda: self._write_draft(action.path, action.text), thread=True, name="write draft")
            return

        def save_events() -> list[Event]:
            incident = self.workspace.get(incident_id)
            heads = incident.draft_heads(template_id)
            unchanged = len(heads) == 1 and heads[0].text == action.text
            events = [] if unchanged else [commands.save_draft(self.workspace.factory, incident, template_id, action.text, action.bases)]
            if action.kind == "send":
                events.append(commands.mark_sent(self.workspace.factory, incident, template_id, action.channel, action.text))
            elif not events:
                raise DomainError("no changes since the last saved version")
            return events

        def saved() -> None:
            incident = self.workspace.get(incident_id)
            heads = incident.draft_heads(template_id)
            if heads and editor.is_attached:
                editor.saved(heads[-1], heads)
            if action.kind == "send":
                from warroom.domain.cadence import cadence

                due = cadence(incident, self.clock.now(), self.cadence_overrides(incident)).due_at
                after = f" Next update due {due:%H:%M}Z." if due else ""
                self.notify(f"Logged as sent to {action.channel.value}.{after}", timeout=5)
            else:
                self.notify("Draft saved.", timeout=2)

        self._run_command(save_events, done=saved)

    def _write_draft(self, path: str, text: str) -> None:
        from pathlib import Path

        from warroom.store.atomic import atomic_write

        target = Path(path).expanduser()
        try:
            atomic_write(target, text.encode("utf-8"))
        except OSError as exc:
            self.call_from_thread(self.notify, f"Could not write {target}: {exc.strerror}", severity="error")
            return
        self.call_from_thread(self.notify, f"Draft written to {target}", timeout=4)

    def action_set_component(self) -> None:
        incident = self._require_incident()
        if incident is None:
            return

        def chosen(result) -> None:
            if result is not None:
                name, state = result
                self._run_command(lambda: [commands.set_component(self.workspace.factory, self.workspace.get(incident.id), name, state)])

        from warroom.ui.screens.comms import ComponentScreen

        self.push_screen(ComponentScreen(incident.components), chosen)

    def on_comms_pane_component_requested(self) -> None:
        self.action_set_component()

    def action_assign_role(self, role: str | None = None) -> None:
        incident = self._require_incident()
        if incident is None:
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                role_name, person = result
                self._run_command(lambda: [commands.assign_role(self.workspace.factory, self.workspace.get(incident.id), role_name, person)])

        self.push_screen(AssignRoleScreen(incident.roles, role), chosen)

    def on_roster_list_assign_requested(self, message: RosterList.AssignRequested) -> None:
        self.action_assign_role(message.role)

    def on_roster_list_history_requested(self) -> None:
        self.action_role_history()

    def action_role_history(self) -> None:
        incident = self._require_incident()
        if incident is not None:
            self.push_screen(RoleHistoryScreen(incident))

    def on_timeline_view_entry_chosen(self, message: TimelineView.EntryChosen) -> None:
        entry = message.entry
        incident = self.current
        if incident is None:
            return
        if message.intent == "details":
            self.push_screen(EntryScreen(entry, local_time=self.query_one(TimelineView).local_time))
            return
        if entry.kind.is_automatic:
            self.notify("Automatic entries record state changes and cannot be edited.", severity="warning")
            return
        if message.intent == "promote":
            self._run_command(
                lambda: [commands.promote_todo(self.workspace.factory, self.workspace.get(incident.id), entry.id)],
                done=lambda: self.notify(f"Promoted to an action item ({key_for('followup.action_items', self)} lists them).", timeout=3),
            )
            return
        if message.intent == "amend":
            def amended(text: str | None) -> None:
                if text is not None:
                    self._run_command(lambda: [commands.amend_entry(self.workspace.factory, self.workspace.get(incident.id), entry.id, text)])

            self.push_screen(TextPrompt("Amend entry (the original is kept)", value=entry.text), amended)
        elif message.intent == "redact":
            def redacted(reason: str | None) -> None:
                if reason is not None:
                    self._run_command(lambda: [commands.redact_entry(self.workspace.factory, self.workspace.get(incident.id), entry.id, reason)])

            self.push_screen(TextPrompt("Redact entry: why?", placeholder="e.g. contained a customer email address", hint="The text is hidden; the entry and its history remain · Enter redacts"), redacted)

    # --- follow-up: action items, milestones, metrics, postmortem -----------------------------

    def _incident_getter(self, incident_id: str):
        return lambda: self.workspace.get(incident_id)

    def action_action_items(self) -> None:
        incident = self._require_incident()
        if incident is not None:
            from warroom.ui.screens.followup import ActionItemsScreen

            self.push_screen(ActionItemsScreen(self._incident_getter(incident.id), lambda edit, done: self._save_action_item(incident.id, edit, done)))

    def _save_action_item(self, incident_id: str, edit: ActionItemEdit, done) -> None:
        def make() -> list[Event]:
            incident = self.workspace.get(incident_id)
            if edit.item_id is None:
                return [commands.add_action_item(self.workspace.factory, incident, edit.text, owner=edit.owner, due=edit.due, priority=edit.priority, type=edit.type)]
            return [
                commands.update_action_item(
                    self.workspace.factory,
                    incident,
                    edit.item_id,
                    text=edit.text,
                    owner=edit.owner,
                    due=edit.due,
                    priority=edit.priority,
                    status=edit.status,
                    type=edit.type,
                    clear_owner=edit.clear_owner or None,
                    clear_due=edit.clear_due or None,
                )
            ]

        self._run_command(make, done=done)

    def action_metrics(self) -> None:
        incident = self._require_incident()
        if incident is None:
            return
        from warroom.domain.metrics import incident_metrics, report
        from warroom.ui.screens.followup import MetricsScreen

        getter = self._incident_getter(incident.id)
        self.push_screen(
            MetricsScreen(
                getter,
                lambda: incident_metrics(getter(), self.clock.now()),
                lambda: report(self.workspace.incidents(), self.clock.now()),
                lambda milestone, text, done: self._set_milestone(incident.id, milestone, text, done),
            )
        )

    def _set_milestone(self, incident_id: str, milestone, text: str, done) -> None:
        from warroom.domain.scribe import ScribeError, parse_when

        try:
            at = parse_when(text, self.clock.now())
        except ScribeError as exc:
            self.notify(str(exc), severity="warning")
            return
        self._run_command(lambda: [commands.set_milestone(self.workspace.factory, self.workspace.get(incident_id), milestone, at)], done=done)

    def action_postmortem(self) -> None:
        incident = self._require_incident()
        if incident is not None:
            from warroom.ui.screens.followup import PostmortemScreen

            self.push_screen(
                PostmortemScreen(
                    self._incident_getter(incident.id),
                    lambda section, text: self._run_command(
                        lambda: [commands.set_postmortem_section(self.workspace.factory, self.workspace.get(incident.id), section, text)],
                        done=lambda: self.notify("Section saved.", timeout=2),
                    ),
                )
            )

    def action_export_markdown(self, filtered: bool = False) -> None:
        incident = self._require_incident()
        if incident is None:
            return
        from warroom.domain.ids import short_id

        timeline_filter = self.query_one(TimelineView).filter if filtered else None

        def chosen(path: str | None) -> None:
            if path:
                self.run_worker(lambda: self._export_markdown(incident.id, path, timeline_filter), thread=True, name="export postmortem")

        self.push_screen(
            TextPrompt(
                "Export the postmortem draft (Markdown)",
                value=f"postmortem-{short_id(incident.id)}.md",
                hint="Path to write (replaced if it exists) · Enter exports",
            ),
            chosen,
        )

    def _export_markdown(self, incident_id: str, path: str, timeline_filter=None) -> None:
        """Thread: render and write atomically; the result is a notification. With a filter,
        the timeline section holds only the matching entries (everything else is complete)."""
        from pathlib import Path

        from warroom.export.markdown import to_markdown
        from warroom.store.atomic import atomic_write

        incident = self.workspace.get(incident_id)
        if timeline_filter is not None and not timeline_filter.is_empty:
            incident = incident.model_copy(update={"timeline": timeline_filter.apply(incident.timeline)})
        target = Path(path).expanduser()
        try:
            atomic_write(target, to_markdown(incident, self.clock.now()).encode("utf-8"))
        except OSError as exc:
            self.call_from_thread(self.notify, f"Could not write {target}: {exc.strerror}", severity="error")
            return
        self.call_from_thread(self.notify, f"Postmortem draft written to {target}", timeout=5)

    def action_promote_todo(self) -> None:
        self.query_one(TimelineView).action_promote()

    def action_amend_entry(self) -> None:
        self.query_one(TimelineView).action_amend()

    def action_redact_entry(self) -> None:
        self.query_one(TimelineView).action_redact()

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

    # --- command palette -----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        def k(binding_id: str) -> str:  # the key bound now: the palette follows the user's keymap
            return key_for(binding_id, self)

        yield SystemCommand("Help: Keys", f"Every key of every pane, and its binding id ({k('app.help')})", self.action_help)
        yield SystemCommand("Incident: Declare", f"Declare a new incident ({k('incident.declare')})", self.action_declare)
        yield SystemCommand("Incident: Set severity", f"Change the selected incident's SEV ({k('incident.severity')})", self.action_set_severity)
        yield SystemCommand("Incident: Set status", f"Investigating → identified → monitoring → resolved ({k('incident.status')})", self.action_set_status)
        yield SystemCommand("Incident: Assign role", f"Assign a role or hand over IC ({k('incident.assign_role')})", self.action_assign_role)
        yield SystemCommand("Checklist: Attach runbook", f"Search runbooks by title, tag or service ({k('checklist.attach')} in the checklist)", self.action_attach_runbook)
        for template in self.templates.values():
            yield SystemCommand(f"Comms: Draft {template.name}", f"Fill the {template.name.lower()} template from live state", lambda t=template.id: self.open_draft(t))
        yield SystemCommand("Comms: Set status-page component", f"Operational, degraded, partial or major outage, maintenance ({k('comms.component')} in comms)", self.action_set_component)
        yield SystemCommand("Follow-up: Action items", f"Add, edit and close follow-ups ({k('followup.action_items')})", self.action_action_items)
        yield SystemCommand("Follow-up: Promote todo to action item", f"The selected /todo entry becomes an action item ({k('timeline.promote')} in the timeline)", self.action_promote_todo)
        yield SystemCommand("Follow-up: Milestones and metrics", f"Detected → resolved, MTTA/MTTR by SEV ({k('followup.metrics')})", self.action_metrics)
        yield SystemCommand("Postmortem: Export Markdown", "Write the postmortem draft (timeline, action items, metrics) to a file", self.action_export_markdown)
        if not self.query_one(TimelineView).filter.is_empty:
            yield SystemCommand("Postmortem: Export Markdown, filtered timeline", "Only the entries matching the current search", lambda: self.action_export_markdown(filtered=True))
        yield SystemCommand("Timeline: Search", f"Filter by words, kind:, actor:, since:, until: ({k('timeline.search')})", self.query_one(TimelineView).action_search)
        yield SystemCommand("Postmortem: Write sections", "Root cause, contributing factors, what went well/poorly, lessons", self.action_postmortem)
        yield SystemCommand("Roster: Role history", f"Who held which role, and when ({k('roster.history')} in the roster)", self.action_role_history)
        yield SystemCommand("Timeline: Log entry", f"Focus the scribe input ({k('scribe.focus')})", self.action_focus_scribe)
        yield SystemCommand("Timeline: Amend entry", f"Amend the selected entry ({k('timeline.amend')})", self.action_amend_entry)
        yield SystemCommand("Timeline: Redact entry", f"Redact the selected entry ({k('timeline.redact')})", self.action_redact_entry)
        yield SystemCommand("Timeline: UTC / local time", f"Toggle the time zone of the timeline ({k('view.local_time')})", self.action_toggle_local_time)
        yield from super().get_system_commands(screen)


def run_app(
    *,
    data_dir: Path,
    user: str | None,
    config: Config,
    theme: str | None = None,
    server: str | None = None,
    sync: bool = True,
) -> int:
    """Open the TUI on ``data_dir``; asks the user's name on first run. With a server
    configured (``--server``, WARROOM_SERVER or ``warroom login``), syncs with it."""
    workspace = Workspace(data_dir, user or login_name())

    def ingest_and_show(events):
        # Runs on the sync thread: journal what the server sent, then refresh the screen.
        new = workspace.ingest(events)
        app.events_arrived()
        return new

    engine = _sync_engine(workspace, server, ingest_and_show) if sync else None
    app = WarRoomApp(workspace, config=config, theme=theme, ask_name=user is None, sync_engine=engine)
    app.run()
    return app.return_code or 0


def _sync_engine(workspace: Workspace, server: str | None, apply: Callable):
    """The sync engine, or None when no server is configured. Imported lazily: httpx stays
    off the start-up path when sync is not used. Raises SyncConfigError."""
    from warroom.store.sync_state import resolve_server

    if resolve_server(server) is None:
        return None
    from warroom.sync.engine import SyncEngine

    return SyncEngine.from_config(workspace, server, apply=apply)
