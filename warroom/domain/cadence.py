"""The update cadence: when the next status update is due, and whether it is overdue.

Pure: the time is passed in. The interval comes from the severity (SEV1 every 15 minutes by
default, per common practice) or the user's configuration. The clock starts at the
declaration and restarts at every update marked as sent; it pauses while resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.domain.models import Incident, Severity


@dataclass(frozen=True)
class Cadence:
    """Where the incident stands against its update cadence."""

    due_at: datetime | None
    """When the next update is due; None when no cadence applies (paused, or no interval)."""
    remaining_seconds: float
    """Seconds until due (negative when overdue); 0 when paused."""
    paused: bool
    """True while resolved, or when the severity has no cadence."""

    @property
    def overdue(self) -> bool:
        return not self.paused and self.remaining_seconds < 0


def update_interval(severity: Severity, overrides: dict[str, int] | None = None) -> timedelta | None:
    minutes = (overrides or {}).get(severity.value, severity.info.update_every_minutes)
    return timedelta(minutes=minutes) if minutes else None


def overrides_for(incident: Incident, config_overrides: dict[str, int] | None, type_minutes: int | None) -> dict[str, int]:
    """The cadence overrides for one incident: its type's cadence (if set) beats the
    per-severity configuration."""
    merged = dict(config_overrides or {})
    if type_minutes is not None:
        merged[incident.severity.value] = type_minutes
    return merged


def cadence(incident: Incident, now: datetime, overrides: dict[str, int] | None = None) -> Cadence:
    interval = update_interval(incident.severity, overrides)
    start = incident.last_update_at or incident.declared_at
    if not incident.is_active or interval is None or start is None:
        return Cadence(due_at=None, remaining_seconds=0.0, paused=True)
    due = start + interval
    return Cadence(due_at=due, remaining_seconds=(due - now).total_seconds(), paused=False)


def _in_words(seconds: float) -> str:
    """``840`` → ``14m``; under a minute in seconds; an hour or more → ``1h 05m``."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def describe(timing: Cadence) -> str:
    """The cadence in words, the same in the header and the draft editor:
    ``update due 04:30Z (in 14m)`` or ``UPDATE OVERDUE 04:30Z (3m late)``; empty when paused.
    The due time is a clock time in UTC (``Z``), the part in brackets a countdown."""
    if timing.paused or timing.due_at is None:
        return ""
    due = f"{timing.due_at:%H:%M}Z"
    if timing.overdue:
        return f"UPDATE OVERDUE {due} ({_in_words(timing.remaining_seconds)} late)"
    return f"update due {due} (in {_in_words(timing.remaining_seconds)})"
