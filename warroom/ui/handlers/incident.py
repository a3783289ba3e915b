"""Incidents: declare, select, severity, status (and what resolving restores), roles."""

from __future__ import annotations

from warroom.domain.commands import DomainError
from warroom.domain.models import allowed_transitions
from warroom.ui.screens.declare import DeclareRequest, DeclareScreen
from warroom.ui.screens.entry import RoleHistoryScreen
from warroom.ui.screens.pickers import AssignRoleScreen, SeverityPicker, StatusPicker
from warroom.ui.widgets.incidents import IncidentList
from warroom.ui.widgets.roster import RosterList


class IncidentHandlers:
    """Mixed into ``WarRoomApp``."""

    def action_declare(self) -> None:
        def declared(request: DeclareRequest | None) -> None:
            if request is None:
                return
            try:
                events = self.desk.declare(
                    title=request.title,
                    severity=request.severity,
                    commander=request.commander,
                    impact=request.impact,
                    incident_type=request.incident_type,
                )
            except DomainError as exc:
                self.notify(str(exc), severity="warning")
                return

            def show_new() -> None:
                self.select_incident(events[0].incident_id)
                self.notify(f"Declared {request.severity.value}: {request.title}", severity="information")
                self.action_focus_scribe()

            self.save(events, done=show_new)

        self.push_screen(DeclareScreen(self.workspace.actor, self.desk.library.incident_types if self.loaded else {}), declared)

    def on_incident_list_selected(self, message: IncidentList.Selected) -> None:
        self.select_incident(message.incident_id)

    def action_set_severity(self) -> None:
        incident = self.require_incident()
        if incident is None:
            return

        def chosen(severity) -> None:
            if severity is not None:
                self.apply(lambda: self.desk.update(incident.id, severity=severity))

        self.push_screen(SeverityPicker(incident.severity), chosen)

    def action_set_status(self) -> None:
        incident = self.require_incident()
        if incident is None:
            return

        def chosen(status) -> None:
            if status is not None:
                self.apply(lambda: self.desk.update(incident.id, status=status), done=lambda: self._offer_to_restore(incident.id))

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

        def chosen(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            role_name, person = result
            # Handing IC over opens the situation brief, ready to copy for the new IC.
            assign = lambda: self.apply(  # noqa: E731
                lambda: self.desk.assign(incident.id, role_name, person),
                done=lambda: self.offer_handover_brief(incident.id, role_name, person),
            )
            if self.sync_engine is None or not _is_commander(role_name) or not person:
                assign()
                return
            # Only the IC may hand the role on: a name no token belongs to would lock the
            # incident for everyone but admins. Ask the server (in a worker) before assigning.
            self.run_worker(
                lambda: self._check_commander(person, assign), thread=True, group="check-ic", name="check the IC's name"
            )

        self.push_screen(AssignRoleScreen(incident.roles, role), chosen)

    def _check_commander(self, person: str, assign) -> None:
        """Thread: warn and ask when the sync server knows no user ``person``."""
        from warroom.sync.people import check_person, known_users

        try:
            warning = check_person(person, known_users(self.workspace, client=self.sync_engine.client.clone()))
        except Exception:
            warning = None  # nothing to check against: assign as asked
        self.call_from_thread(self._confirm_commander, person, warning, assign)

    def _confirm_commander(self, person: str, warning: str | None, assign) -> None:
        if warning is None:
            assign()
            return
        from warroom.ui.screens.comms import ConfirmScreen

        self.push_screen(
            ConfirmScreen(f"Warning: {warning}. Make {person!r} the incident commander anyway?"),
            lambda yes: assign() if yes else None,
        )

    def on_roster_list_assign_requested(self, message: RosterList.AssignRequested) -> None:
        self.action_assign_role(message.role)

    def on_roster_list_history_requested(self, _message: RosterList.HistoryRequested) -> None:
        self.action_role_history()

    def action_role_history(self) -> None:
        incident = self.require_incident()
        if incident is not None:
            self.push_screen(RoleHistoryScreen(incident))


def _is_commander(role: str) -> bool:
    from warroom.domain.models import INCIDENT_COMMANDER, canonical_role

    try:
        return canonical_role(role) == INCIDENT_COMMANDER
    except ValueError:
        return False
