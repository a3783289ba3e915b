"""Who may do what: the rules the sync server enforces, here so clients apply them first.

Only the current Incident Commander (or an admin) may resolve an incident, hand over the IC
role, or set the resolved or mitigated milestone by hand (that says the incident is over as
surely as resolving it); anyone in the incident may do everything else. The server refuses such an event from
anyone else; a client that knows the rule says so *before* it writes anything, so nobody sees
a change the server will take back. Pure functions over the folded state.
"""

from __future__ import annotations

from warroom.domain.events import Event
from warroom.domain.models import INCIDENT_COMMANDER, Incident, Milestone, Status, canonical_role

_IC_MILESTONES = {Milestone.RESOLVED.value, Milestone.MITIGATED.value}


def commander_only_action(event: Event) -> str | None:
    """What the event does that only the IC may do, in words; None if anyone may."""
    if event.kind == "incident.updated" and event.payload.get("status") == Status.RESOLVED.value:
        return "resolve the incident"
    if event.kind == "role.assigned" and names_commander(event.payload.get("role")):
        return "assign the Incident Commander role"
    if event.kind == "milestone.set" and event.payload.get("milestone") in _IC_MILESTONES:
        return f"set the {event.payload['milestone']} milestone"
    return None


def names_commander(role: object) -> bool:
    """True for the IC role under any spelling people would read as it ("ic", "IC",
    "commander", "Incident  Commander"...). The fold keys roles by exact name, so an alias
    does not move the real IC, but it would put e.g. "IC: mallory" in everyone's roster."""
    if not isinstance(role, str):
        return False
    try:
        return canonical_role(role) == INCIDENT_COMMANDER
    except ValueError:
        return False


def commander_refusal(commander: str | None, who: str | None, action: str) -> str | None:
    """The refusal for ``who`` doing a commander-only ``action``, or None when allowed (they
    are the IC, or the incident has none)."""
    if commander and who != commander:
        return (
            f"only the incident commander ({commander}) or an admin may {action}; "
            f"ask {commander} to do it or to hand the role to you"
        )
    return None


def refusal(incident: Incident, actor: str, events: list[Event], *, admin: bool = False) -> str | None:
    """Why ``actor`` may not record ``events`` on ``incident`` (as the server would say), or
    None. Admins may do anything."""
    if admin:
        return None
    for event in events:
        action = commander_only_action(event)
        if action is not None:
            reason = commander_refusal(incident.commander, actor, action)
            if reason is not None:
                return reason
    return None
