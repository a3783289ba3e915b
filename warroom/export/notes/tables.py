"""Markdown tables of timelines, with the headers people give them.

The time column is the one named ``Time``, ``Time (UTC)``, ``Date and Time in CET``,
``Timestamp``, ``When``… (a UTC one is preferred when there are several); a ``Date`` column
alone serves as the time column, beside one it gives each row its date. The event column is
``Event``, ``Description``, ``What happened``, ``Details``, ``Update``…; with no such name, the
only other column (or the last one) is, and the preview says so. ``Who`` / ``Kind`` columns
are read as before; any other column's text is added to the entry, nothing is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from warroom.export.notes.clean import plain_cell
from warroom.export.notes.zones import Zone, zone_in_header

DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*$")

_TIME_WORDS = re.compile(r"\b(?:time|timestamp|when|datetime|date/time|date\s*&\s*time|hour|local)\b")
_DATE_NAMES = ("date", "day", "date (utc)")
_EVENT_NAMES = (
    "event", "events", "what", "what happened", "description", "text", "entry", "note", "notes",
    "details", "detail", "update", "updates", "summary", "activity", "action", "actions",
    "action taken", "message", "comment", "comments", "observation", "observations", "status",
)  # fmt: skip
_EVENT_WORDS = re.compile(r"\b(?:event|description|happened|detail|note|update|summary|activity|message|comment|observation)s?\b")
_WHO_NAMES = ("who", "actor", "by", "author", "person", "owner", "responder", "name", "user", "reporter")
_KIND_NAMES = ("kind", "type", "category", "entry type")


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


def header_name(cell: str) -> str:
    return " ".join(plain_cell(cell).strip("*_` ").lower().split())


@dataclass
class Columns:
    """How a table's columns are read."""

    time: int
    event: int
    width: int
    names: list[str]
    date: int | None = None
    who: int | None = None
    kind: int | None = None
    extra: list[int] = field(default_factory=list)
    """Columns whose text is added to the entry as ``(Header: value)``."""
    zone: Zone | None = None
    """The zone the time column's header names."""
    remarks: list[str] = field(default_factory=list)
    """How the header was read, where it took a guess (for the preview)."""


def read_header(cells: list[str]) -> Columns | None:
    """The columns of a timeline table, or None when the header has no time column."""
    names = [header_name(cell) for cell in cells]
    raw = [plain_cell(cell).strip("*_` ") for cell in cells]
    times = [i for i, name in enumerate(names) if _TIME_WORDS.search(name) and name not in _DATE_NAMES]
    dates = [i for i, name in enumerate(names) if name in _DATE_NAMES or name.startswith("date (")]
    if not times and not dates:
        return None
    remarks: list[str] = []
    date_col = None
    if times:
        zoned = [(i, zone_in_header(raw[i])) for i in times]
        preferred = [i for i, zone in zoned if zone is not None and zone.label == "UTC"]
        time_col = preferred[0] if preferred else times[0]
        for other in times:
            if other != time_col:
                remarks.append(f"column {raw[other]!r} not used: the times come from {raw[time_col]!r}")
        date_col = dates[0] if dates else None
    else:
        time_col = dates[0]
    taken = {time_col, *([date_col] if date_col is not None else []), *(i for i in times if i != time_col)}

    def find(candidates: tuple[str, ...]) -> int | None:
        return next((i for i, name in enumerate(names) if i not in taken and name in candidates), None)

    who, kind = find(_WHO_NAMES), find(_KIND_NAMES)
    taken |= {i for i in (who, kind) if i is not None}
    event = find(_EVENT_NAMES)
    if event is None:
        event = next((i for i, name in enumerate(names) if i not in taken and _EVENT_WORDS.search(name)), None)
    rest = [i for i in range(len(names)) if i not in taken and i != event]
    if event is None:
        if not rest:
            return None
        event = rest.pop()  # the last column is where tables keep the long text
        remarks.append(f"column {raw[event] or event + 1!r} read as the event text")
    return Columns(
        time=time_col,
        event=event,
        width=len(cells),
        names=raw,
        date=date_col,
        who=who,
        kind=kind,
        extra=rest,
        zone=zone_in_header(raw[time_col]),
        remarks=remarks,
    )


__all__ = ["DELIMITER_ROW", "Columns", "header_name", "read_header", "split_row"]
