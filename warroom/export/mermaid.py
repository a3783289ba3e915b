"""A Mermaid gantt chart of an incident: its SEV and status phases as bars and its milestones
as diamonds, for the postmortem (GitHub and most wikis draw it; the tables stay beside it for
places that do not).

Only words warroom itself chose reach the chart (severity and status names, milestone names);
the title is reduced to letters, digits and plain punctuation, so nothing typed during the
incident can break out of the diagram or its code fence. Pure: the time is passed in.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from warroom.domain.models import Incident, Milestone, Severity, Status

_UNSAFE = re.compile(r"[^\w .,()/+'-]+")
_TIME = "%Y-%m-%d %H:%M:%S"


def _safe(text: str) -> str:
    return " ".join(_UNSAFE.sub(" ", text).split())[:80] or "incident"


def _phases(initial: str, changes: list[tuple[datetime, str]], start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """(value, from, to) for each stretch of one value, in time order; empty stretches dropped."""
    phases: list[tuple[str, datetime, datetime]] = []
    value, since = initial, start
    for at, new in sorted(changes, key=lambda change: change[0]):
        at = min(max(at, start), end)
        if at > since:
            phases.append((value, since, at))
        value, since = new, at
    if end > since:
        phases.append((value, since, end))
    return phases


def _initial(incident: Incident, field: str, current: str) -> str:
    changes = [c for c in incident.state_changes if c.field == field]
    return min(changes, key=lambda c: c.at).old if changes else current


def gantt_lines(incident: Incident, now: datetime) -> list[str]:
    """The fenced ``mermaid`` block (without surrounding blank lines); empty when the incident
    has not been declared yet."""
    if incident.declared_at is None:
        return []
    milestones = incident.milestones
    start = incident.declared_at
    end = incident.resolved_at if not incident.is_active and incident.resolved_at else now
    first = min([start, *milestones.values()])
    last = max([end, *milestones.values()])
    if end <= start:
        end = start + timedelta(seconds=1)
    axis = "%H:%M" if first.date() == last.date() else "%m-%d %H:%M"
    lines = [
        "```mermaid",
        "gantt",
        f"    title {_safe(incident.title)} (UTC)",
        "    dateFormat YYYY-MM-DD HH:mm:ss",
        f"    axisFormat {axis}",
        "    todayMarker off",
    ]

    def stamp(at: datetime) -> str:
        return f"{at.astimezone(timezone.utc):{_TIME}}"

    severity_changes = [(c.at, c.new) for c in incident.state_changes if c.field == "severity"]
    lines.append("    section Severity")
    for value, since, until in _phases(_initial(incident, "severity", incident.severity.value), severity_changes, start, end):
        severity = Severity(value)
        tag = "crit, " if severity is Severity.SEV1 else ""
        lines.append(f"    {value} {severity.info.label} :{tag}{stamp(since)}, {stamp(until)}")

    status_changes = [(c.at, c.new) for c in incident.state_changes if c.field == "status"]
    lines.append("    section Status")
    for value, since, until in _phases(_initial(incident, "status", incident.status.value), status_changes, start, end):
        tag = "done, " if Status(value) is Status.RESOLVED else ""
        lines.append(f"    {value} :{tag}{stamp(since)}, {stamp(until)}")

    if milestones:
        lines.append("    section Milestones")
        for milestone in Milestone:
            if milestone in milestones:
                lines.append(f"    {milestone.value} :milestone, {stamp(milestones[milestone])}, 0m")
    lines.append("```")
    return lines


__all__ = ["gantt_lines"]
