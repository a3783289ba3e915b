"""A blameless postmortem in GitHub-flavoured Markdown, from an incident's folded state.

The document follows the usual postmortem template: title, date, duration, severity,
authors, reviewers and roles, summary, impact, trigger, detection, response and recovery,
the timeline (a Mermaid chart of the SEV and status phases and milestones, then the table),
root cause, contributing factors, what went well and poorly, where we got lucky, action
items (with their ticket or link), lessons learned, metrics and milestones. A section the
team has not written yet is kept, with its prompt in italics, so the export is a draft to edit
rather than a page to write. Pure: the time is passed in and nothing is read or written.

Duration has one definition, stated in the document: from detection (the earliest moment
known) to resolution, or to the export while the incident is still active.

What comes from where
---------------------
* Postmortem sections (``incident.postmortem``) are Markdown the team wrote: they are copied
  as they are.
* Everything else (titles, timeline text, names, impact, action items) is plain text typed
  during the incident and is escaped so it renders as typed, see ``escape_inline``.

Timeline
--------
With ``timeline="all"`` every entry is exported, automatic ones (status changes, roles,
checklist ticks…) included; ``timeline="key"`` keeps what people wrote plus the declaration,
SEV, status, title and role changes and milestones (``KEY_ENTRY_KINDS``). Oldest first, in
UTC (plus a local-time column when ``local_tz`` is given). An amended entry
shows its final text followed by *(amended)*; a redacted entry is a row reading *[redacted]*
(``redacted="mark"``) or is left out (``redacted="omit"``). The redaction reason is never
exported.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import Literal

from warroom.domain.ids import short_id
from warroom.domain.metrics import IncidentMetrics, incident_metrics
from warroom.domain.models import (
    CORE_ROLES,
    KEY_ENTRY_KINDS,
    POSTMORTEM_CREDITS,
    POSTMORTEM_HEADINGS,
    POSTMORTEM_SECTIONS,
    EntryKind,
    Incident,
    Milestone,
    TimelineEntry,
    format_duration,
)
from warroom.export.escape import escape_cell, escape_heading, escape_inline, escape_paragraph, markdown_cell
from warroom.export.mermaid import gantt_lines

RedactedMode = Literal["mark", "omit"]
REDACTED_MODES: tuple[str, ...] = ("mark", "omit")
TimelineMode = Literal["all", "key"]
TIMELINE_MODES: tuple[str, ...] = ("all", "key")
DURATION_DEFINITION = (
    "Duration is measured from detection (the earliest moment known: the first timeline entry, "
    "or the detected milestone when set by hand) to resolution, or to this export while the "
    "incident is still active; every time to acknowledge, declare, mitigate and resolve is "
    "measured from detection too."
)

IMPACT_PROMPT = "Who was affected, how badly, and for how long."
ACTION_ITEMS_PROMPT = (
    "No action items yet. What would find this sooner (detective), stop it happening again "
    "(preventative) or repair the damage (corrective)? Give each an owner and a due date."
)
REDACTED_MARK = "_[redacted]_"
AMENDED_MARK = " _(amended)_"
NONE = "—"


# --- the document -----------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Rows of already-escaped cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _prompt(text: str) -> str:
    return f"_{escape_inline(text)}_"


def _utc(at: datetime | None) -> str:
    return f"{at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC" if at else NONE


def _zone_label(zone: tzinfo, now: datetime) -> str:
    key = getattr(zone, "key", None)
    return key or zone.tzname(now) or "local"


def _spans_days(first: datetime, last: datetime, zone: tzinfo) -> bool:
    return first.astimezone(zone).date() != last.astimezone(zone).date()


def _utc_time(at: datetime, with_date: bool) -> str:
    """``HH:MM:SS`` (or ``YYYY-MM-DD HH:MM:SS``) of a UTC time; a few times faster than
    ``strftime``, which matters for a 100,000-entry timeline."""
    clock = str(at.time())[:8]
    return f"{at.date()} {clock}" if with_date else clock


def _local_time(at: datetime, zone: tzinfo, with_date: bool) -> str:
    local = at.astimezone(zone)
    text = f"{local:%Y-%m-%d %H:%M:%S}" if with_date else f"{local:%H:%M:%S}"
    name = local.tzname()
    return f"{text} {name}" if name else text


def _section_text(incident: Incident, key: str) -> str | None:
    text = incident.postmortem.get(key, "").strip()
    return text or None


def _responders(incident: Incident) -> list[str]:
    """Everyone who appears on the timeline or holds a role, in order of first appearance."""
    seen: dict[str, None] = {}
    for entry in incident.timeline:
        seen.setdefault(entry.actor, None)
    for person in incident.roles.values():
        if person:
            seen.setdefault(person, None)
    return list(seen)


def _role_rows(incident: Incident) -> list[list[str]]:
    earlier: dict[str, list[str]] = {}
    for change in incident.role_history:
        if change.old and change.old != change.new:
            people = earlier.setdefault(change.role, [])
            if change.old not in people:
                people.append(change.old)
    order = [r for r in CORE_ROLES if r in incident.roles] + [r for r in incident.roles if r not in CORE_ROLES]
    rows = []
    for role in order:
        person = incident.roles.get(role)
        before = [p for p in earlier.get(role, []) if p != person]
        rows.append(
            [
                escape_cell(role),
                escape_cell(person) if person else "_unassigned_",
                escape_cell(", ".join(before)) if before else "",
            ]
        )
    return rows


def _entry_text(entry: TimelineEntry) -> str:
    if entry.redacted:
        return REDACTED_MARK
    text = markdown_cell(entry.text) if entry.markdown else escape_cell(entry.text)
    return text + AMENDED_MARK if entry.amended else text


_KIND_TEXT = {kind: kind.value for kind in EntryKind}


def _timeline_lines(
    incident: Incident, redacted: RedactedMode, local_tz: tzinfo | None, now: datetime, mode: TimelineMode = "all"
) -> list[str]:
    """The timeline table. Entry times are UTC (the fold keeps them so) and sorted."""
    entries = [
        e for e in incident.timeline
        if not (e.redacted and redacted == "omit") and (mode == "all" or e.kind in KEY_ENTRY_KINDS)
    ]
    lines: list[str] = []
    if mode == "key":
        left_out = sum(1 for e in incident.timeline if e.kind not in KEY_ENTRY_KINDS)
        lines += [
            f"Key entries only: what people wrote, the declaration, SEV, status, title and role "
            f"changes and milestones; {left_out} other automatic entr{'y is' if left_out == 1 else 'ies are'} "
            f"left out (checklist ticks, comms, action items and the like).",
            "",
        ]
    if not entries:
        return lines + [_prompt("Nothing was logged on the timeline.")]
    first, last = entries[0].at, entries[-1].at
    utc_dates = _spans_days(first, last, timezone.utc)
    header = ["Time (UTC)", "Who", "Kind", "Event"]
    if local_tz is not None:
        header.insert(1, f"Time ({escape_cell(_zone_label(local_tz, now))})")
        local_dates = _spans_days(first, last, local_tz)
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    # The hot loop of a 100,000-entry export: names escaped once per person, no per-row lists.
    actors: dict[str, str] = {}
    kinds = _KIND_TEXT
    append = lines.append
    for e in entries:
        actor = actors.get(e.actor)
        if actor is None:
            actor = actors[e.actor] = escape_cell(e.actor)
        text = _entry_text(e)
        if local_tz is None:
            append(f"| {_utc_time(e.at, utc_dates)} | {actor} | {kinds[e.kind]} | {text} |")
        else:
            append(
                f"| {_utc_time(e.at, utc_dates)} | {_local_time(e.at, local_tz, local_dates)} | {actor} | "
                f"{kinds[e.kind]} | {text} |"
            )
    return lines


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _command_output_lines(incident: Incident, redacted: RedactedMode) -> list[str]:
    """Each command run from a runbook step, with its whole output (the attachment)."""
    lines: list[str] = []
    for run in incident.command_runs.values():
        entry = incident.entry(run.id)
        hidden = entry is not None and entry.redacted
        if hidden and redacted == "omit":
            continue
        lines += ["", f"### {run.started_at:%Y-%m-%d %H:%M:%S} UTC, {escape_inline(run.actor)}: {run.describe_result()}", ""]
        if hidden:
            lines.append(REDACTED_MARK)
            continue
        origin = f"{escape_inline(run.source or run.runbook_id)}, attached by {escape_inline(run.attached_by or '?')}"
        lines.append(f"`{short_id(run.id)}` · from {origin} · output {run.describe_size()}")
        if run.truncated:
            kept = f"; the whole output is at {escape_inline(run.full_output_at)}" if run.full_output_at else ""
            lines.append(f"(head and tail only{kept}; sha256 {run.output_sha256})")
        command, output = _printable(run.command), _printable(run.output).rstrip("\n")
        fence = _fence(command)
        lines += ["", f"{fence}sh", command, fence]
        fence = _fence(output)
        lines += ["", f"{fence}text", output, fence]
    return lines


def _printable(text: str) -> str:
    """No control characters but newlines and tabs, whatever an event carried."""
    return "".join(ch for ch in text if ch in "\n\t" or not (ch < " " or "\x7f" <= ch <= "\x9f"))


_LINK = re.compile(r"^https?://[^\s<>()\[\]`|]+$")


def _ticket(ticket: str | None) -> str:
    """A link stays a link (angle brackets: GitHub links it whatever it holds); a ticket key
    is plain text."""
    if not ticket:
        return NONE
    if _LINK.match(ticket):
        return f"<{ticket}>"
    return escape_cell(ticket)


def _action_item_lines(incident: Incident) -> list[str]:
    lines: list[str] = []
    if incident.action_items:
        rows = [
            [
                escape_cell(item.text),
                escape_cell(item.owner) if item.owner else "_unassigned_",
                item.due.isoformat() if item.due else NONE,
                item.priority.value,
                item.status.value,
                item.type.value,
                _ticket(item.ticket),
            ]
            for item in incident.action_items.values()
        ]
        lines += _table(["Action", "Owner", "Due", "Priority", "Status", "Type", "Ticket"], rows)
    else:
        lines.append(_prompt(ACTION_ITEMS_PROMPT))
    promoted = {item.from_entry for item in incident.action_items.values() if item.from_entry}
    todos = [
        e
        for e in incident.timeline
        if e.kind is EntryKind.TODO and e.id not in promoted and not e.redacted
    ]
    if todos:
        lines += ["", "Todos from the timeline that are not action items yet:", ""]
        lines += [
            f"- {markdown_cell(e.text) if e.markdown else escape_paragraph(e.text)} "
            f"({escape_inline(e.actor)}, {e.at.date()} {str(e.at.time())[:5]} UTC)"
            for e in todos
        ]
    return lines


def _duration_text(incident: Incident, metrics: IncidentMetrics) -> str:
    seconds = metrics.duration
    if incident.declared_at is None:
        return NONE
    if incident.is_active:
        return f"{format_duration(seconds)} so far"
    return format_duration(seconds)


def _metrics_lines(incident: Incident, metrics: IncidentMetrics, detected: datetime | None) -> list[str]:

    def value(seconds: float | None) -> str:
        return format_duration(seconds) if seconds is not None else NONE

    rows = [
        ["Time to acknowledge", value(metrics.time_to_acknowledge)],
        ["Time to declare", value(metrics.time_to_declare)],
        ["Time to mitigate", value(metrics.time_to_mitigate)],
        ["Duration (time to resolve)", _duration_text(incident, metrics)],
    ]
    lines = _table(["Metric", "Value"], rows)
    lines += [
        "",
        f"Detected at {_utc(detected)}. {DURATION_DEFINITION} {NONE} means the milestone has "
        f"not been reached or recorded.",
    ]
    return lines


def _milestone_lines(
    incident: Incident, known: dict[Milestone, datetime], local_tz: tzinfo | None, now: datetime
) -> list[str]:
    header = ["Milestone", "Time (UTC)"]
    if local_tz is not None:
        header.append(f"Time ({escape_cell(_zone_label(local_tz, now))})")
    header.append("Source")
    rows = []
    for milestone in Milestone:
        at = known.get(milestone)
        row = [milestone.value, f"{at:%Y-%m-%d %H:%M:%S}" if at else NONE]
        if local_tz is not None:
            row.append(f"{at.astimezone(local_tz):%Y-%m-%d %H:%M:%S %Z}".strip() if at else NONE)
        if at is None:
            row.append("not recorded")
        else:
            row.append("set by hand" if milestone in incident.milestones_set else "automatic")
        rows.append(row)
    return _table(header, rows)


def _names(incident: Incident, key: str) -> str:
    names = [" ".join(n.split()) for n in incident.postmortem.get(key, "").replace("\n", ",").split(",")]
    names = [n for n in names if n]
    return ", ".join(escape_inline(n) for n in names) if names else _prompt(POSTMORTEM_CREDITS[key])


def _section(incident: Incident, key: str) -> list[str]:
    text = _section_text(incident, key)
    return ["", f"## {POSTMORTEM_HEADINGS[key]}", "", text if text is not None else _prompt(POSTMORTEM_SECTIONS[key])]


def to_markdown(
    incident: Incident,
    now: datetime,
    *,
    redacted: RedactedMode = "mark",
    local_tz: tzinfo | None = None,
    timeline: TimelineMode = "all",
) -> str:
    """The incident as a blameless postmortem draft in GitHub Markdown (ends with a newline).

    ``redacted``: ``"mark"`` keeps a redacted entry's row reading *[redacted]*, ``"omit"``
    leaves the row out. ``local_tz`` adds a local-time column to the timeline and milestones.
    ``timeline``: ``"all"`` entries, or the ``"key"`` ones (see the module docstring).
    """
    if redacted not in REDACTED_MODES:
        raise ValueError(f"redacted must be one of {', '.join(REDACTED_MODES)}, not {redacted!r}")
    if timeline not in TIMELINE_MODES:
        raise ValueError(f"timeline must be one of {', '.join(TIMELINE_MODES)}, not {timeline!r}")
    milestones = incident.milestones  # each of these is a pass over the timeline: once only
    metrics = incident_metrics(incident, now)
    detected = milestones.get(Milestone.DETECTED)
    started = detected or incident.declared_at
    out: list[str] = [f"# Postmortem: {escape_heading(incident.title)}", ""]

    declared = _utc(incident.declared_at)
    if incident.declared_at and incident.declared_by:
        declared += f" by {escape_inline(incident.declared_by)}"
    facts = [
        ("Incident", f"`{short_id(incident.id)}` ({incident.id})"),
        ("Date", f"{started:%Y-%m-%d}" if started else NONE),
        ("Severity", f"{incident.severity.value} ({incident.severity.info.label})"),
        ("Status", incident.status.value if incident.resolved_at else f"{incident.status.value} (not resolved)"),
        ("Detected", _utc(detected)),
        ("Declared", declared),
        ("Resolved", _utc(incident.resolved_at) if incident.resolved_at else "not yet"),
        ("Duration", _duration_text(incident, metrics) + (" (since detection)" if incident.is_active else " (detection to resolution)")),
        ("Authors", _names(incident, "authors")),
        ("Reviewers", _names(incident, "reviewers")),
    ]
    if incident.incident_type:
        facts.insert(3, ("Type", escape_inline(incident.incident_type)))
    out += [f"- **{label}:** {value}" for label, value in facts]

    out += ["", "## Roles", ""]
    role_rows = _role_rows(incident)
    if role_rows:
        out += _table(["Role", "Person", "Earlier"], role_rows)
    else:
        out.append(_prompt("No roles were assigned."))
    responders = _responders(incident)
    if responders:
        out += ["", "Responders: " + ", ".join(escape_inline(p) for p in responders) + "."]

    out += ["", "## Summary", ""]
    summary = _section_text(incident, "summary")
    if summary is not None:
        out.append(summary)
    elif incident.summary.strip():
        out.append(escape_paragraph(incident.summary))
    else:
        out.append(_prompt(POSTMORTEM_SECTIONS["summary"]))

    out += ["", "## Impact", ""]
    out.append(escape_paragraph(incident.impact) if incident.impact.strip() else _prompt(IMPACT_PROMPT))
    if incident.components:
        out += ["", "Status-page components (last state):", ""]
        out += [f"- {escape_paragraph(name)}: {state.value}" for name, state in incident.components.items()]

    for key in ("trigger", "detection", "response", "recovery"):
        out += _section(incident, key)

    out += ["", "## Timeline", ""]
    chart = gantt_lines(incident, now)
    if chart:
        out += chart + [""]
    out += _timeline_lines(incident, redacted, local_tz, now, timeline)
    if incident.command_runs:
        out += ["", "## Command output"]
        out += _command_output_lines(incident, redacted)

    for key in ("root_cause", "contributing_factors", "went_well", "went_poorly", "got_lucky"):
        out += _section(incident, key)

    out += ["", "## Action items", ""]
    out += _action_item_lines(incident)

    out += _section(incident, "lessons_learned")

    out += ["", "## Metrics", ""]
    out += _metrics_lines(incident, metrics, detected)

    out += ["", "## Milestones", ""]
    out += _milestone_lines(incident, milestones, local_tz, now)

    out += ["", "---", "", f"_Exported from warroom on {now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC._", ""]
    return "\n".join(out)


__all__ = [
    "DURATION_DEFINITION",
    "REDACTED_MODES",
    "TIMELINE_MODES",
    "escape_cell",
    "escape_heading",
    "escape_inline",
    "escape_paragraph",
    "markdown_cell",
    "to_markdown",
]
