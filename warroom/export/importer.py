"""Timeline import: notes typed during an incident become backdated timeline entries.

Accepted, one entry per line::

    14:32 - Alert fired                      (also 14:32 Alert fired, 14:32:05 …, 14:32 UTC …)
    2026-03-30 14:32 UTC Alert fired         (a date carries over to the bare times after it)
    2026-03-30T14:32:00Z Alert fired         (ISO 8601; an offset such as +02:00 is converted)
    /decision 14:40 roll back                (a /kind, as the scribe types it, before or after
    14:40 /decision roll back                 the time: /note /decision /action /hyp /todo…)

and Markdown tables whose header row has a time column (``Time``, ``Time (UTC)``, ``When``,
``Timestamp``…) and an event column (``Event``, ``What``, ``Description``, ``Text``,
``Entry``, ``Note``), matched case-insensitively. Optional columns: ``Kind`` (note, decision,
action, hypothesis, todo; empty means note) and ``Who`` (also ``Actor``, ``By``, ``Author``,
``Person``): imported entries are logged by the person importing, so a Who value is kept in
the text as ``who: text``. Other columns (a local-time column, for one) are ignored. Cells
are unescaped (``\\|`` and other backslash escapes, ``<br>`` for a newline), so warroom's own
Markdown export can be read back: its *(amended)* marks are dropped, and its automatic rows
(status, role…) and *[redacted]* rows are reported as errors.

Times without a date are on ``default_date``; a bare time more than 12 hours earlier than the
entry before it moves to the next day (notes that run past midnight). Times without an offset
are in ``tz`` (UTC unless given). Blank lines, lines starting with ``#`` (headings) and
Markdown rules (``---``) are skipped.

A line that cannot be read is an error naming its line number and why. ``build_events``
refuses to import anything while there are errors, unless asked to skip the bad lines.
Pure: the time is passed in; nothing is read or written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import NamedTuple

from pydantic import ValidationError

from warroom.domain import commands
from warroom.domain.commands import EventFactory
from warroom.domain.events import EntryLogged, Event, describe_validation_error
from warroom.domain.models import HUMAN_ENTRY_KINDS, EntryKind, Incident
from warroom.domain.scribe import FUTURE_SLACK, ScribeError, parse_scribe_line
from warroom.export.markdown import AMENDED_MARK, REDACTED_MARK


class NoteEntry(NamedTuple):
    at: datetime
    """UTC."""
    kind: EntryKind
    text: str
    line_no: int


class NoteError(NamedTuple):
    line_no: int
    line: str
    reason: str


@dataclass
class ImportResult:
    entries: list[NoteEntry] = field(default_factory=list)
    errors: list[NoteError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class NotesError(ValueError):
    """The notes have lines that cannot be read; nothing was imported."""

    def __init__(self, errors: list[NoteError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} line(s) cannot be read; nothing imported")


class _LineError(ValueError):
    pass


# --- times -------------------------------------------------------------------------------------

_SEPARATOR = r"(?:\s*[-–—:|]\s*|\s+|$)"
_TIME = r"(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d)(?:\.(?P<frac>\d{1,6})\d*)?)?"
# Case-sensitive on purpose: "14:32 z-index broke" is not a time in zone Z.
_ZONE = r"(?:\s*(?P<zone>UTC|utc|GMT|Z|[+-](?:0\d|1[0-4]):?[0-5]\d))?"
_DATED_RE = re.compile(rf"^(?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?:T|\s+){_TIME}{_ZONE}(?={_SEPARATOR})")
_BARE_RE = re.compile(rf"^{_TIME}{_ZONE}(?={_SEPARATOR})")
_LEADING_SEPARATOR = re.compile(r"^\s*(?:[-–—:|]\s*)?")
_KIND_TOKEN = re.compile(r"^/(?P<name>[A-Za-z]+)(?=\s|$)\s*")
_ROLLOVER = timedelta(hours=12)
_ANY_NOW = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _zone_of(text: str | None, default: tzinfo) -> tzinfo:
    if text is None:
        return default
    upper = text.upper()
    if upper in ("UTC", "GMT", "Z"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _clock_time(match: re.Match) -> time:
    frac = match.group("frac")
    micro = int(frac.ljust(6, "0")) if frac else 0
    return time(int(match.group("h")), int(match.group("m")), int(match.group("s") or 0), micro)


def _take_kind(text: str) -> tuple[EntryKind | None, str]:
    """A leading ``/kind`` token (validated by the scribe's own parser) and the rest."""
    match = _KIND_TOKEN.match(text)
    if not match:
        return None, text
    try:
        kind = parse_scribe_line(f"/{match.group('name')} x", _ANY_NOW).kind
    except ScribeError as exc:
        raise _LineError(str(exc)) from None
    return kind, text[match.end():]


class _Clock:
    """Turns the times of successive lines into UTC datetimes (date carry-over, midnight)."""

    def __init__(self, default_date: date, tz: tzinfo) -> None:
        self.day = default_date
        self.tz = tz
        self.last: datetime | None = None

    def take(self, text: str) -> tuple[datetime, str] | None:
        """The time at the start of ``text`` and what follows it; None if there is none."""
        match = _DATED_RE.match(text)
        if match:
            try:
                day = date.fromisoformat(match.group("date"))
            except ValueError:
                raise _LineError(f"{match.group('date')} is not a valid date") from None
            zone = _zone_of(match.group("zone"), self.tz)
            at = datetime.combine(day, _clock_time(match), zone)
            self.day = at.astimezone(self.tz).date()
        else:
            match = _BARE_RE.match(text)
            if not match:
                return None
            zone = _zone_of(match.group("zone"), self.tz)
            at = datetime.combine(self.day, _clock_time(match), zone)
            if self.last is not None and at < self.last - _ROLLOVER:
                self.day += timedelta(days=1)
                at += timedelta(days=1)
        at = at.astimezone(timezone.utc)
        self.last = at
        rest = _LEADING_SEPARATOR.sub("", text[match.end():], count=1)
        return at, rest


def _take_time(clock: _Clock, text: str) -> tuple[datetime, str] | None:
    try:
        return clock.take(text)
    except OverflowError:  # 0001-01-01 00:30 +01:00 is before the first representable UTC time
        raise _LineError("the time is out of range") from None


def _entry(at: datetime, kind: EntryKind, text: str, line_no: int, now: datetime) -> NoteEntry:
    text = text.strip()
    if not text:
        raise _LineError("no entry text after the time")
    if at > now + FUTURE_SLACK:
        raise _LineError(f"{at:%Y-%m-%d %H:%M} UTC is in the future (give the date of the notes)")
    try:
        payload = EntryLogged(entry_kind=kind, text=text)
    except ValidationError as exc:
        raise _LineError(describe_validation_error(exc)) from None
    return NoteEntry(at, kind, payload.text, line_no)


def _parse_line(line: str, line_no: int, clock: _Clock, now: datetime) -> NoteEntry:
    kind, rest = _take_kind(line.strip())
    taken = _take_time(clock, rest)
    if taken is None:
        raise _LineError(
            "no time at the start: use HH:MM, YYYY-MM-DD HH:MM [UTC] or ISO 8601 "
            "(2026-03-30T14:32:00Z), then the text"
        )
    at, rest = taken
    if kind is None:
        kind, rest = _take_kind(rest)
    return _entry(at, kind or EntryKind.NOTE, rest, line_no, now)


# --- Markdown tables ---------------------------------------------------------------------------

_RULE = re.compile(r"^(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")  # a Markdown rule: ---, ***, ___
_DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*$")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)

_TIME_HEADERS = ("time", "when", "timestamp", "date/time", "datetime", "date and time")
_EVENT_HEADERS = ("event", "events", "what", "what happened", "description", "text", "entry", "note", "notes", "details")
_WHO_HEADERS = ("who", "actor", "by", "author", "person")
_KIND_HEADERS = ("kind", "type")


def split_row(line: str) -> list[str]:
    """The cells of a Markdown table row (GFM rules: ``\\|`` does not split)."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    cells, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current.append(text[index:index + 2])
            index += 2
            continue
        if char == "|":
            cells.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    cells.append("".join(current))
    return [cell.strip() for cell in cells]


def unescape_cell(cell: str) -> str:
    """Undo Markdown escaping in a cell: ``<br>`` is a newline, ``\\x`` is ``x``."""
    return _UNESCAPE.sub(r"\1", _BR.sub("\n", cell)).strip()


def _header_name(cell: str) -> str:
    name = unescape_cell(cell).strip("*_ ").lower()
    return re.sub(r"\s*\(.*\)$", "", name).strip()  # "Time (UTC)" -> "time"


@dataclass
class _TableColumns:
    time: int
    event: int
    who: int | None
    kind: int | None
    width: int


def _table_columns(header: list[str]) -> _TableColumns | None:
    names = [_header_name(cell) for cell in header]

    def find(candidates: tuple[str, ...]) -> int | None:
        return next((i for i, name in enumerate(names) if name in candidates), None)

    time_col, event_col = find(_TIME_HEADERS), find(_EVENT_HEADERS)
    if time_col is None or event_col is None:
        return None
    return _TableColumns(time_col, event_col, find(_WHO_HEADERS), find(_KIND_HEADERS), len(header))


def _table_kind(cell: str) -> EntryKind:
    """A Kind cell: ``note``, ``decision``…, a scribe abbreviation (``hyp``) or ``/kind``."""
    name = unescape_cell(cell).strip("*_ ").lower().removeprefix("/")
    if not name:
        return EntryKind.NOTE
    try:
        kind: EntryKind | None = EntryKind(name)
    except ValueError:
        kind = None
    if kind is None and name.isalpha():
        try:
            kind = parse_scribe_line(f"/{name} x", _ANY_NOW).kind
        except ScribeError:
            kind = None
    if kind in HUMAN_ENTRY_KINDS:
        return kind
    names = ", ".join(sorted(k.value for k in HUMAN_ENTRY_KINDS))
    raise _LineError(f"kind {name!r} cannot be imported: use {names}")


def _parse_row(cells: list[str], columns: _TableColumns, line_no: int, clock: _Clock, now: datetime) -> NoteEntry:
    if len(cells) != columns.width:
        raise _LineError(f"{len(cells)} cells where the header has {columns.width}")
    time_text = unescape_cell(cells[columns.time]).strip("*_ ")
    taken = _take_time(clock, time_text)
    if taken is None or taken[1].strip():
        raise _LineError(f"cannot read the time {time_text!r}: use HH:MM, YYYY-MM-DD HH:MM or ISO 8601")
    at = taken[0]
    raw = cells[columns.event]
    if raw == REDACTED_MARK:
        raise _LineError("a redacted entry: there is no text to import")
    text = unescape_cell(raw.removesuffix(AMENDED_MARK))
    kind_cell = cells[columns.kind].strip() if columns.kind is not None else ""
    if kind_cell:
        kind = _table_kind(kind_cell)
    else:  # no Kind column, or an empty cell: the text may start with /kind
        found, text = _take_kind(text)
        kind = found or EntryKind.NOTE
    if columns.who is not None:
        who = unescape_cell(cells[columns.who])
        if who and text.strip():
            text = f"{who}: {text.strip()}"
    return _entry(at, kind, text, line_no, now)


# --- the whole file ----------------------------------------------------------------------------


def parse_notes(
    text: str,
    *,
    default_date: date,
    now: datetime,
    tz: tzinfo = timezone.utc,
) -> ImportResult:
    """Every entry the notes hold, and every line that could not be read (1-based numbers)."""
    result = ImportResult()
    clock = _Clock(default_date, tz)
    lines = text.splitlines()
    table: _TableColumns | str | None = None
    """The table being read: its columns, or why its rows cannot be read."""
    index = 0
    while index < len(lines):
        line_no, line = index + 1, lines[index]
        index += 1
        stripped = line.strip()
        if not stripped:
            table = None
            continue
        if table is not None and "|" in stripped:
            try:
                if isinstance(table, str):
                    raise _LineError(table)
                result.entries.append(_parse_row(split_row(stripped), table, line_no, clock, now))
            except _LineError as exc:
                result.errors.append(NoteError(line_no, line, str(exc)))
            continue
        table = None
        if stripped.startswith("#") or _RULE.match(stripped):
            continue
        header = split_row(stripped) if "|" in stripped else []
        if (
            header
            and index < len(lines)
            and _DELIMITER_ROW.match(lines[index])
            and len(split_row(lines[index])) == len(header)  # else not a table (GFM)
        ):
            columns = _table_columns(header)
            if columns is None:
                reason = "a table needs a Time column and an Event column"
                result.errors.append(NoteError(line_no, line, reason))
                table = "row of a table without Time and Event columns"
            else:
                table = columns
            index += 1  # the delimiter row
            continue
        try:
            result.entries.append(_parse_line(stripped, line_no, clock, now))
        except _LineError as exc:
            result.errors.append(NoteError(line_no, line, str(exc)))
    return result


def build_events(
    factory: EventFactory,
    incident: Incident,
    result: ImportResult,
    *,
    skip_bad: bool = False,
) -> tuple[list[Event], int]:
    """Backdated ``entry.logged`` events for the parsed entries, logged by ``factory``'s actor.

    Raises ``NotesError`` (nothing built) when some lines could not be read, unless
    ``skip_bad``. Entries already on the timeline (same time, kind and text) are skipped, so
    importing the same notes twice adds nothing. Returns the events and how many entries were
    skipped as duplicates."""
    if result.errors and not skip_bad:
        raise NotesError(result.errors)
    existing = {(e.at, e.kind, e.text) for e in incident.timeline if not e.redacted}
    events: list[Event] = []
    duplicates = 0
    for entry in result.entries:
        key = (entry.at, entry.kind, entry.text)
        if key in existing:
            duplicates += 1
            continue
        existing.add(key)
        events.append(commands.log_entry(factory, incident, entry.text, entry.kind, entry.at))
    return events, duplicates


__all__ = [
    "ImportResult",
    "NoteEntry",
    "NoteError",
    "NotesError",
    "build_events",
    "parse_notes",
    "split_row",
    "unescape_cell",
]
