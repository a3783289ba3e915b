"""Where the incident stands (the brief, also for a new IC), settling hypotheses, and running
a runbook step's command after asking."""

from __future__ import annotations

from warroom.domain.commands import DomainError
from warroom.domain.models import INCIDENT_COMMANDER, EntryKind, canonical_role
from warroom.domain.records import Verdict
from warroom.ui.widgets.checklist import ChecklistPane
from warroom.ui.widgets.timeline import TimelineView


class SituationHandlers:
    """Mixed into ``WarRoomApp``."""

    # --- the brief -------------------------------------------------------------------------

    def action_brief(self) -> None:
        """One key: the situation brief of the selected incident (c copies it)."""
        incident = self.require_incident()
        if incident is not None:
            self._show_brief(incident.id, "Situation brief", "Brief copied")

    def offer_handover_brief(self, incident_id: str, role: str, person: str) -> None:
        """After handing IC over: the brief, ready to copy for the new IC."""
        try:
            if canonical_role(role) != INCIDENT_COMMANDER or person == self.workspace.actor:
                return
        except ValueError:
            return
        self._show_brief(incident_id, f"Hand-over brief for {person}", f"Brief copied to paste to {person}")

    def _show_brief(self, incident_id: str, title: str, copied: str) -> None:
        from warroom.ui.screens.viewer import TextViewer

        self.push_screen(TextViewer(lambda: self.desk.brief(incident_id), title=title, copied=copied))

    # --- hypotheses ------------------------------------------------------------------------

    def on_timeline_view_verdict_requested(self, message: TimelineView.VerdictRequested) -> None:
        incident = self.current
        entry = message.entry
        if incident is None:
            return
        if entry.kind is not EntryKind.HYPOTHESIS:
            self.notify("Only /hypothesis entries can be confirmed or ruled out.", severity="warning", timeout=3)
            return
        judged = incident.verdicts.get(entry.id)

        def chosen(result: tuple[Verdict, str] | None) -> None:
            if result is not None:
                verdict, reason = result
                self.apply(
                    lambda: self.desk.judge_hypothesis(incident.id, entry.id, verdict, reason),
                    done=lambda: self.notify(f"Hypothesis {verdict.value}.", timeout=3),
                )

        from warroom.ui.screens.verdict import VerdictPicker

        text = "[redacted]" if entry.redacted else entry.text
        self.push_screen(VerdictPicker(text, judged.verdict if judged else Verdict.OPEN), chosen)

    # --- running a step's command ----------------------------------------------------------

    def action_run_command(self) -> None:
        """One key: the command of the step under the checklist cursor (when the checklist
        has focus), else of the next open step that has one; shown, then asked."""
        incident = self.require_incident()
        if incident is None:
            return
        pane = self.query_one(ChecklistPane)
        preferred = pane.highlighted_step if pane.has_focus else None
        step = self.desk.runnable_step(incident.id, preferred)
        if step is None:
            self.notify("No open checklist step has a command.", severity="warning", timeout=3)
            return
        try:
            plan = self.desk.plan_run(incident.id, step)
        except DomainError as exc:
            self.notify(str(exc), severity="warning", timeout=6)
            return
        from warroom.ui.screens.run import RunConfirmScreen

        self.push_screen(RunConfirmScreen(plan, self.workspace.actor), lambda yes: self._run(plan) if yes else None)

    def _run(self, plan) -> None:
        from warroom.desk.runs import runner_for
        from warroom.ui.screens.run import RunScreen

        def record(result, started_at) -> str:
            # On the run's worker thread: the workspace takes its own lock.
            events = self.desk.record_run(plan, result, started_at)
            self.desk.record(events)
            self.call_from_thread(self.refresh_views)
            return f"logged as action {events[0].id[-8:]}"

        self.push_screen(RunScreen(plan, lambda show: runner_for(plan, self.workspace.data_dir, show), record, self.clock.now))

    def show_command_output(self, incident_id: str, run_id: str) -> None:
        """Enter on a command's timeline entry: the command, how it ended, the whole output."""
        from warroom.ui.screens.viewer import TextViewer

        def text() -> str:
            run = self.desk.get(incident_id).command_runs[run_id]
            if not run.command:
                return "[redacted]\n"
            head = [
                f"$ {run.command}",
                f"{run.describe_result()} · run by {run.actor} at {run.started_at:%Y-%m-%d %H:%M:%S} UTC",
                f"from {run.source or run.runbook_id}, attached by {run.attached_by or '?'} · output {run.describe_size()}",
            ]
            if run.truncated:
                head.append(f"head and tail only; the whole output is at {run.full_output_at or 'the machine that ran it'}")
            return "\n".join(head) + "\n\n" + run.output

        self.push_screen(TextViewer(text, title="Command output", copied="Output copied"))
