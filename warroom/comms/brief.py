"""The situation brief: "where are we?" answered from live state, in plain text.

For whoever joins late, takes over as IC, or is asked for a summary: severity and status and
for how long, impact, who holds which role, hypotheses still open and those settled,
decisions, the latest actions, open todos, checklist progress with the next step, the last
update sent and when the next is due, and the status-page components that are not
operational.

A pure function of the folded incident and the time: the same state and ``now`` give the
same text, byte for byte. Lines are at most ``width`` terminal cells (80 by default) so the
brief can be pasted into a chat or read on a small terminal; a typical incident fits 24
lines, a long one scrolls. Text people typed is neutralised (no control characters) so the
brief is safe to print and to copy.
"""

from __future__ import annotations

import textwrap
import unicodedata
from datetime import datetime

from warroom.domain.cadence import cadence
from warroom.domain.ids import short_id
from warroom.domain.models import (
    COMMS_LEAD,
    CORE_ROLES,
    INCIDENT_COMMANDER,
    SCRIBE,
    TECH_LEAD,
    ActionStatus,
    ComponentState,
    EntryKind,
    Incident,
    TimelineEntry,
    format_duration,
)
from warroom.domain.records import Verdict

WIDTH = 80
DECISIONS_SHOWN = 3
ACTIONS_SHOWN = 3
TODOS_SHOWN = 4
RULED_OUT_SHOWN = 3

_ROLE_LABELS = {INCIDENT_COMMANDER: "IC", TECH_LEAD: "Tech Lead", COMMS_LEAD: "Comms", SCRIBE: "Scribe"}
_VERDICT_MARKS = {Verdict.OPEN: "?", Verdict.CONFIRMED: "✓", Verdict.RULED_OUT: "✗"}
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def situation_brief(
    incident: Incident,
    now: datetime,
    *,
    cadence_overrides: dict[str, int] | None = None,
    width: int = WIDTH,
) -> str:
    """The brief for ``incident`` as of ``now``; lines at most ``width`` cells."""
    brief = _Brief(incident, now, width)
    brief.header()
    brief.hypotheses()
    brief.decisions()
    brief.actions()
    brief.todos()
    brief.checklists()
    brief.comms(cadence_overrides)
    return "\n".join(brief.lines) + "\n"


