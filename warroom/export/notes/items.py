"""What the import reads a timeline into: entries, non-entries, notices and errors, and the
timed lines, date and zone declarations between the two passes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from warroom.domain.models import EntryKind
from warroom.export.notes.when import Stamp, WrittenDate
from warroom.export.notes.zones import Zone


class NoteEntry(NamedTuple):
    at: datetime
    """UTC."""
    kind: EntryKind
    text: str
    line_no: int
    written: str = ""
    """The time as the notes wrote it (``6pm``)."""
    local: str = ""
    """The date and time it was read as, in its zone (``2017-01-31 18:00``)."""
    zone: str = "UTC"
    """The zone it was read in (``PST, UTC−08:00``)."""
    markdown: bool = False


class NoteError(NamedTuple):
    line_no: int
    line: str
    reason: str


class NonEntry(NamedTuple):
    """A line that is not an entry (a heading, prose, a declaration…) and why."""

    line_no: int
    line: str
    why: str


class Notice(NamedTuple):
    """A rule applied or a guess taken; shown before anything is imported."""

    line_no: int
    """0 for the whole file."""
    message: str



@dataclass
class Timed:
    """A line or row with a time, before its time is resolved."""

    line_no: int
    line: str
    stamp: Stamp
    kind: EntryKind | None
    text: str
    indent: int = 0
    list_item: bool = False
    heading: bool = False
    table_zone: Zone | None = None
    row_date: WrittenDate | None = None
    range_end: str = ""


@dataclass
class DateMark:
    line_no: int
    date: WrittenDate


@dataclass
class ZoneMark:
    line_no: int
    zone: Zone
