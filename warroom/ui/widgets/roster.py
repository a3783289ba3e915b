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


def abbreviate_role(role: str, room: int) -> str:
    """A role name in at most ``room`` cells: the short name people say for the core roles,
    initials for a long custom one (``Customer Support Liaison`` → ``CSL``), else cut with …."""
    if len(role) <= room:
        return role
    short = SHORT_ROLE_NAMES.get(role)
    if short and len(short) <= room:
        return short
    words = role.split()
    initials = "".join(word[0].upper() for word in words)
    if len(words) > 1 and len(initials) <= room:
        return initials
    return role[: max(1, room - 1)] + "…"


def role_labels(roles: list[str], longest_holder: int, width: int) -> dict[str, str]:
    """Role labels for a pane ``width`` cells wide: full names when they fit beside the longest
    holder's name, abbreviated when they do not. The holder's name always keeps its room."""
    room = max(3, width - longest_holder - 2)
    return {role: abbreviate_role(role, room) for role in roles}


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
        width = self.scrollable_content_region.width or self.size.width
        # Rebuilding the options costs a layout; most refreshes (a new entry) change no role.
        signature = (incident.id, tuple(incident.roles.items()), len(incident.role_history), width) if incident else None
        if signature == getattr(self, "_signature", ()) and self.option_count:
            return
        self._signature = signature
        highlighted = self.highlighted
        self.clear_options()
        if incident is None:
            return
        roles = list(CORE_ROLES) + [r for r in incident.roles if r not in CORE_ROLES]
        holders = {role: safe_name(incident.roles[role]) if incident.roles.get(role) else "— unassigned" for role in roles}
        labels = role_labels([safe_name(r) for r in roles], max(len(h) for h in holders.values()), width)
        column = max(len(label) for label in labels.values())
        for role in roles:
            person = incident.roles.get(role)
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append(f"{labels[safe_name(role)]:<{column}} ", style="bold" if person else "dim")
            label.append(holders[role], style="" if person else "dim italic")
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
