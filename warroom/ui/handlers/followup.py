"""After the fire: action items, milestones and metrics, postmortem sections and export."""

from __future__ import annotations

from warroom.domain.ids import short_id
from warroom.ui.widgets.timeline import TimelineView


class FollowUpHandlers:
    """Mixed into ``WarRoomApp``."""

    def _incident_getter(self, incident_id: str):
        return lambda: self.desk.get(incident_id)

    def action_action_items(self) -> None:
        incident = self.require_incident()
        if incident is not None:
            from warroom.ui.screens.followup import ActionItemsScreen

            self.push_screen(ActionItemsScreen(self._incident_getter(incident.id), lambda edit, done, failed=None: self._save_action_item(incident.id, edit, done, failed)))

    def _save_action_item(self, incident_id: str, edit, done, failed=None) -> None:
        fields = dict(owner=edit.owner, due=edit.due, priority=edit.priority, type=edit.type, ticket=edit.ticket)
        if edit.item_id is None:
            self.apply(lambda: self.desk.add_action_item(incident_id, edit.text, **fields), done=done, failed=failed)
            return
        self.apply(
            lambda: self.desk.update_action_item(
                incident_id,
                edit.item_id,
                text=edit.text,
                status=edit.status,
                clear_owner=edit.clear_owner or None,
                clear_due=edit.clear_due or None,
                clear_ticket=edit.clear_ticket or None,
                **fields,
            ),
            done=done,
            failed=failed,
        )

    def action_metrics(self) -> None:
        incident = self.require_incident()
        if incident is None:
            return
        from warroom.ui.screens.followup import MetricsScreen

        incident_id = incident.id
        self.push_screen(
            MetricsScreen(
                self._incident_getter(incident_id),
                lambda: self.desk.metrics(incident_id),
                self.desk.report,
                # HH:MM is read in the zone the timeline shows; a refusal keeps the prompt open.
                lambda milestone, text, done, refused=None: self.apply(
                    lambda: self.desk.set_milestone(incident_id, milestone, text, self.display_zone()), done=done, failed=refused
                ),
            )
        )

    def action_postmortem(self) -> None:
        incident = self.require_incident()
        if incident is None:
            return
        from warroom.ui.screens.followup import PostmortemScreen

        incident_id = incident.id

        def save_section(section: str, text: str) -> None:
            self.apply(lambda: self.desk.set_postmortem_section(incident_id, section, text), done=lambda: self.notify("Section saved.", timeout=2))

        self.push_screen(PostmortemScreen(self._incident_getter(incident_id), save_section))

    def action_export_markdown(self, filtered: bool = False, timeline: str = "all") -> None:
        from warroom.ui.screens.pickers import TextPrompt

        incident = self.require_incident()
        if incident is None:
            return
        timeline_filter = self.query_one(TimelineView).filter if filtered else None

        def chosen(path: str | None) -> None:
            if path:
                self.write_file_in_worker(
                    path,
                    lambda: self.desk.postmortem(incident.id, timeline_filter=timeline_filter, timeline=timeline),
                    saying="Postmortem draft written to",
                )

        prompt = TextPrompt(
            "Export the postmortem draft (Markdown)",
            value=f"postmortem-{short_id(incident.id)}.md",
            hint="Path to write (replaced if it exists) · Enter exports",
        )
        self.push_screen(prompt, chosen)

    def action_rename_incident(self) -> None:
        from warroom.ui.screens.pickers import TextPrompt

        incident = self.require_incident()
        if incident is None:
            return

        def renamed(title: str | None) -> None:
            if title is not None:
                self.apply(lambda: self.desk.update(incident.id, title=title))

        self.push_screen(TextPrompt("Rename the incident", value=incident.title, hint="Logged as a title change · Enter renames", max_length=200), renamed)
