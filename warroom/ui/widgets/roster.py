"""The roster pane: who holds each role, and who held it before."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from warroom.domain.text import safe_name
from warroom.domain.models import CORE_ROLES, INCIDENT_COMMANDER, COMMS_LEAD, SCRIBE, TECH_LEAD, Incident

SHORT_ROLE_NAMES = {INCIDENT_COMMANDER: "IC", TECH_LEAD: "Tech", COMMS_LEAD: "Comms", SCRIBE: "Scribe"}


class RosterList(OptionList):
    """Roles and their holders; Enter (or ``a``) assigns or hands over the highlighted role.

    | Key | Action |
    | --- | --- |
    | enter | assign / hand over the highlighted role |
    | h | who held which role, when |
    """

    BINDINGS = [Binding("h", "history", "Role history", id="roster.history")]

    DEFAULT_CSS = """
    RosterList {
        height: auto;
        max-height: 12;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    class HistoryRequested(Message):
        """The user wants the full history of role changes."""

        def __init__(self, roster: RosterList) -> None:
            super().__init__()
            self.roster = roster

        @property
        def control(self) -> RosterList:
            return self.roster

    class AssignRequested(Message):
        """The user wants to (re)assign ``role``."""

        def __init__(self, roster: RosterList, role: str) -> None:
            super().__init__()
            self.roster = roster
            self.role = role

        @property
        def control(self) -> RosterList:
            return self.roster

    def show(self, incident: Incident | None) -> None:
        self._incident = incident
        # Rebuilding the options costs a layout; most refreshes (a new entry) change no role.
        signature = (incident.id, tuple(incident.roles.items()), len(incident.role_history), self.size.width < 44) if incident else None
        if signature == getattr(self, "_signature", ()) and self.option_count:
            return
        self._signature = signature
        highlighted = self.highlighted
        self.clear_options()
        if incident is None:
            return
        roles = list(CORE_ROLES) + [r for r in incident.roles if r not in CORE_ROLES]
        # Narrow panes (80x24) get the short names people say out loud: IC, Tech, Comms.
        short = self.size.width < 44
        labels = {r: safe_name(SHORT_ROLE_NAMES.get(r, r) if short else r) for r in roles}
        width = max(len(label) for label in labels.values())
        for role in roles:
            person = incident.roles.get(role)
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append(f"{labels[role]:<{width}} ", style="bold" if person else "dim")
            label.append(safe_name(person) if person else "— unassigned", style="" if person else "dim italic")
            previous = [c.old for c in incident.role_history if c.role == role and c.old]
            if previous:
                label.append(f"  (was {safe_name(previous[-1])})", style="dim")
            self.add_option(Option(label, id=role))
        if highlighted is not None and highlighted < self.option_count:
            self.highlighted = highlighted

    def action_history(self) -> None:
        self.post_message(self.HistoryRequested(self))

    def on_resize(self) -> None:
        self.show(getattr(self, "_incident", None))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.AssignRequested(self, event.option.id))
