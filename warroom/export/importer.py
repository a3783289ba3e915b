"""Timeline import: a timeline as people write it becomes backdated timeline entries.

What is read (see ``warroom.export.notes`` for the details of each part):

* one entry per line, the time first: ``14:32 - Alert fired``, ``* 14:51 …``, ``1. 14:32 …``,
  ``- 11:16 ::::: …``, ``**14:32** …``, ``[14:32] …``, ``8:00 AM …``, ``6pm UTC …``,
  ``11pm-ish …``, ``At 2017/01/31 6pm UTC, we …``, ``Update 6:14pm UTC: …``,
  ``2026-03-30T14:32:00Z …``, ``22:52 UTC, 21st Oct | …``; a ``/kind`` (as the scribe types
  it) before or after the time; lines indented under an entry (or a list item's lazy
  continuation, or the paragraphs under a ``### 14:32 …`` heading) continue its text;
* Markdown tables with a time column and an event column, whatever their exact names
  (``warroom.export.notes.tables``), one entry per row;
* declarations for the lines after them: a zone (``All times in UTC.``, ``## Timeline (PST)``,
  ``(all times are in UTC):``) and a date (a line that is only a date, such as
  ``2015-10-21 _(all times UTC)_``, or a date-only table cell);
* everything else (headings, intro and prose lines with no time) is not an entry and not an
  error: it is listed in the preview as such.

Rules, so that nothing is silently wrong (each one applied is a ``Notice`` in the preview):

* zone: the one written on the line; else ``tz`` when given (the person importing has the last
  word); else the table header's; else the nearest declaration above (or, failing that, the
  first below); else UTC, said once;
* date: the one written on the line or row; else the last date seen; else ``default_date``;
  else today (yesterday when today's would put the first entry in the future), said once. A
  date without a year takes the last year seen, else that of ``default_date`` or today;
* 12-hour times: in a file where any time has am/pm, a time of 1-12 without one (and without
  a leading zero: ``09:15`` is a 24-hour time) takes the reading that follows the entry before
  it most closely (the first entry: the am/pm of the next entry that has one);
* a time without a date more than 12 hours before the entry above it is on the next day;
  one less than that earlier stays as written (the timeline sorts by time), with a notice;
* ``11pm-ish``, ``around 14:30``: the text starts with ``(approx.)``;
* an abbreviation is read as the offset it names (PST is UTC−08:00), with a notice when its
  region's clocks said otherwise on that date (PST on a July day).

A line that cannot be read (``14:61``, an unknown ``/kind``, a time with no text, a time in
the future) is an error naming its line; ``build_events`` refuses to import anything while
there are errors, unless asked to skip them. Text is kept as written: Markdown stays
Markdown (entries are marked so, and the export keeps their formatting), HTML entities are
decoded. Pure: the time is passed in; nothing is read or written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo

from pydantic import ValidationError

from warroom.domain import commands
from warroom.domain.commands import EventFactory
from warroom.domain.events import EntryLogged, Event, describe_validation_error
from warroom.domain.models import HUMAN_ENTRY_KINDS, EntryKind, Incident
from warroom.domain.scribe import ScribeError, parse_scribe_line
from warroom.export.markdown import AMENDED_MARK, REDACTED_MARK
from warroom.export.notes.clean import (
    bare,
    decode,
    find_stamp,
    finish,
    markdown_cell_text,
    plain_cell,
    take_apart,
)
from warroom.export.notes.items import DateMark, NonEntry, NoteEntry, NoteError, Notice, Timed, ZoneMark
from warroom.export.notes.resolve import Resolver
from warroom.export.notes.tables import DELIMITER_ROW, Columns, read_header, split_row
from warroom.export.notes.when import TIME_LIKE, WrittenDate, scan
from warroom.export.notes.zones import declared_zone


@dataclass
class ImportResult:
    entries: list[NoteEntry] = field(default_factory=list)
    errors: list[NoteError] = field(default_factory=list)
    skipped: list[NonEntry] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    markdown: bool = False
    """The text was read as Markdown (kept as Markdown) rather than plain text."""

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


class _NotAnEntry(ValueError):
    pass


_DATE_LABEL = re.compile(r"^[*_\s]*(?:incident\s+)?(?:date|day)[*_\s]*:[*_\s]*", re.IGNORECASE)
_KIND_TOKEN = re.compile(r"^/(?P<name>[A-Za-z]+)(?=\s|$)\s*")
_ANY_NOW = datetime(2000, 1, 1, tzinfo=timezone.utc)
_PLACEHOLDER = re.compile(r"[-–—?:.xX_*\s]*|tbd|tba|n/?a|unknown|\?+", re.IGNORECASE)
_MARKDOWN_HINTS = re.compile(r"^\s{0,3}(?:#{1,6}\s|[-*+]\s|\d{1,3}[.)]\s|\|)|\*\*|__|`|\]\(", re.MULTILINE)


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


def _table_kind(cell: str) -> EntryKind | None:
    """A Kind cell: ``note``, ``decision``…, a scribe abbreviation (``hyp``) or ``/kind``;
    None for a word that is not one (a ``Type`` column saying ``Deploy``)."""
    name = plain_cell(cell).strip("*_ ").lower().removeprefix("/")
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
    if kind is not None and kind not in HUMAN_ENTRY_KINDS:
        raise _NotAnEntry(f"an automatic {kind.value!r} row: warroom writes these itself")
    return kind


class _Reader:
    """The first pass: every line becomes a timed item, a declaration, a non-entry or an error."""

    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown
        self.items: list[Timed | DateMark | ZoneMark] = []
        self.result = ImportResult(markdown=markdown)
        self.last: Timed | None = None
        self.blank_since_last = False

    def skip(self, line_no: int, line: str, why: str) -> None:
        self.result.skipped.append(NonEntry(line_no, line, why))

    def error(self, line_no: int, line: str, reason: str) -> None:
        self.result.errors.append(NoteError(line_no, line, reason))

    def read(self, lines: list[str]) -> None:
        table: Columns | str | None = None
        index = 0
        while index < len(lines):
            line_no, line = index + 1, lines[index]
            index += 1
            stripped = line.strip()
            if not stripped:
                table = None
                self.blank_since_last = True
                continue
            if table is not None and "|" in stripped:
                self.row(line_no, line, table)
                continue
            table = None
            if (
                "|" in stripped
                and index < len(lines)
                and DELIMITER_ROW.match(lines[index])
                and len(split_row(lines[index])) == len(split_row(stripped))  # else not a table (GFM)
            ):
                index += 1
                table = self.header(line_no, line)
                continue
            self.line(line_no, line)

    def header(self, line_no: int, line: str) -> Columns | str:
        self.last = None
        columns = read_header(split_row(line.strip()))
        if columns is None:
            self.skip(line_no, line, "a table with no time or date column: not a timeline")
            return "a row of a table with no time or date column"
        zone = f", times in {columns.zone.describe()}" if columns.zone else ""
        event = columns.names[columns.event] or f"column {columns.event + 1}"
        self.skip(line_no, line, f"table header: time from {columns.names[columns.time]!r}{zone}, text from {event!r}")
        for remark in columns.remarks:
            self.result.notices.append(Notice(line_no, remark))
        return columns

    def line(self, line_no: int, raw: str) -> None:
        parts = take_apart(raw)
        if parts.rule:
            return
        try:
            kind, rest = _take_kind(parts.text)
            found = find_stamp(rest)
            if found and found[0].hour is not None:
                stamp, after = found
                if kind is None:
                    kind, after = _take_kind(after)
                after, range_end = _range_end(after)
                self.last = Timed(line_no, raw, stamp, kind, after, parts.indent, parts.list_item, parts.heading, range_end=range_end)
                self.items.append(self.last)
                self.blank_since_last = False
                return
        except _LineError as exc:
            self.error(line_no, raw, str(exc))
            return
        zone = declared_zone(decode(raw))
        if found is None and (label := _DATE_LABEL.match(rest)):  # "**Date:** 2024-03-12"
            found = find_stamp(rest[label.end():])
            found = found if found and found[0].hour is None else None
        if found is not None:  # a date without a time
            self.items.append(DateMark(line_no, found[0].date))
            why = f"sets the date {_date_text(found[0].date)} for the lines below"
            if zone is not None:
                self.items.append(ZoneMark(line_no, zone))
                why += f" and the zone {zone.describe()}"
            elif finish(found[1]):
                why += "; its text has no time, so it is not an entry"
            self.skip(line_no, raw, why)
            self.last = None
            return
        if self.continues(parts):
            assert self.last is not None
            # Markdown: a line of the same paragraph is a space, a new paragraph or item a newline.
            joint = "\n" if parts.list_item or self.blank_since_last else " "
            addition = ("- " if parts.list_item else "") + parts.text
            self.last.text = f"{self.last.text}{joint}{addition}" if self.last.text.strip() else addition
            self.blank_since_last = False
            self.skip(line_no, raw, f"continues the entry of line {self.last.line_no}")
            return
        self.last = None
        if zone is not None:
            self.items.append(ZoneMark(line_no, zone))
            self.skip(line_no, raw, f"declares the zone {zone.describe()} for the lines below")
        elif TIME_LIKE.match(rest):
            token = rest.split()[0]
            self.error(
                line_no, raw,
                f"cannot read the time {token!r}: use HH:MM (24-hour), H:MM am/pm, "
                "YYYY-MM-DD HH:MM [zone] or ISO 8601 (2026-03-30T14:32:00Z), then the text",
            )  # fmt: skip
        else:
            self.skip(line_no, raw, "heading" if parts.heading else "prose (no time)")

    def continues(self, parts) -> bool:
        last = self.last
        if last is None or parts.heading:
            return False
        if last.heading:  # the paragraphs under "### 14:32 …" are its text
            return True
        if self.blank_since_last:
            return False
        if parts.indent > last.indent:
            return True
        return last.list_item and not parts.list_item  # a list item's lazy continuation

    def row(self, line_no: int, line: str, table: Columns | str) -> None:
        self.last = None
        if isinstance(table, str):
            self.skip(line_no, line, table)
            return
        cells = split_row(line.strip())
        if len(cells) < table.width:
            cells += [""] * (table.width - len(cells))
        elif len(cells) > table.width:
            if table.event != table.width - 1:
                self.error(line_no, line, f"{len(cells)} cells where the header has {table.width}")
                return
            self.result.notices.append(Notice(
                line_no, f"{len(cells)} cells where the header has {table.width}: the extra cells are "
                "kept in the event text, joined by '|'",
            ))  # fmt: skip
            cells = cells[: table.width - 1] + [" \\| ".join(cells[table.width - 1:])]
        try:
            self.read_row(line_no, line, cells, table)
        except _LineError as exc:
            self.error(line_no, line, str(exc))
        except _NotAnEntry as exc:
            self.skip(line_no, line, str(exc))

    def read_row(self, line_no: int, line: str, cells: list[str], table: Columns) -> None:
        raw_event = cells[table.event]
        if raw_event == REDACTED_MARK:
            raise _NotAnEntry("a redacted entry: there is no text to import")
        cell_text = markdown_cell_text if self.markdown else plain_cell
        text = cell_text(raw_event.removesuffix(AMENDED_MARK))
        for index in table.extra:
            value = cell_text(cells[index])
            if value:
                text += f" ({table.names[index] or f'column {index + 1}'}: {value})"
        row_date = None
        if table.date is not None and (date_text := bare(cells[table.date])):
            stamp = scan(date_text)
            if stamp is None or stamp.date is None or stamp.hour is not None or stamp.end < len(date_text):
                raise _LineError(f"cannot read the date {date_text!r}")
            row_date = stamp.date
        time_text = bare(cells[table.time])
        if _PLACEHOLDER.fullmatch(time_text):
            if row_date is not None:
                self.items.append(DateMark(line_no, row_date))
            shown = f" ({time_text})" if time_text else ""
            raise _NotAnEntry(f"no time given{shown}, so it is not an entry")
        stamp = scan(time_text)
        rest, range_end = _range_end(time_text[stamp.end:]) if stamp else ("", "")
        if stamp is None or rest.strip():
            raise _LineError(
                f"cannot read the time {time_text!r}: use HH:MM, H:MM am/pm, YYYY-MM-DD HH:MM or ISO 8601"
            )
        if stamp.hour is None:
            self.items.append(DateMark(line_no, stamp.date))
            raise _NotAnEntry(
                f"a date without a time: sets the date {_date_text(stamp.date)} for the rows below"
                + ("; its text is not an entry" if text else "")
            )
        kind = None
        if table.kind is not None and cells[table.kind].strip():
            kind = _table_kind(cells[table.kind])
            if kind is None:
                text += f" ({table.names[table.kind]}: {plain_cell(cells[table.kind])})"
        if kind is None:
            kind, text = _take_kind(text)
        if table.who is not None:
            who = plain_cell(cells[table.who])
            if who and text.strip():
                text = f"{who}: {text.strip()}"
        self.items.append(Timed(line_no, line, stamp, kind, text, table_zone=table.zone, row_date=row_date, range_end=range_end))


def _range_end(text: str) -> tuple[str, str]:
    """``14:40 text`` after ``14:32 -``: a time range; the end time and the text after it."""
    if not text[:1].isdigit():
        return text, ""
    stamp = scan(text)
    if stamp is None or stamp.hour is None or stamp.date is not None:
        return text, ""
    return text[stamp.end:], stamp.written


def _date_text(written: WrittenDate) -> str:
    year = f"{written.year}-" if written.year else ""
    return f"{year}{written.month:02d}-{written.day:02d}"


def looks_like_markdown(text: str) -> bool:
    return bool(_MARKDOWN_HINTS.search(text))


def parse_notes(
    text: str,
    *,
    now: datetime,
    default_date: date | None = None,
    tz: tzinfo | None = None,
    markdown: bool | None = None,
) -> ImportResult:
    """Every entry the notes hold, every line that is not one, every line that could not be
    read (1-based numbers) and every rule applied on the way.

    ``default_date``: the date of times given without one (None: today, said in a notice).
    ``tz``: the zone of times given without one (None: the file's declarations, else UTC).
    ``markdown``: keep the text as Markdown (None: when the text looks like Markdown)."""
    if markdown is None:
        markdown = looks_like_markdown(text)
    reader = _Reader(markdown)
    reader.read(text.splitlines())
    result = reader.result
    for item in reader.items:
        if isinstance(item, Timed) and not finish(item.text):
            result.errors.append(NoteError(item.line_no, item.line, "no entry text after the time"))
    timed = [i for i in reader.items if not (isinstance(i, Timed) and not finish(i.text))]
    resolver = Resolver(timed, now=now, default_date=default_date, tz=tz)
    for outcome in resolver.run():
        if isinstance(outcome, NoteError):
            result.errors.append(outcome)
            continue
        item, at, local, zone, approximate = outcome
        body = finish(item.text)
        if item.range_end:
            body = f"(until {item.range_end}) {body}"
        if approximate:
            body = f"(approx.) {body}"
        if item.stamp.keep:
            body = f"{item.stamp.keep}: {body}"
        try:
            payload = EntryLogged(entry_kind=item.kind or EntryKind.NOTE, text=body)
        except ValidationError as exc:
            result.errors.append(NoteError(item.line_no, item.line, describe_validation_error(exc)))
            continue
        result.entries.append(NoteEntry(
            at, payload.entry_kind, payload.text, item.line_no, item.stamp.written,
            f"{local:%Y-%m-%d %H:%M}" + (f":{local:%S}" if local.second else ""), zone, markdown,
        ))  # fmt: skip
    result.notices += resolver.notices
    result.errors.sort(key=lambda e: e.line_no)
    result.notices.sort(key=lambda n: n.line_no)
    result.skipped.sort(key=lambda s: s.line_no)
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
        events.append(commands.log_entry(factory, incident, entry.text, entry.kind, entry.at, markdown=entry.markdown))
    return events, duplicates


def unescape_cell(cell: str) -> str:
    """Undo Markdown escaping in a cell: ``<br>`` is a newline, ``\\x`` is ``x``."""
    return plain_cell(cell)


__all__ = [
    "ImportResult",
    "NonEntry",
    "NoteEntry",
    "NoteError",
    "NotesError",
    "Notice",
    "build_events",
    "looks_like_markdown",
    "parse_notes",
    "split_row",
    "unescape_cell",
]
