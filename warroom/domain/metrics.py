"""Incident metrics: per incident (time to acknowledge, declare, mitigate, resolve, duration)
and across incidents (counts, MTTA and MTTR by severity). Pure: the time is passed in.

All "time to X" figures are measured from detection (the earliest thing known about the
incident, usually the backdated alert), which is how MTTA/MTTR are usually defined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean

from warroom.domain.models import Incident, Milestone, Severity, Status


@dataclass(frozen=True)
class IncidentMetrics:
    time_to_acknowledge: float | None
    time_to_declare: float | None
    time_to_mitigate: float | None
    time_to_resolve: float | None
    duration: float
    """Seconds from detection to resolution (or to now while active): the one definition of
    an incident's duration, ``Incident.elapsed_seconds``. Equals ``time_to_resolve`` once
    resolved."""


def _between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def incident_metrics(incident: Incident, now: datetime) -> IncidentMetrics:
    m = incident.milestones
    detected = m.get(Milestone.DETECTED)
    return IncidentMetrics(
        time_to_acknowledge=_between(detected, m.get(Milestone.ACKNOWLEDGED)),
        time_to_declare=_between(detected, m.get(Milestone.DECLARED)),
        time_to_mitigate=_between(detected, m.get(Milestone.MITIGATED)),
        time_to_resolve=_between(detected, m.get(Milestone.RESOLVED)),
        duration=incident.elapsed_seconds(now),
    )


@dataclass
class SeverityFigures:
    count: int = 0
    active: int = 0
    mtta: float | None = None
    """Mean time to acknowledge, seconds, over incidents with an acknowledged milestone."""
    mttr: float | None = None
    """Mean time to resolve, seconds, over resolved incidents."""


@dataclass
class Report:
    since: datetime | None
    until: datetime | None
    total: int = 0
    by_status: dict[Status, int] = field(default_factory=dict)
    by_severity: dict[Severity, SeverityFigures] = field(default_factory=dict)


def report(incidents: list[Incident], now: datetime, since: datetime | None = None, until: datetime | None = None) -> Report:
    """Incidents declared in [since, until) grouped by SEV and status, with MTTA and MTTR."""
    chosen = [
        i
        for i in incidents
        if i.declared_at is not None
        and (since is None or i.declared_at >= since)
        and (until is None or i.declared_at < until)
    ]
    result = Report(since=since, until=until, total=len(chosen))
    for status in Status:
        result.by_status[status] = sum(1 for i in chosen if i.status is status)
    for severity in Severity:
        group = [i for i in chosen if i.severity is severity]
        metrics = [incident_metrics(i, now) for i in group]
        acks = [m.time_to_acknowledge for m in metrics if m.time_to_acknowledge is not None]
        resolves = [m.time_to_resolve for m in metrics if m.time_to_resolve is not None]
        result.by_severity[severity] = SeverityFigures(
            count=len(group),
            active=sum(1 for i in group if i.is_active),
            mtta=mean(acks) if acks else None,
            mttr=mean(resolves) if resolves else None,
        )
    return result
