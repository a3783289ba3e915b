"""Reading the date and time at the start of a timeline line, as people write them.

``14:32``, ``14:32:05``, ``8:00AM``, ``8:00 am``, ``6pm``, ``11pm-ish``, ``noon``; dates
``2017-01-31``, ``2017/01/31``, ``Jan 31``, ``January 31st, 2017``, ``21st Oct``,
``Tuesday, 31 January 2017``, ``01/31/2017``; ISO 8601 ``2026-03-30T14:32:00Z``; a zone after
the time (``UTC``, ``PST``, ``+02:00``) and a date after it (``22:52 UTC, 21st Oct``); a lead-in
(``At 2017/01/31 6pm UTC, we …``, ``Update 6:14pm UTC: …``, ``~14:30``, ``around 14:30``).

``scan`` only reads what is written; the importer decides what a time without a date, a
zone or am/pm means (and says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from warroom.export.notes.zones import ZONE_AFTER_TIME, Zone, zone_named

MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?![A-Za-z])"
_WEEKDAY = r"(?:(?:mon|tue(?:s)?|wed(?:nes)?|thu(?:r(?:s)?)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_YEAR = r"(?:,?\s+(?P<y>\d{4})(?![\d:]))?"
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATES = [
    ("iso", re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<mo>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d])")),
    ("month-first", re.compile(rf"{_WEEKDAY}{_MONTH}\s+(?P<d>\d{{1,2}}){_ORDINAL}(?![\d:A-Za-z]){_YEAR}", re.IGNORECASE)),
    ("day-first", re.compile(rf"{_WEEKDAY}(?P<d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?{_MONTH}{_YEAR}", re.IGNORECASE)),
    ("numeric", re.compile(r"(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4}|\d{2})(?![\d/])")),
]
_TIME = re.compile(
    r"(?P<h>\d{1,2})(?::(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d)(?:[.,](?P<frac>\d{1,9}))?)?)?"
    r"(?:\s?(?P<mer>[ap]\.?\s?m\.?)(?![A-Za-z]))?"
    r"|(?P<word>noon|midday|midnight)\b",
    re.IGNORECASE,
)
_LEAD = re.compile(
    r"(?:(?P<approx>around|about|approx(?:imately|\.)?|roughly|circa|ca\.)|(?P<update>update[ds]?)|at|by|on|from)"
    r"(?:\s+at)?\s+|(?P<tilde>~)\s*",
    re.IGNORECASE,
)
_BETWEEN = re.compile(r"\s*,\s*(?:at\s+)?|\s+at\s+|\s*@\s*|T|\s+", re.IGNORECASE)
_ISH = re.compile(r"\s*-?\s?ish(?![A-Za-z])|\s*\((?:approx(?:imately|\.)?|roughly|about|estimated|est\.)\)", re.IGNORECASE)
_DATE_AFTER = re.compile(r"\s*,?\s*(?:on\s+)?", re.IGNORECASE)
_SEPARATOR = re.compile(r"\s*(?:[-–—:|=>→•·]+|,)?\s*")
TIME_LIKE = re.compile(r"^\s*(?:\d{1,2}:\d|\d{4}-\d{1,2}-\d)")
"""A line starting like this was meant to have a time: when it cannot be read, say so."""


@dataclass(frozen=True)
class WrittenDate:
    year: int | None
    month: int
    day: int
    guess: str | None = None
    """How an ambiguous form was read (``01/02/2017`` as month/day)."""


@dataclass(frozen=True)
class Stamp:
    """What the start of a line says about when."""

    end: int
    """Where the text after the stamp (and its separator) starts."""
    written: str
    """The stamp as written, for the preview."""
    date: WrittenDate | None = None
    hour: int | None = None
    """None: a date without a time."""
    minute: int = 0
    second: int = 0
    micro: int = 0
    meridiem: str | None = None
    """``am`` / ``pm`` when written."""
    zone: Zone | None = None
    approximate: bool = False
    keep: str = ""
    """A lead-in word that belongs to the text (``Update``)."""
    iso: bool = False
    """Written as ISO 8601 (``2026-03-30T14:32:00Z``): never a 12-hour time."""
    twelve_hour: bool = False
    """Written with am/pm (``6pm``; not ``noon``): the notes use a 12-hour clock."""
    zero_padded: bool = False
    """The hour has a leading zero (``09:15``): a 24-hour time even among 12-hour ones."""


def _date_at(text: str, pos: int) -> tuple[WrittenDate, int] | None:
    for form, pattern in _DATES:
        match = pattern.match(text, pos)
        if not match:
            continue
        if form == "iso":
            year, month, day = int(match.group("y")), int(match.group("mo")), int(match.group("d"))
            return WrittenDate(year, month, day), match.end()
        if form == "numeric":
            first, second = int(match.group("a")), int(match.group("b"))
            year = int(match.group("y"))
            year += 2000 if year < 100 else 0
            if first > 12 >= second:
                return WrittenDate(year, second, first), match.end()
            guess = None
            if first <= 12 and second <= 12 and first != second:
                guess = f"{match.group(0)} read as month/day ({first}/{second}), as written in the US"
            return WrittenDate(year, first, second, guess), match.end()
        month_text = match.group("mon")
        if not month_text[0].isupper():  # "may 3 hosts": a verb, not May 3rd
            continue
        year = match.group("y")
        return WrittenDate(int(year) if year else None, MONTHS[month_text[:3].lower()], int(match.group("d"))), match.end()
    return None


def _time_at(text: str, pos: int) -> tuple[dict, int] | None:
    match = _TIME.match(text, pos)
    if not match:
        return None
    word = match.group("word")
    if word:
        meridiem = "am" if word.lower() == "midnight" else "pm"
        return {"hour": 12, "meridiem": meridiem, "word": True}, match.end()
    minute = match.group("m")
    meridiem = match.group("mer")
    if minute is None and meridiem is None:
        return None  # "3 servers": a number, not a time
    hour = int(match.group("h"))
    mer = meridiem.lower().replace(".", "").replace(" ", "") if meridiem else None
    if mer and not 1 <= hour <= 12:
        return None  # 13pm
    if not mer and hour > 23:
        return None
    frac = match.group("frac") or ""
    return {
        "hour": hour,
        "minute": int(minute or 0),
        "second": int(match.group("s") or 0),
        "micro": int(frac[:6].ljust(6, "0")) if frac else 0,
        "meridiem": mer,
        "zero_padded": match.group("h").startswith("0") and len(match.group("h")) == 2,
    }, match.end()


def scan(text: str, pos: int = 0) -> Stamp | None:
    """The date and/or time at ``text[pos:]``, or None when it does not start with one."""
    start = pos
    approximate = False
    keep = ""
    lead = _LEAD.match(text, pos)
    if lead:
        approximate = bool(lead.group("approx") or lead.group("tilde"))
        if lead.group("update"):
            keep = lead.group("update").capitalize()
        pos = lead.end()
    date = None
    found = _date_at(text, pos)
    iso = False
    if found:
        date, pos = found
        between = _BETWEEN.match(text, pos)
        iso = between is not None and between.group(0) == "T"
        time_pos = between.end() if between else pos
    else:
        time_pos = pos
    clock = _time_at(text, time_pos)
    if clock is None:
        if date is None:
            return None
        core_end = pos
    else:
        core_end = clock[1]
    fields = clock[0] if clock else {}
    if clock and clock[0].get("word") and date is None and lead is None:
        return None  # "noon" alone at the start of a sentence is prose
    pos = core_end
    ish = _ISH.match(text, pos) if clock else None
    if ish:
        approximate = True
        pos = ish.end()
    zone = None
    zone_match = ZONE_AFTER_TIME.match(text, pos) if clock else None
    if zone_match:
        zone = zone_named(zone_match.group("zone"))
        if zone is not None:
            pos = zone_match.end()
    if clock and date is None:
        after = _DATE_AFTER.match(text, pos)
        found = _date_at(text, after.end()) if after else None
        if found:
            date, pos = found
            if zone is None and (zone_match := ZONE_AFTER_TIME.match(text, pos)):
                zone = zone_named(zone_match.group("zone"))
                pos = zone_match.end() if zone else pos
    if pos < len(text) and (text[pos].isalnum() or text[pos] in "_/"):
        return None  # "14:32foo", "2026-03-30x": not a stamp
    written = text[start:pos].strip()
    separator = _SEPARATOR.match(text, pos)
    end = separator.end() if separator else pos
    if clock is None:
        return Stamp(end, written, date, zone=zone, keep=keep)
    return Stamp(
        end=end,
        written=written,
        date=date,
        hour=fields["hour"],
        minute=fields.get("minute", 0),
        second=fields.get("second", 0),
        micro=fields.get("micro", 0),
        meridiem=fields.get("meridiem"),
        zone=zone,
        approximate=approximate,
        keep=keep,
        iso=iso,
        twelve_hour=bool(fields.get("meridiem")) and not fields.get("word"),
        zero_padded=bool(fields.get("zero_padded")),
    )


def clock_24h(stamp: Stamp, meridiem: str | None = None) -> int:
    """The hour on a 24-hour clock, with the written (or a chosen) am/pm."""
    assert stamp.hour is not None
    mer = stamp.meridiem or meridiem
    if mer == "am":
        return 0 if stamp.hour == 12 else stamp.hour
    if mer == "pm":
        return 12 if stamp.hour == 12 else stamp.hour + 12
    return stamp.hour


__all__ = ["MONTHS", "TIME_LIKE", "Stamp", "WrittenDate", "clock_24h", "scan"]
