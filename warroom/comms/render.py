"""Fill a template from the incident's live state."""

from __future__ import annotations

from datetime import datetime

from warroom.domain.cadence import cadence, update_interval
from warroom.domain.ids import short_id
from warroom.domain.models import (
    ActionStatus,
    COMMS_LEAD,
    CORE_ROLES,
    INCIDENT_COMMANDER,
    SCRIBE,
    TECH_LEAD,
    EntryKind,
    HUMAN_ENTRY_KINDS,
    Incident,
    Milestone,
    format_duration,
)
from warroom.domain.text import safe
from warroom.comms.templates import Template, fill
from warroom.domain.records import Verdict


def _hhmm(at: datetime | None) -> str:
    return f"{at:%H:%M} UTC" if at else "—"


def _bullets(lines: list[str], empty: str) -> str:
    return "\n".join(f"- {line}" for line in lines) if lines else f"- {empty}"


def _entries(incident: Incident, kinds: set[EntryKind], count: int) -> list[str]:
    chosen = [e for e in incident.timeline if e.kind in kinds and not e.redacted]
    return [f"{e.at:%H:%M} {e.text}" for e in chosen[-count:]]


def _conditions(incident: Incident, now: datetime) -> list[str]:
    """Where things stand (Tactical CAN report): status, impact, components, the latest notes
    and the current hypotheses."""
    duration = format_duration(incident.elapsed_seconds(now))
    lines = [f"Status: {incident.status.value} ({incident.severity.value}, {duration} since detection)"]
    lines.append(f"Impact: {incident.impact or '(impact not yet assessed)'}")
    if incident.components:
        lines.append("Status page: " + "; ".join(f"{name}: {state.value}" for name, state in incident.components.items()))
    lines += _entries(incident, {EntryKind.NOTE}, 3)
    # Ruled-out hypotheses are not conditions any more; a confirmed one says so.
    verdicts = {entry_id: judged.verdict for entry_id, judged in incident.verdicts.items()}
    hypotheses = [
        e for e in incident.timeline
        if e.kind is EntryKind.HYPOTHESIS and not e.redacted and verdicts.get(e.id) is not Verdict.RULED_OUT
    ]  # fmt: skip
    lines += [
        f"{'Confirmed' if verdicts.get(e.id) is Verdict.CONFIRMED else 'Hypothesis'} ({e.at:%H:%M}): {e.text}"
        for e in hypotheses[-2:]
    ]
    return lines


def _needs(incident: Incident) -> list[str]:
    """What the team still needs (Tactical CAN report): open todos not yet promoted, and open
    action items with their owner."""
    promoted = {item.from_entry for item in incident.action_items.values() if item.from_entry}
    todos = [
        f"{e.text} (todo, {e.actor})"
        for e in incident.timeline
        if e.kind is EntryKind.TODO and not e.redacted and e.id not in promoted
    ]
    items = []
    for item in incident.action_items.values():
        if item.status is ActionStatus.DONE:
            continue
        details = [f"owner: {item.owner}" if item.owner else "no owner yet"]
        if item.due:
            details.append(f"due {item.due:%Y-%m-%d}")
        items.append(f"{item.text} ({', '.join(details)})")
    return todos + items


def placeholder_values(incident: Incident, now: datetime, cadence_overrides: dict[str, int] | None = None) -> dict[str, str]:
    """Every placeholder's value for this incident at ``now``."""
    roles = {role: incident.roles.get(role) for role in CORE_ROLES}
    roles.update({r: p for r, p in incident.roles.items() if r not in roles})
    # The start of the duration (detection), so "started 14:31, for 41m" adds up.
    started = incident.milestones.get(Milestone.DETECTED, incident.declared_at)
    timing = cadence(incident, now, cadence_overrides)
    interval = update_interval(incident.severity, cadence_overrides)
    return {
        "title": incident.title,
        "severity": incident.severity.value,
        "severity_label": incident.severity.info.label,
        "status": incident.status.value,
        "status_upper": incident.status.value.upper(),
        "summary": incident.summary or "(no summary yet)",
        "impact": incident.impact or "(impact not yet assessed)",
        "incident_id": short_id(incident.id),
        "declared_at": _hhmm(incident.declared_at),
        "declared_date": f"{incident.declared_at:%Y-%m-%d}" if incident.declared_at else "—",
        "started_at": _hhmm(started),
        "duration": format_duration(incident.elapsed_seconds(now)),
        "now": _hhmm(now),
        "resolved_at": _hhmm(incident.resolved_at) if incident.resolved_at else "not yet",
        "ic": roles.get(INCIDENT_COMMANDER) or "unassigned",
        "tech_lead": roles.get(TECH_LEAD) or "unassigned",
        "comms_lead": roles.get(COMMS_LEAD) or "unassigned",
        "scribe": roles.get(SCRIBE) or "unassigned",
        "roles": _bullets([f"{role}: {person}" for role, person in roles.items() if person], "no roles assigned"),
        "latest_decisions": _bullets(_entries(incident, {EntryKind.DECISION}, 3), "no decisions yet"),
        "latest_actions": _bullets(_entries(incident, {EntryKind.ACTION}, 3), "no actions yet"),
        "latest_updates": _bullets(_entries(incident, set(HUMAN_ENTRY_KINDS) - {EntryKind.TODO}, 5), "nothing logged yet"),
        "open_todos": _bullets(_entries(incident, {EntryKind.TODO}, 10), "none"),
        "components": _bullets([f"{name}: {state.value}" for name, state in incident.components.items()], "none listed"),
        # This draft is the update: once it goes out the cadence restarts, so the next one is
        # due an interval from now, never at a time already past (an overdue update).
        "next_update": _hhmm(now + interval) if interval and not timing.paused else "when there is news",
        "update_every": f"{int(interval.total_seconds() // 60)} minutes" if interval else "as needed",
        "conditions": _bullets(_conditions(incident, now), "nothing known yet"),
        "needs": _bullets(_needs(incident), "nothing requested"),
    }


def render(template: Template, incident: Incident, now: datetime, cadence_overrides: dict[str, int] | None = None) -> str:
    """The template filled from live state; never a terminal control character in it (the
    text goes to a terminal, a clipboard and other people's chat windows)."""
    return safe(fill(template.body, placeholder_values(incident, now, cadence_overrides)))
