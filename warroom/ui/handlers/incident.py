"""Incidents: declare, select, severity, status (and what resolving restores), roles."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from warroom.domain import changes
from warroom.domain.commands import DomainError
from warroom.domain.models import allowed_transitions
from warroom.ui.widgets.incidents import IncidentList
from warroom.ui.widgets.roster import RosterList

if TYPE_CHECKING:
    from warroom.ui.screens.declare import DeclareRequest

# The dialogs are imported when first opened: the first frame does not need them.


class IncidentHandlers:
    """Mixed into ``WarRoomApp``."""

    def action_declare(self) -> None:
        """The dialog stays open until the incident is saved; Enter shows what will be
        declared and a second Enter declares it."""

        def submit(request: DeclareRequest, saved, refused) -> None:
            def decide():
                return self.desk.declare(
                    title=request.title,
                    severity=request.severity,
                    commander=request.commander,
                    impact=request.impact,
                    incident_type=request.incident_type,
                )

            def show_new(events) -> None:
                saved()
                self.select_incident(events[0].incident_id)
                self.notify(f"Declared {request.severity.value}: {request.title}", severity="information")
                self.action_focus_scribe()

            summary = changes.declaration(request.title, request.severity, request.commander or self.workspace.actor)
            self.confirm_change(summary, decide, done=show_new, failed=refused)

        from warroom.ui.screens.declare import DeclareScreen

        types = self.desk.library.incident_types if self.loaded else {}
        self.push_screen(DeclareScreen(self.workspace.actor, types, submit=submit))

    def on_incident_list_selected(self, message: IncidentList.Selected) -> None:
        self.select_incident(message.incident_id)

    def action_set_severity(self) -> None:
        incident = self.require_incident()
        if incident is None:
            return

        def chosen(severity) -> None:
            if severity is not None:
                summary = changes.severity_change(self.desk.get(incident.id), severity)
                self.confirm_change(summary, lambda: self.desk.update(incident.id, severity=severity))

        from warroom.ui.screens.pickers import SeverityPicker

        self.push_screen(SeverityPicker(incident.severity), chosen)

    def action_set_status(self) -> None:
        incident = self.require_incident()
        if incident is None:
            return

        def chosen(status) -> None:
            if status is not None:
                summary = changes.status_change(self.desk.get(incident.id), status)
                decide = lambda: self.desk.update(incident.id, status=status)  # noqa: E731
                self.confirm_change(summary, decide, done=lambda _e: self._offer_to_restore(incident.id))

        from warroom.ui.screens.pickers import StatusPicker

        self.push_screen(StatusPicker(incident.status, allowed_transitions(incident.status)), chosen)

    def _offer_to_restore(self, incident_id: str) -> None:
        """Resolved with components still affected: offer to set them back to operational."""
        affected = self.desk.components_to_restore(incident_id)
        if not affected:
            return
        from warroom.ui.screens.comms import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.apply(lambda: self.desk.restore_components(incident_id, affected))

        self.push_screen(ConfirmScreen(f"Resolved. Set {', '.join(affected)} back to operational on the status page?"), answered)

    def action_assign_role(self, role: str | None = None) -> None:
        incident = self.require_incident()
        if incident is None:
            return

        def submit(value, saved, refused) -> None:  # the dialog stays open until it is saved
            role_name, person = value
            decide = lambda: self.desk.assign(incident.id, role_name, person)  # noqa: E731

            def assign(warning: str | None = None) -> None:
                summary = changes.role_change(self.desk.get(incident.id), role_name, person)
                if warning:
                    summary = replace(summary, warnings=[*summary.warnings, warning])

                def done(_events) -> None:
                    saved()
                    # Handing IC over opens the situation brief, ready to copy for the new IC.
                    self.offer_handover_brief(incident.id, role_name, person)

                self.confirm_change(summary, decide, done=done, failed=refused)

            if self.sync_engine is None or not _is_commander(role_name) or not person:
                assign()
                return
            try:
                refusal = self.authority_refusal(decide())
            except DomainError as exc:
                refusal = str(exc)
            if refusal is not None:
                self.show_refusal(refusal)
                refused(refusal)
                return
            # Only the IC may hand the role on: a name no token belongs to would lock the
            # incident for everyone but admins. Ask the server (in a worker) first; the
            # confirmation then says so.
            self.run_worker(
                lambda: self._check_commander(person, assign), thread=True, group="check-ic", name="check the IC's name"
            )

        from warroom.ui.screens.pickers import AssignRoleScreen

        self.push_screen(AssignRoleScreen(incident.roles, role, submit=submit))

    def _check_commander(self, person: str, assign) -> None:
        """Thread: a warning for the confirmation when the sync server knows no user ``person``."""
        from warroom.sync.people import check_person, known_users

        try:
            warning = check_person(person, known_users(self.workspace, client=self.sync_engine.client.clone()))
        except Exception:
            warning = None  # nothing to check against: assign as asked
        self.call_from_thread(assign, f"Warning: {warning}" if warning else None)

    def on_roster_list_assign_requested(self, message: RosterList.AssignRequested) -> None:
        self.action_assign_role(message.role)

    def on_roster_list_history_requested(self, _message: RosterList.HistoryRequested) -> None:
        self.action_role_history()

    def action_role_history(self) -> None:
        incident = self.require_incident()
        if incident is not None:
            from warroom.ui.screens.entry import RoleHistoryScreen

            self.push_screen(RoleHistoryScreen(incident))


def _is_commander(role: str) -> bool:
    from warroom.domain.models import INCIDENT_COMMANDER, canonical_role

    try:
        return canonical_role(role) == INCIDENT_COMMANDER
    except ValueError:
        return False
