"""A blameless postmortem in GitHub-flavoured Markdown, from an incident's folded state.

The document follows the usual postmortem template: title, date, duration, severity,
authors and roles, summary, impact, timeline, root cause, contributing factors, what went
well and poorly, action items, lessons learned, metrics and milestones. A section the team
has not written yet is kept, with its prompt in italics, so the export is a draft to edit
rather than a page to write. Pure: the time is passed in and nothing is read or written.

What comes from where
---------------------
* Postmortem sections (``incident.postmortem``) are Markdown the team wrote: they are copied
  as they are.
* Everything else (titles, timeline text, names, impact, action items) is plain text typed
  during the incident and is escaped so it renders as typed, see ``escape_inline``.

Timeline
--------
Every entry is exported, automatic ones (status changes, roles, checklist ticks…) included,
oldest first, in UTC (plus a local-time column when ``local_tz`` is given). An amended entry
shows its final text followed by *(amended)*; a redacted entry is a row reading *[redacted]*
(``redacted="mark"``) or is left out (``redacted="omit"``). The redaction reason is never
exported.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import Literal

from warroom.domain.text import safe
from warroom.domain.ids import short_id
from warroom.domain.metrics import IncidentMetrics, incident_metrics
from warroom.domain.models import (
    CORE_ROLES,
    POSTMORTEM_SECTIONS,
    EntryKind,
    Incident,
    Milestone,
    TimelineEntry,
    format_duration,
)

RedactedMode = Literal["mark", "omit"]
REDACTED_MODES: tuple[str, ...] = ("mark", "omit")

IMPACT_PROMPT = "Who was affected, how badly, and for how long."
AUTHORS_PROMPT = "Who wrote this postmortem."
ACTION_ITEMS_PROMPT = (
    "No action items yet. What would find this sooner (detective), stop it happening again "
    "(preventative) or repair the damage (corrective)? Give each an owner and a due date."
)
REDACTED_MARK = "_[redacted]_"
AMENDED_MARK = " _(amended)_"
NONE = "—"

# --- escaping ---------------------------------------------------------------------------------
#
# Plain text must render as typed on GitHub, inside table cells and in paragraphs:
#
# * ``|`` becomes ``\|`` (it would end the table cell); CR/LF newlines become ``<br>`` (a newline
#   would end the table row or the paragraph);
# * backslashes are doubled, so a text ending in ``\`` or holding ``\|`` cannot eat the escape
#   that follows it;
# * characters that start inline formatting are backslash-escaped: `` ` `` (code spans),
#   ``*`` (emphasis), ``[`` and ``]`` (links, images, footnotes), ``<`` (raw HTML and
#   autolinks; GitHub would drop ``<Foo>``), ``~`` (strikethrough), ``$`` (GitHub math);
# * ``_`` is escaped only where it could open or close emphasis, i.e. unless it sits between
#   two letters or digits, so ``payment_error_rate`` stays readable;
# * ``&`` is written ``&amp;`` only where it would start an entity (``&copy;``, ``&#169;``);
# * in paragraphs and list items (not in cells), a leading ``# ``, ``>``, ``- ``, ``--``, ``+ ``
#   or ``1. ``, which would make a heading, quote, list or rule, is escaped too; in headings
#   every ``#`` is.
#
# Left as they are, on purpose: bare URLs (GitHub links them, which is wanted), ``@name``
# mentions, ``#123`` references and ``:emoji:`` codes (GitHub processes those after Markdown,
# so escaping cannot stop them).

_NEEDS_ESCAPE = re.compile(r"[\\`*_\[\]<|~$&\r\n]")
_TRANSLATE = str.maketrans(
    {
        "\\": "\\\\",
        "`": "\\`",
        "*": "\\*",
        "[": "\\[",
        "]": "\\]",
        "<": "\\<",
        "|": "\\|",
        "~": "\\~",
        "$": "\\$",
    }
)
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_NEWLINES = re.compile(r"\r\n|\r|\n")
# What would turn a paragraph's first characters into a heading, quote, list or rule.
_BLOCK_START = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+](?=\s|$)|-(?=-)|\d{1,9}(?=[.)](?:\s|$)))")


def escape_inline(text: str) -> str:
    """Plain text as GitHub Markdown that renders as typed, on one line (see above).
    Control characters and escapes come out as visible symbols: the file will be read in
    terminals and pasted into chats."""
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    text = safe(text.strip())
    if not _NEEDS_ESCAPE.search(text):
        return text
    text = text.translate(_TRANSLATE)
    if "_" in text:
        text = _UNDERSCORE.sub(r"\\_", text)
    if "&" in text:
        text = _ENTITY.sub("&amp;", text)
    if "\r" in text or "\n" in text:
        text = _NEWLINES.sub("<br>", text)
    return text


def escape_cell(text: str) -> str:
    """Text for a table cell: escaped inline text (a newline is ``<br>``, ``|`` is ``\\|``)."""
    return escape_inline(text)


def escape_paragraph(text: str) -> str:
    """Text for a paragraph of its own: inline escapes, plus a leading block marker."""
    text = escape_inline(text)
    match = _BLOCK_START.match(text)
    if match:
        if match.group(0).isdigit():  # "1. x" would start a numbered list
            end = match.end()
            text = text[:end] + "\\" + text[end:]
        else:
            text = "\\" + text
    return text


# Markdown written by people (an imported postmortem timeline) is kept as Markdown: only
# what would break the table row or smuggle raw HTML in is changed. A ``|`` not already
# escaped would end the cell, a newline the row; ``<tag`` becomes ``&lt;tag`` (autolinks such
# as ``<https://…>`` stay links).
_UNESCAPED_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])(?![A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>)")


def markdown_cell(text: str) -> str:
    """Markdown text for a table cell or list item: its formatting kept, on one line."""
    text = _UNESCAPED_PIPE.sub(r"\1\\|", text.strip())
    text = _HTML_START.sub("&lt;", text)
    return _NEWLINES.sub("<br>", text)


def escape_heading(text: str) -> str:
    return escape_inline(text).replace("#", "\\#")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Rows of already-escaped cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


# --- the document -----------------------------------------------------------------------------


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
    incident: Incident, redacted: RedactedMode, local_tz: tzinfo | None, now: datetime
) -> list[str]:
    """The timeline table. Entry times are UTC (the fold keeps them so) and sorted."""
    entries = [e for e in incident.timeline if not (e.redacted and redacted == "omit")]
    if not entries:
        return [_prompt("Nothing was logged on the timeline.")]
    first, last = entries[0].at, entries[-1].at
    utc_dates = _spans_days(first, last, timezone.utc)
    header = ["Time (UTC)", "Who", "Kind", "Event"]
    if local_tz is not None:
        header.insert(1, f"Time ({escape_cell(_zone_label(local_tz, now))})")
        local_dates = _spans_days(first, last, local_tz)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
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
            ]
            for item in incident.action_items.values()
        ]
        lines += _table(["Action", "Owner", "Due", "Priority", "Status", "Type"], rows)
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
    if incident.resolved_at is None:
        return f"{format_duration(seconds)} so far"
    return format_duration(seconds)


def _metrics_lines(incident: Incident, metrics: IncidentMetrics, detected: datetime | None) -> list[str]:

    def value(seconds: float | None) -> str:
        return format_duration(seconds) if seconds is not None else NONE

    rows = [
        ["Time to acknowledge", value(metrics.time_to_acknowledge)],
        ["Time to declare", value(metrics.time_to_declare)],
        ["Time to mitigate", value(metrics.time_to_mitigate)],
        ["Time to resolve", value(metrics.time_to_resolve)],
        ["Duration (declared to resolved)", _duration_text(incident, metrics)],
    ]
    lines = _table(["Metric", "Value"], rows)
    lines += [
        "",
        f"Times to acknowledge, declare, mitigate and resolve are measured from detection "
        f"({_utc(detected)}); {NONE} means the milestone has not been reached or recorded.",
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


def to_markdown(
    incident: Incident,
    now: datetime,
    *,
    redacted: RedactedMode = "mark",
    local_tz: tzinfo | None = None,
) -> str:
    """The incident as a blameless postmortem draft in GitHub Markdown (ends with a newline).

    ``redacted``: ``"mark"`` keeps a redacted entry's row reading *[redacted]*, ``"omit"``
    leaves the row out. ``local_tz`` adds a local-time column to the timeline and milestones.
    """
    if redacted not in REDACTED_MODES:
        raise ValueError(f"redacted must be one of {', '.join(REDACTED_MODES)}, not {redacted!r}")
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
        ("Duration", _duration_text(incident, metrics)),
        ("Authors", _prompt(AUTHORS_PROMPT)),
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

    out += ["", "## Timeline", ""]
    out += _timeline_lines(incident, redacted, local_tz, now)
    if incident.command_runs:
        out += ["", "## Command output"]
        out += _command_output_lines(incident, redacted)

    for key, heading in (
        ("root_cause", "Root cause"),
        ("contributing_factors", "Contributing factors"),
        ("went_well", "What went well"),
        ("went_poorly", "What went poorly"),
    ):
        out += ["", f"## {heading}", ""]
        text = _section_text(incident, key)
        out.append(text if text is not None else _prompt(POSTMORTEM_SECTIONS[key]))

    out += ["", "## Action items", ""]
    out += _action_item_lines(incident)

    out += ["", "## Lessons learned", ""]
    text = _section_text(incident, "lessons_learned")
    out.append(text if text is not None else _prompt(POSTMORTEM_SECTIONS["lessons_learned"]))

    out += ["", "## Metrics", ""]
    out += _metrics_lines(incident, metrics, detected)

    out += ["", "## Milestones", ""]
    out += _milestone_lines(incident, milestones, local_tz, now)

    out += ["", "---", "", f"_Exported from warroom on {now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC._", ""]
    return "\n".join(out)


__all__ = [
    "REDACTED_MODES",
    "escape_cell",
    "escape_heading",
    "escape_inline",
    "escape_paragraph",
    "markdown_cell",
    "to_markdown",
]