class _Brief:
    def __init__(self, incident: Incident, now: datetime, width: int) -> None:
        self.incident = incident
        self.now = now
        self.width = max(40, width)
        self.lines: list[str] = []
        # Within one UTC day (most incidents) item times are HH:MM; otherwise they carry the date.
        self._one_day = len({e.at.date() for e in incident.timeline}) <= 1

    # --- helpers -------------------------------------------------------------------------

    def add(self, text: str, indent: int = 0) -> None:
        self.lines.append(fit(" " * indent + clean(text), self.width))

    def wrap(self, label: str, text: str, max_lines: int = 2) -> None:
        """``label text`` wrapped under itself, at most ``max_lines`` lines."""
        body = clean(text)
        wrapped = textwrap.wrap(body, width=self.width - len(label), break_long_words=True) or [""]
        if len(wrapped) > max_lines:
            wrapped = wrapped[:max_lines]
            wrapped[-1] = wrapped[-1][: self.width - len(label) - 1] + "…"
        self.lines.append(fit(label + wrapped[0], self.width))
        self.lines += [fit(" " * len(label) + line, self.width) for line in wrapped[1:]]

    def section(self, title: str, total: int | None = None, shown: int | None = None) -> None:
        more = f" (latest {shown} of {total})" if total is not None and shown is not None and total > shown else ""
        self.lines.append(title + more)

    def when(self, at: datetime | None) -> str:
        if at is None:
            return "—"
        return f"{at:%H:%M}" if self._one_day else f"{at:%m-%d %H:%M}"

    def when_utc(self, at: datetime | None) -> str:
        if at is None:
            return "—"
        return f"{at:%H:%M} UTC" if at.date() == self.now.date() else f"{at:%Y-%m-%d %H:%M} UTC"

    def entries(self, kind: EntryKind) -> list[TimelineEntry]:
        return [e for e in self.incident.timeline if e.kind is kind and not e.redacted]

    # --- sections ------------------------------------------------------------------------

    def header(self) -> None:
        incident = self.incident
        self.wrap(f"{incident.severity.value} {incident.severity.info.label} · ", incident.title)
        elapsed = format_duration(incident.elapsed_seconds(self.now))
        if incident.is_active:
            since = incident.status_since or incident.declared_at
            held = format_duration((self.now - since).total_seconds()) if since else "—"
            self.add(
                f"{incident.status.value.capitalize()} for {held} (since {self.when_utc(since)}) · "
                f"{elapsed} since detection"
            )
        else:
            self.add(f"Resolved {self.when_utc(incident.resolved_at)}, {elapsed} after detection")
        self.add(f"Situation brief · #{short_id(incident.id)} · as of {self.now:%Y-%m-%d %H:%M} UTC")
        self.wrap("Impact: ", incident.impact or "(not yet assessed)")
        self.add("Roles: " + self.roles())
        broken = [(name, state) for name, state in incident.components.items() if state is not ComponentState.OPERATIONAL]
        if broken:
            self.wrap("Not operational: ", "; ".join(f"{name} ({state.value})" for name, state in broken))
        else:
            self.add("Not operational: none listed")

    def roles(self) -> str:
        roles = self.incident.roles
        parts = []
        for role in CORE_ROLES:
            parts.append(f"{_ROLE_LABELS[role]} {roles.get(role) or '—'}")
        parts += [f"{role} {person or '—'}" for role, person in roles.items() if role not in CORE_ROLES]
        return " · ".join(parts)

    def hypotheses(self) -> None:
        board: dict[Verdict, list[tuple[TimelineEntry, str]]] = {v: [] for v in Verdict}
        for entry in self.entries(EntryKind.HYPOTHESIS):
            judged = self.incident.verdicts.get(entry.id)
            if judged is None or judged.verdict is Verdict.OPEN:
                board[Verdict.OPEN].append((entry, f"({entry.actor} {self.when(entry.at)})"))
            else:
                why = f": {judged.reason}" if judged.reason else ""
                board[judged.verdict].append((entry, f"— {judged.verdict.value} by {judged.actor} {self.when(judged.at)}{why}"))
        ruled_out = board[Verdict.RULED_OUT]
        total = sum(len(items) for items in board.values())
        if not total:
            self.lines.append("Hypotheses: none logged yet (/hypothesis in the scribe box)")
            return
        self.section(f"Hypotheses: {len(board[Verdict.OPEN])} open, {len(board[Verdict.CONFIRMED])} confirmed, {len(ruled_out)} ruled out")
        shown_out = ruled_out[-RULED_OUT_SHOWN:]
        for verdict, items in ((Verdict.CONFIRMED, board[Verdict.CONFIRMED]), (Verdict.OPEN, board[Verdict.OPEN]), (Verdict.RULED_OUT, shown_out)):
            for entry, note in items:
                self.item(f"{_VERDICT_MARKS[verdict]} ", entry.text, note)
        if len(ruled_out) > len(shown_out):
            self.add(f"(and {len(ruled_out) - len(shown_out)} more ruled out)", 2)

    def item(self, mark: str, text: str, note: str) -> None:
        """``  ✓ text — note`` on one line when it fits, else the note on its own line."""
        one_line = f"  {mark}{clean(text)} {note}"
        if cell_width(one_line) <= self.width:
            self.lines.append(one_line)
            return
        self.add(f"{mark}{text}", 2)
        self.add(note, 4)

    def decisions(self) -> None:
        decisions = self.entries(EntryKind.DECISION)
        if not decisions:
            self.lines.append("Decisions: none yet")
            return
        shown = decisions[-DECISIONS_SHOWN:]
        self.section("Decisions", len(decisions), len(shown))
        for entry in shown:
            self.add(f"{self.when(entry.at)} {entry.actor}: {entry.text}", 2)

    def actions(self) -> None:
        actions = self.entries(EntryKind.ACTION)
        in_progress = [i for i in self.incident.action_items.values() if i.status is ActionStatus.IN_PROGRESS]
        if not actions and not in_progress:
            self.lines.append("Actions: none logged yet")
            return
        shown = actions[-ACTIONS_SHOWN:]
        self.section("Actions", len(actions), len(shown))
        for entry in shown:
            text = entry.text.splitlines()[0] if entry.text else ""
            self.add(f"{self.when(entry.at)} {entry.actor}: {text}", 2)
        for item in in_progress:
            self.add(f"in progress, {item.owner or 'no owner'}: {item.text}", 2)

    def todos(self) -> None:
        promoted = {item.from_entry for item in self.incident.action_items.values() if item.from_entry}
        todos = [e for e in self.entries(EntryKind.TODO) if e.id not in promoted]
        if not todos:
            self.lines.append("Open todos: none")
            return
        self.lines.append(f"Open todos: {len(todos)}")
        for entry in todos[:TODOS_SHOWN]:
            self.add(f"{entry.actor}: {entry.text}", 2)
        if len(todos) > TODOS_SHOWN:
            self.add(f"(and {len(todos) - TODOS_SHOWN} more)", 2)

    def checklists(self) -> None:
        checklists = list(self.incident.checklists.values())
        if not checklists:
            self.lines.append("Checklists: none attached")
            return
        self.lines.append("Checklists")
        finished = []
        for checklist in checklists:
            done, total = checklist.progress
            step = checklist.next_open()
            if step is None:
                finished.append(f"{checklist.title} {done}/{total}")
                continue
            self.add(f"{done}/{total} {checklist.title} → next: {step.text}", 2)
        if finished:
            self.add("done: " + " · ".join(finished), 2)

    def comms(self, overrides: dict[str, int] | None) -> None:
        incident = self.incident
        if incident.sent_updates:
            last = incident.sent_updates[-1]
            via = f", via {last.destination}" if last.destination else ""
            sent = f"Last update: {self.when_utc(last.at)} to {last.channel.value} ({last.actor}{via})"
        else:
            sent = "Last update: none sent yet"
        timing = cadence(incident, self.now, overrides)
        if timing.paused:
            due = "no update due" + (" (resolved)" if not incident.is_active else "")
        elif timing.overdue:
            due = f"next update OVERDUE by {format_duration(-timing.remaining_seconds)} (was due {self.when_utc(timing.due_at)})"
        else:
            due = f"next due {self.when_utc(timing.due_at)} (in {format_duration(timing.remaining_seconds)})"
        together = f"{sent} · {due}"
        if cell_width(together) <= self.width:
            self.lines.append(together)
        else:
            self.add(sent)
            self.add(due[0].upper() + due[1:])


# --- plain-text safety and width ------------------------------------------------------------


def clean(text: str) -> str:
    """One line of text people typed, safe to print: whitespace and control characters
    become spaces, bidirectional overrides are dropped."""
    out = []
    for ch in text:
        if ch in _BIDI_CONTROLS:
            continue
        out.append(" " if unicodedata.category(ch) == "Cc" else ch)
    return " ".join("".join(out).split())


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal cells, with … when cut."""
    if cell_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"
