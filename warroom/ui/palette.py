"""The command palette (ctrl+p): every warroom action as "Group: Action", with its key.

The help text names the key bound *now*, so a user's ``[keymap]`` shows here too. Some
commands depend on the moment: one per comms template, and "filtered timeline" only while
the timeline is filtered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from warroom.ui.keymap import key_for
from warroom.ui.widgets.timeline import TimelineView

if TYPE_CHECKING:
    from warroom.ui.app import WarRoomApp


@dataclass(frozen=True)
class PaletteCommand:
    title: str
    """``Group: Action``."""
    help: str
    """What it does, and its key."""
    run: Callable[[], object]


def palette_commands(app: WarRoomApp) -> list[PaletteCommand]:
    """Every command the palette offers now."""

    def k(binding_id: str) -> str:
        return key_for(binding_id, app)

    timeline = app.query_one(TimelineView)
    commands = [
        PaletteCommand("Help: Keys", f"Every key of every pane, and its binding id ({k('app.help')})", app.action_help),
        PaletteCommand("Incident: Declare", f"Declare a new incident ({k('incident.declare')})", app.action_declare),
        PaletteCommand("Incident: Set severity", f"Change the selected incident's SEV ({k('incident.severity')})", app.action_set_severity),
        PaletteCommand("Incident: Set status", f"Investigating → identified → monitoring → resolved ({k('incident.status')})", app.action_set_status),
        PaletteCommand("Incident: Assign role", f"Assign a role or hand over IC ({k('incident.assign_role')})", app.action_assign_role),
        PaletteCommand("Incident: Situation brief", f"Where the incident stands, in 80 columns; c copies it ({k('situation.brief')})", app.action_brief),
        PaletteCommand("Checklist: Run the step's command", f"Shows the exact command and whose runbook it is, asks, runs, logs the output ({k('checklist.run')})", app.action_run_command),
        PaletteCommand("Incident: Rename", "Change the incident's title (logged as a title change)", app.action_rename_incident),
        PaletteCommand("View: Zoom pane", f"The focused pane full screen, and back ({k('view.zoom')})", app.action_toggle_zoom),
        PaletteCommand("Checklist: Attach runbook", f"Search runbooks by title, tag or service ({k('checklist.attach')} in the checklist)", app.action_attach_runbook),
    ]
    for template in (app.desk.library.templates if app.loaded else {}).values():
        commands.append(
            PaletteCommand(f"Comms: Draft {template.name}", f"Fill the {template.name.lower()} template from live state", lambda t=template.id: app.open_draft(t))
        )
    commands += [
        PaletteCommand("Comms: Set status-page component", f"Operational, degraded, partial or major outage, maintenance ({k('comms.component')} in comms)", app.action_set_component),
        PaletteCommand("Follow-up: Action items", f"Add, edit and close follow-ups ({k('followup.action_items')})", app.action_action_items),
        PaletteCommand("Follow-up: Promote todo to action item", f"The selected /todo entry becomes an action item ({k('timeline.promote')} in the timeline)", timeline.action_promote),
        PaletteCommand("Follow-up: Milestones and metrics", f"Detected → resolved, MTTA/MTTR by SEV ({k('followup.metrics')})", app.action_metrics),
        PaletteCommand("Postmortem: Export Markdown", "Write the postmortem draft (timeline, action items, metrics) to a file", app.action_export_markdown),
        PaletteCommand(
            "Postmortem: Export Markdown, key timeline",
            "Only what people wrote plus SEV, status, role changes and milestones (no checklist ticks or comms)",
            lambda: app.action_export_markdown(timeline="key"),
        ),
    ]
    if not timeline.filter.is_empty:
        commands.append(
            PaletteCommand("Postmortem: Export Markdown, filtered timeline", "Only the entries matching the current search", lambda: app.action_export_markdown(filtered=True))
        )
    commands += [
        PaletteCommand("Timeline: Search", f"Filter by words, kind:, actor:, since:, until: ({k('timeline.search')})", timeline.action_search),
        PaletteCommand("Postmortem: Write sections", "Impact, authors, reviewers, trigger, detection, response, recovery, root cause, luck…", app.action_postmortem),
        PaletteCommand("Roster: Role history", f"Who held which role, and when ({k('roster.history')} in the roster)", app.action_role_history),
        PaletteCommand("Timeline: Log entry", f"Focus the scribe input ({k('scribe.focus')})", app.action_focus_scribe),
        PaletteCommand("Timeline: Confirm or rule out hypothesis", f"The selected /hypothesis entry ({k('timeline.verdict')} in the timeline)", timeline.action_verdict),
        PaletteCommand("Timeline: Amend entry", f"Amend the selected entry ({k('timeline.amend')})", timeline.action_amend),
        PaletteCommand("Timeline: Redact entry", f"Redact the selected entry ({k('timeline.redact')})", timeline.action_redact),
        PaletteCommand("Timeline: UTC / local time", f"Toggle the time zone of the timeline ({k('view.local_time')})", app.action_toggle_local_time),
    ]
    return commands


class WarRoomCommands(Provider):
    """warroom's own commands, next to Textual's (theme, quit, screenshot...)."""

    async def discover(self) -> Hits:
        for command in palette_commands(self.app):
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in palette_commands(self.app):
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
