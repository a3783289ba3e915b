"""From what the scribe typed (or pasted) to the event it logs, with the question to ask first.

Pure: the clock comes with the event factory and the zone is passed in. Front ends (the TUI's
scribe box, ``warroom log``) call :func:`prepare_entry` when the line is entered, so the
entry's time is the moment Enter was pressed, whatever happens to the write afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from warroom.domain import commands
from warroom.domain.commands import EventFactory
from warroom.domain.events import TEXT_MAX, Event
from warroom.domain.models import Incident
from warroom.domain.scribe import UTC, ScribeLine, backdate_question, parse_scribe_line

_LINE_BREAK = re.compile(r"\r\n|\r|\n|\u2028|\u2029")


@dataclass(frozen=True)
class PreparedEntry:
    """A typed line turned into its event; ``question`` is set when it must be confirmed."""

    event: Event
    line: ScribeLine
    question: str | None = None
    """Why a person should confirm before it is logged (a backdated time on another day or
    more than 12 hours back); None when it can be written at once."""


def prepare_entry(
    factory: EventFactory,
    incident: Incident,
    text: str,
    zone: tzinfo = UTC,
    *,
    when: datetime | None = None,
) -> PreparedEntry:
    """Parse ``text`` (``HH:MM`` read in ``zone``) and build its event. ``when`` dates a line
    without a time of its own (a line retried after a failed write keeps the moment it was
    first entered). Raises ScribeError or DomainError with a sentence to show."""
    now = factory.clock.now()
    line = parse_scribe_line(text, now, zone)
    question = backdate_question(line.clock_time, line.at, now, zone) if line.clock_time and line.at else None
    at = line.at if line.at is not None else when
    event = commands.log_entry(factory, incident, line.text, line.kind, at)
    return PreparedEntry(event=event, line=line, question=question)


def paste_lines(text: str) -> list[str]:
    """The lines of a paste worth logging, in order: every kind of line break ends a line,
    blank lines are dropped, surrounding spaces trimmed."""
    return [line.strip() for line in _LINE_BREAK.split(text) if line.strip()]


def is_multi_line(text: str) -> bool:
    return len(paste_lines(text)) > 1


def split_long(text: str, limit: int = TEXT_MAX) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, in order, at line breaks or
    spaces where possible (a word longer than ``limit`` is cut where it must be). Nothing is
    dropped but the whitespace at the cuts."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces
