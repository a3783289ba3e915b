"""The use-cases of a war room, once, for every front end.

The CLI and the TUI both call a ``Desk``; it knows neither argparse nor Textual. A use-case
reads the incident's current state, applies the rules (the domain refuses what is not
allowed with a ``DomainError`` whose message is shown as is) and returns the events it
decided on. Nothing is written until ``record(events)``, which journals them (fsync) before
they count as saved. Deciding and recording are separate calls so the TUI can decide on its
UI thread, in the order keys were pressed, and write in a worker; the CLI calls both in a
row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.desk.library import Library
from warroom.domain import commands
from warroom.domain.commands import DomainError
from warroom.domain.events import Event
from warroom.domain.models import (
    HUMAN_ENTRY_KINDS,
    CommsChannel,
    ComponentState,
    EntryKind,
    Incident,
    Milestone,
    Severity,
    Status,
)
from warroom.store.workspace import Workspace

if TYPE_CHECKING:
    from warroom.comms.delivery import DeliveryService
    from warroom.desk.runs import RunPlan
    from warroom.domain.cadence import Cadence
    from warroom.domain.records import Verdict
    from warroom.runbooks.execute import RunResult
    from warroom.store.deliveries import Delivery
    from warroom.domain.metrics import IncidentMetrics, Report
    from warroom.domain.timeline_filter import TimelineFilter
    from warroom.runbooks.model import Runbook


@dataclass(frozen=True)
class StepRef:
    """One checklist step of an incident."""

    runbook_id: str
    step_id: str


class Desk:
    """What a person can do in the war room of one data directory."""

    def __init__(self, workspace: Workspace, library: Library | None = None) -> None:
        self.workspace = workspace
        self.library = library or Library()

    @property
    def clock(self):
        return self.workspace.clock

    @property
    def actor(self) -> str:
        return self.workspace.actor

    def now(self) -> datetime:
        return self.workspace.clock.now()

    # --- reading ---------------------------------------------------------------------------

    def incidents(self) -> list[Incident]:
        """Active first (worst SEV, oldest first), then resolved."""
        return self.workspace.incidents()

    def get(self, incident_ref: str) -> Incident:
        """By id or short id; refuses an unknown or ambiguous one."""
        return self.workspace.get(incident_ref)

    # --- recording -------------------------------------------------------------------------

    def record(self, events: list[Event]) -> None:
        """Journal the events durably, then apply them. Raises JournalError (or DomainError
        for a damaged incident); nothing is applied then."""
        self.workspace.record(events)

    def refusal(self, events: list[Event], *, admin: bool = False) -> str | None:
        """What a sync server would refuse in ``events`` (a change only the IC may make), as
        its sentence; None when nothing would be. Front ends ask before writing, when a
        server is configured, so nobody sees a change the server will take back."""
        from warroom.domain.authority import refusal

        by_incident: dict[str, list[Event]] = {}
        for event in events:
            by_incident.setdefault(event.incident_id, []).append(event)
        for incident_id, batch in by_incident.items():
            try:
                incident = self.get(incident_id)
            except DomainError:
                continue  # being declared now: the declarer names the first IC
            reason = refusal(incident, self.actor, batch, admin=admin)
            if reason is not None:
                return reason
        return None

    # --- declaring -------------------------------------------------------------------------

    def declare(
        self,
        *,
        title: str,
        severity: Severity | None,
        commander: str | None = None,
        summary: str = "",
        impact: str = "",
        incident_type: str | None = None,
        at: datetime | None = None,
    ) -> list[Event]:
        """A new incident with what it starts with: the IC, the IC's first-minutes checklist,
        its type's runbooks (and those whose front matter names the type) and its type's
        roles to fill. Without a severity, the type's default is used. ``at``: when it was
        declared, for an incident written up afterwards (never in the future)."""
        from warroom.domain.scribe import FUTURE_SLACK

        from warroom.domain.fold import fold_incident
        from warroom.runbooks.library import attach_fields, runbooks_for_declare

        kind = self.library.incident_type(incident_type)
        if severity is None:
            if kind is None or kind.severity is None:
                raise DomainError("give a severity (or an incident type that has a default severity)")
            severity = kind.severity
        if at is not None and at > self.now() + FUTURE_SLACK:
            raise DomainError("an incident cannot be declared in the future")
        factory = self.workspace.factory
        events = commands.declare(
            factory,
            title=title,
            severity=severity,
            commander=commander,
            summary=summary,
            impact=impact,
            incident_type=incident_type,
            at=at,
        )
        incident = fold_incident(events[0].incident_id, events)
        runbooks = runbooks_for_declare(self.library.runbooks, incident_type, kind.runbooks if kind else None)
        events += [commands.attach_runbook(factory, incident, **attach_fields(runbook)) for runbook in runbooks]
        return events + commands.roles_to_fill(factory, incident.id, kind.roles if kind else [])

    # --- the timeline ----------------------------------------------------------------------

    def log(self, incident_ref: str, text: str, kind: EntryKind = EntryKind.NOTE, at: datetime | None = None) -> list[Event]:
        """A timeline entry; ``at`` backdates it."""
        return [commands.log_entry(self.workspace.factory, self.get(incident_ref), text, kind, at)]

    def log_line(self, incident_ref: str, line: str, zone: tzinfo | None = None) -> list[Event]:
        """What the scribe typed: ``14:32 text`` backdates (read in ``zone``, UTC by
        default), ``/decision …`` sets the kind."""
        return [self.prepare_line(incident_ref, line, zone).event]

    def prepare_line(self, incident_ref: str, line: str, zone: tzinfo | None = None, *, when: datetime | None = None):
        """A typed line as its event, and the question to ask before writing it when its
        time lands on another day or more than 12 h back (``PreparedEntry``). ``when``
        dates a line without a time of its own (kept when a line is retried)."""
        from warroom.domain.scribe import UTC, ScribeError
        from warroom.domain.scribe_entry import prepare_entry

        try:
            return prepare_entry(self.workspace.factory, self.get(incident_ref), line, zone or UTC, when=when)
        except ScribeError as exc:
            raise DomainError(str(exc)) from None

    def entry_kind(self, name: str) -> EntryKind:
        """A kind people may log (``note``, ``decision``…) from its name."""
        try:
            kind = EntryKind(name.lower())
        except ValueError:
            kind = None
        if kind not in HUMAN_ENTRY_KINDS:
            names = ", ".join(sorted(k.value for k in HUMAN_ENTRY_KINDS))
            raise DomainError(f"unknown kind {name!r}: use {names}")
        return kind

    def when(self, text: str, zone: tzinfo | None = None) -> datetime:
        """``14:32`` (today in ``zone``, UTC by default; yesterday if still to come) or ISO
        8601 (an ISO time without an offset is read in ``zone`` too)."""
        from warroom.domain.scribe import UTC, ScribeError, parse_when

        try:
            return parse_when(text, self.now(), zone or UTC)
        except ScribeError as exc:
            raise DomainError(str(exc)) from None

    def amend(self, incident_ref: str, entry_ref: str, text: str) -> list[Event]:
        return [commands.amend_entry(self.workspace.factory, self.get(incident_ref), entry_ref, text)]

    def redact(self, incident_ref: str, entry_ref: str, reason: str) -> list[Event]:
        return [commands.redact_entry(self.workspace.factory, self.get(incident_ref), entry_ref, reason)]

    def purge(self, incident_ref: str, entry_ref: str, reason: str) -> list[Event]:
        """Admins: destroy a redacted entry's text on the server and every client."""
        return [commands.purge_entry(self.workspace.factory, self.get(incident_ref), entry_ref, reason)]

    def void(self, incident_ref: str, event_ref: str, reason: str) -> list[Event]:
        """Admins: take an accepted event out of the incident (the log keeps it)."""
        from warroom.domain.ids import matches_ref

        incident = self.get(incident_ref)
        found = [e for e in self.workspace.events(incident.id) if matches_ref(e.id, event_ref)]
        if len(found) != 1:
            raise DomainError(f"{'several events match' if found else 'no event'} {event_ref!r} in this incident")
        return [commands.void_event(self.workspace.factory, incident, found[0], reason)]

    # --- severity, status, roles -----------------------------------------------------------

    def update(
        self,
        incident_ref: str,
        *,
        severity: Severity | None = None,
        status: Status | None = None,
        title: str | None = None,
        summary: str | None = None,
        impact: str | None = None,
    ) -> list[Event]:
        """Change fields; refuses no-ops and transitions the lifecycle does not allow."""
        return [
            commands.update(
                self.workspace.factory,
                self.get(incident_ref),
                severity=severity,
                status=status,
                title=title,
                summary=summary,
                impact=impact,
            )
        ]

    def components_to_restore(self, incident_ref: str) -> list[str]:
        """After resolving: the status-page components still shown as not operational."""
        incident = self.get(incident_ref)
        if incident.status is not Status.RESOLVED:
            return []
        return [name for name, state in incident.components.items() if state is not ComponentState.OPERATIONAL]

    def restore_components(self, incident_ref: str, names: list[str]) -> list[Event]:
        incident = self.get(incident_ref)
        factory = self.workspace.factory
        return [commands.set_component(factory, incident, name, ComponentState.OPERATIONAL) for name in names]

    def assign(self, incident_ref: str, role: str, person: str | None) -> list[Event]:
        """Give a role (``ic``, ``tech``, ``comms``, ``scribe`` or any name) or hand it over."""
        return [commands.assign_role(self.workspace.factory, self.get(incident_ref), role, person)]

    # --- checklists ------------------------------------------------------------------------

    def attach_runbook(self, incident_ref: str, runbook: Runbook) -> list[Event]:
        from warroom.runbooks.library import attach_fields

        return [commands.attach_runbook(self.workspace.factory, self.get(incident_ref), **attach_fields(runbook))]

    def toggle_step(self, incident_ref: str, step: StepRef) -> list[Event]:
        """Tick an open step, untick a done one (only the ticks this person has seen)."""
        incident = self.get(incident_ref)
        found = self._step(incident, step)
        factory = self.workspace.factory
        if found.done:
            return [commands.untick_step(factory, incident, step.runbook_id, step.step_id)]
        return [commands.tick_step(factory, incident, step.runbook_id, step.step_id)]

    def skip_step(self, incident_ref: str, step: StepRef, reason: str) -> list[Event]:
        """Mark a step done by skipping it; the reason goes in the timeline."""
        incident = self.get(incident_ref)
        if self._step(incident, step).done:
            raise DomainError("that step is already done; untick it first")
        return [commands.tick_step(self.workspace.factory, incident, step.runbook_id, step.step_id, skipped_reason=reason)]

    def next_step(self, incident_ref: str, preferred: StepRef | None = None) -> StepRef | None:
        """The step one key ticks: ``preferred`` (under the cursor) if it is open, else the
        first open step of the first checklist that has one."""
        incident = self.get(incident_ref)
        if preferred is not None:
            checklist = incident.checklists.get(preferred.runbook_id)
            step = checklist.step(preferred.step_id) if checklist else None
            if step is not None and not step.done:
                return preferred
        for checklist in incident.checklists.values():
            step = checklist.next_open()
            if step is not None:
                return StepRef(checklist.runbook_id, step.id)
        return None

    @staticmethod
    def _step(incident: Incident, step: StepRef):
        checklist = incident.checklists.get(step.runbook_id)
        found = checklist.step(step.step_id) if checklist else None
        if found is None:
            raise DomainError(f"no step {step.step_id!r} in checklist {step.runbook_id!r}")
        return found

    # --- comms -----------------------------------------------------------------------------

    def render(self, incident_ref: str, template_id: str) -> str:
        """The template filled from the incident's live state."""
        from warroom.comms.render import render

        incident = self.get(incident_ref)
        template = self.library.template(template_id)
        return render(template, incident, self.now(), self.library.cadence_overrides(incident))

    def save_draft(
        self,
        incident_ref: str,
        template_id: str,
        text: str,
        bases: list[str],
        send_to: CommsChannel | None = None,
    ) -> list[Event]:
        """A new version of a draft (unless it is the one already saved), and with
        ``send_to`` the record that it went out there, which restarts the cadence."""
        incident = self.get(incident_ref)
        factory = self.workspace.factory
        heads = incident.draft_heads(template_id)
        unchanged = len(heads) == 1 and heads[0].text == text
        events = [] if unchanged else [commands.save_draft(factory, incident, template_id, text, bases)]
        if send_to is not None:
            if not self.delivers(send_to):  # else it counts as sent once delivered (``send``)
                events.append(commands.mark_sent(factory, incident, template_id, send_to, text))
        elif not events:
            raise DomainError("no changes since the last saved version")
        return events

    @cached_property
    def deliveries(self) -> DeliveryService:
        """The data dir's delivery outbox, through the configured channels; a delivered
        update is journaled as ``comms.delivered``."""
        from warroom.desk.sending import delivery_service

        return delivery_service(self.workspace, self.library.config)

    def delivers(self, channel: CommsChannel) -> bool:
        """True when the channel has a real destination in the config."""
        return channel.value in self.library.config.channels

    def send(self, incident_ref: str, template_id: str, channel: CommsChannel, text: str) -> Delivery:
        """Queue an update for a channel with a destination (durably, before any attempt);
        the caller attempts it (``deliveries.deliver`` or ``run_due``)."""
        from warroom.desk.sending import queue_update

        return queue_update(self.deliveries, self.get(incident_ref), template_id, channel, text, self.actor)

    def set_component(self, incident_ref: str, name: str, state: ComponentState) -> list[Event]:
        return [commands.set_component(self.workspace.factory, self.get(incident_ref), name, state)]

    def cadence(self, incident: Incident) -> Cadence:
        """When the next update is due (the type's and the config's cadence applied)."""
        from warroom.domain.cadence import cadence

        return cadence(incident, self.now(), self.library.cadence_overrides(incident))

    # --- the situation, hypotheses, running a step's command -------------------------------

    def brief(self, incident_ref: str) -> str:
        """The situation brief: plain text, 80 columns, the same from the CLI and the TUI."""
        from warroom.comms.brief import situation_brief

        incident = self.get(incident_ref)
        return situation_brief(incident, self.now(), cadence_overrides=self.library.cadence_overrides(incident))

    def judge_hypothesis(self, incident_ref: str, entry_ref: str, verdict: Verdict, reason: str = "") -> list[Event]:
        """Confirm, rule out or reopen a /hypothesis entry."""
        return [commands.judge_hypothesis(self.workspace.factory, self.get(incident_ref), entry_ref, verdict, reason)]

    def runnable_step(self, incident_ref: str, preferred: StepRef | None = None) -> StepRef | None:
        """The step whose command one key runs: ``preferred`` if it has one, else the first
        open step with a command."""
        from warroom.desk.runs import runnable_step

        found = runnable_step(self.get(incident_ref), (preferred.runbook_id, preferred.step_id) if preferred else None)
        return StepRef(*found) if found else None

    def plan_run(self, incident_ref: str, step: StepRef, cwd: Path | None = None) -> RunPlan:
        """What to show before asking to run a step's command (refuses with no_exec)."""
        from warroom.desk.runs import plan_run

        return plan_run(self.get(incident_ref), step.runbook_id, step.step_id, config=self.library.config, library=self.library.runbooks, cwd=cwd)

    def record_run(self, plan: RunPlan, result: RunResult, started_at: datetime) -> list[Event]:
        """The run as an action entry with its output attached."""
        fields = result.event_fields()
        return [commands.record_command_run(self.workspace.factory, self.get(plan.incident_id), plan.runbook_id, plan.step_id, started_at=started_at, **fields)]

    # --- follow-up and postmortem ----------------------------------------------------------

    def promote_todo(self, incident_ref: str, entry_ref: str) -> list[Event]:
        return [commands.promote_todo(self.workspace.factory, self.get(incident_ref), entry_ref)]

    def add_action_item(self, incident_ref: str, text: str, **fields) -> list[Event]:
        """``owner``, ``due``, ``priority``, ``type``, ``ticket``."""
        return [commands.add_action_item(self.workspace.factory, self.get(incident_ref), text, **fields)]

    def update_action_item(self, incident_ref: str, item_id: str, **fields) -> list[Event]:
        return [commands.update_action_item(self.workspace.factory, self.get(incident_ref), item_id, **fields)]

    def set_milestone(self, incident_ref: str, milestone: Milestone, when: str, zone: tzinfo | None = None) -> list[Event]:
        """A milestone at ``when`` (``14:32`` in ``zone``, or ISO 8601), checked for order."""
        return [commands.set_milestone(self.workspace.factory, self.get(incident_ref), milestone, self.when(when, zone))]

    def set_postmortem_section(self, incident_ref: str, section: str, text: str) -> list[Event]:
        """A postmortem section or credit; ``impact`` is the incident's own field (the comms
        templates read it too), so it is changed as the incident."""
        if section == "impact":
            return [commands.update(self.workspace.factory, self.get(incident_ref), impact=text)]
        return [commands.set_postmortem_section(self.workspace.factory, self.get(incident_ref), section, text)]

    def metrics(self, incident_ref: str) -> IncidentMetrics:
        from warroom.domain.metrics import incident_metrics

        return incident_metrics(self.get(incident_ref), self.now())

    def report(self) -> Report:
        """MTTA/MTTR by SEV over every incident."""
        from warroom.domain.metrics import report

        return report(self.incidents(), self.now())

    def postmortem(
        self,
        incident_ref: str,
        *,
        timeline_filter: TimelineFilter | None = None,
        redacted: str = "mark",
        local_tz: tzinfo | None = None,
        timeline: str = "all",
    ) -> str:
        """The postmortem draft in Markdown. With a filter, the timeline section holds only
        the matching entries (every other section is complete); ``timeline="key"`` keeps the
        key entries only (see ``warroom.export.markdown``)."""
        from warroom.export.markdown import to_markdown

        incident = self.get(incident_ref)
        if timeline_filter is not None and not timeline_filter.is_empty:
            incident = incident.model_copy(update={"timeline": timeline_filter.apply(incident.timeline)})
        return to_markdown(incident, self.now(), redacted=redacted, local_tz=local_tz, timeline=timeline)

    @staticmethod
    def write_file(path: str | Path, text: str) -> Path:
        """Write ``text`` to ``path`` atomically (replacing it); raises OSError."""
        from warroom.store.atomic import atomic_write

        target = Path(path).expanduser().absolute()  # callers say exactly where it went
        atomic_write(target, text.encode("utf-8"))
        return target
