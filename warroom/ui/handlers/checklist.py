"""Checklists: attach a runbook, tick, untick, skip, copy a step's command, tick the next."""

from __future__ import annotations

from warroom.ui.widgets.checklist import ChecklistPane


class ChecklistHandlers:
    """Mixed into ``WarRoomApp``."""

    def action_attach_runbook(self) -> None:
        incident = self.require_incident()
        if incident is None:
            return
        runbooks = self.desk.library.runbooks if self.loaded else []
        if not runbooks:
            self.notify("No runbooks found. Put Markdown runbooks in your runbook directory.", severity="warning")
            return

        def chosen(runbook) -> None:
            if runbook is not None:
                self.apply(
                    lambda: self.desk.attach_runbook(incident.id, runbook),
                    done=lambda: self.query_one(ChecklistPane).focus(),
                )

        from warroom.ui.screens.runbooks import RunbookPicker

        self.push_screen(RunbookPicker(runbooks, set(incident.checklists)), chosen)

    def on_checklist_pane_attach_requested(self, _message: ChecklistPane.AttachRequested) -> None:
        self.action_attach_runbook()

    def action_tick_next(self) -> None:
        """One key from anywhere: tick the step under the checklist cursor if it is open,
        else the first open step."""
        incident = self.require_incident()
        if incident is None:
            return
        pane = self.query_one(ChecklistPane)
        step = self.desk.next_step(incident.id, pane.highlighted_step)
        if step is None:
            self.notify("Every checklist step is done." if incident.checklists else "No checklist attached.", timeout=3)
            return
        self._toggle(pane, incident.id, step)

    def on_checklist_pane_toggle_requested(self, message: ChecklistPane.ToggleRequested) -> None:
        incident = self.require_incident()
        if incident is not None and self._step(incident, message.step) is not None:
            self._toggle(message.pane, incident.id, message.step)

    def _toggle(self, pane: ChecklistPane, incident_id: str, step) -> None:
        was_done = self._step(self.desk.get(incident_id), step).done
        # After a tick the cursor moves on to the next open step; an untick leaves it there.
        done = None if was_done else (lambda: pane.highlight_next_open(self.desk.get(incident_id)))
        self.apply(lambda: self.desk.toggle_step(incident_id, step), done=done)

    def on_checklist_pane_skip_requested(self, message: ChecklistPane.SkipRequested) -> None:
        from warroom.ui.screens.pickers import TextPrompt

        incident = self.require_incident()
        found = self._step(incident, message.step) if incident else None
        if found is None:
            return
        if found.done:
            self.notify("Already done; untick it first (space).", severity="warning")
            return

        def skipped(reason: str | None) -> None:
            if reason is not None:
                self.apply(
                    lambda: self.desk.skip_step(incident.id, message.step, reason),
                    done=lambda: message.pane.highlight_next_open(self.desk.get(incident.id)),
                )

        prompt = TextPrompt(f"Skip: {found.text[:50]}", placeholder="Why is it skipped?", hint="The reason goes in the timeline · Enter skips")
        self.push_screen(prompt, skipped)

    def on_checklist_pane_copy_requested(self, message: ChecklistPane.CopyRequested) -> None:
        incident = self.require_incident()
        found = self._step(incident, message.step) if incident else None
        if found is None:
            return
        if found.command:
            from warroom.runbooks.execute import CommandRefused, check_command

            try:
                check_command(found.command)  # what is pasted must be what is seen
            except CommandRefused as exc:
                self.notify(f"Not copied: {exc}", severity="error", timeout=8)
                return
            self.copy_to_clipboard(found.command)
            self.notify(f"Copied: {found.command[:60]}", timeout=3)
        else:
            self.notify("This step has no command to copy.", severity="warning", timeout=3)

    @staticmethod
    def _step(incident, step):
        checklist = incident.checklists.get(step.runbook_id)
        return checklist.step(step.step_id) if checklist else None
