"""``warroom report``: incidents over a date range, as text (with a small bar chart) or JSON.

The figures come from ``warroom.domain.metrics.report``; this module only chooses the range
and lays them out. Pure: incidents and the time are passed in.

Dates are whole UTC days and both ends are included: ``since=2026-11-01, until=2026-11-30``
counts incidents declared from 2026-11-01 00:00 UTC up to (not including) 2026-12-01 00:00.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from warroom.domain.metrics import Report, report
from warroom.domain.models import Incident, Severity, Status, format_duration

NONE = "—"
BAR_WIDTH = 30


def day_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Inclusive UTC days → the half-open datetime range ``report`` takes."""
    if since is not None and until is not None and since > until:
        raise ValueError(f"--since {since} is after --until {until}")
    start = datetime.combine(since, time(0), timezone.utc) if since else None
    end = datetime.combine(until + timedelta(days=1), time(0), timezone.utc) if until else None
    return start, end


def build_report(incidents: list[Incident], now: datetime, since: date | None = None, until: date | None = None) -> Report:
    start, end = day_bounds(since, until)
    return report(incidents, now, start, end)


def _first_day(rep: Report) -> date | None:
    return rep.since.date() if rep.since else None


def _last_day(rep: Report) -> date | None:
    return (rep.until - timedelta(days=1)).date() if rep.until else None


def describe_range(rep: Report) -> str:
    first, last = _first_day(rep), _last_day(rep)
    if first and last:
        return f"declared {first} to {last} (UTC)"
    if first:
        return f"declared since {first} (UTC)"
    if last:
        return f"declared up to {last} (UTC)"
    return "declared at any time"


def _duration(seconds: float | None) -> str:
    return format_duration(seconds) if seconds is not None else NONE


def bar(count: int, largest: int, *, ascii: bool = False, width: int = BAR_WIDTH) -> str:
    """A bar proportional to ``count``; any non-zero count gets at least one block."""
    if count <= 0 or largest <= 0:
        return ""
    return ("#" if ascii else "█") * max(1, math.ceil(width * count / largest))


def format_report(rep: Report, *, ascii: bool = False) -> str:
    """The report as text: totals, a table by SEV (count, active, MTTA, MTTR), counts by
    status, and a bar chart of incidents per SEV."""
    lines = [f"Incidents {describe_range(rep)}: {rep.total}", ""]
    header = f"{'Severity':<10}{'Count':>6}{'Active':>8}  {'MTTA':<12}{'MTTR':<12}"
    lines += [header.rstrip(), ("-" if ascii else "─") * len(header.rstrip())]
    for severity in Severity:
        figures = rep.by_severity[severity]
        row = f"{severity.value:<10}{figures.count:>6}{figures.active:>8}  {_duration(figures.mtta):<12}{_duration(figures.mttr):<12}"
        lines.append(row.rstrip())
    lines += ["", f"{'Status':<15}{'Count':>6}", ("-" if ascii else "─") * 21]
    for status in Status:
        lines.append(f"{status.value:<15}{rep.by_status[status]:>6}")
    lines += ["", "Incidents per severity"]
    largest = max((rep.by_severity[s].count for s in Severity), default=0)
    for severity in Severity:
        count = rep.by_severity[severity].count
        lines.append(f"{severity.value} {bar(count, largest, ascii=ascii)} {count}".replace("  ", " "))
    lines += [
        "",
        "MTTA: mean time from detection to acknowledgement, over incidents with an acknowledged milestone.",
        "MTTR: mean time from detection to resolution, over resolved incidents.",
    ]
    return "\n".join(lines) + "\n"


def report_dict(rep: Report) -> dict[str, Any]:
    """The report as JSON-ready data (seconds as numbers, None where there is no figure)."""
    first, last = _first_day(rep), _last_day(rep)
    return {
        "since": first.isoformat() if first else None,
        "until": last.isoformat() if last else None,
        "total": rep.total,
        "by_status": {status.value: rep.by_status[status] for status in Status},
        "by_severity": {
            severity.value: {
                "count": rep.by_severity[severity].count,
                "active": rep.by_severity[severity].active,
                "mtta_seconds": rep.by_severity[severity].mtta,
                "mttr_seconds": rep.by_severity[severity].mttr,
            }
            for severity in Severity
        },
    }


__all__ = ["bar", "build_report", "day_bounds", "describe_range", "format_report", "report_dict"]
