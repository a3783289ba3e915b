"""What the scribe types: ``14:32 - Alert fired``, ``/decision roll back``, ``/todo …``.

Parsing is pure: the current time and the time zone are passed in. A bare ``HH:MM`` means
that time today *in the zone the person is looking at* (the timeline shows UTC or local
time), or yesterday if today's would be in the future (logging ``23:58`` just after
midnight). Such a guess is never applied silently: :func:`backdate_question` says when a time
lands on another day or more than 12 hours back, or was typed as a 12-hour ``2:32 pm``, so
the front end asks first, and :func:`describe_time` echoes the result in the zone shown and
in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from warroom.domain.models import EntryKind

_KIND_PREFIXES = {
    "note": EntryKind.NOTE,
    "n": EntryKind.NOTE,
    "decision": EntryKind.DECISION,
    "dec": EntryKind.DECISION,
    "d": EntryKind.DECISION,
    "action": EntryKind.ACTION,
    "act": EntryKind.ACTION,
    "a": EntryKind.ACTION,
    "hypothesis": EntryKind.HYPOTHESIS,
    "hyp": EntryKind.HYPOTHESIS,
    "h": EntryKind.HYPOTHESIS,
    "todo": EntryKind.TODO,
    "t": EntryKind.TODO,
}

_TIME_RE = re.compile(
    r"^(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?"
    r"(?P<ampm>\s*[aApP]\.?[mM]\.?)?(?P<utc>\s*(?:UTC|Z))?(?=[\s:|–—-]|$)"
)
_TWELVE_HOUR_RE = re.compile(r"[ap]\.?m\.?", re.IGNORECASE)
_KIND_RE = re.compile(r"^/(?P<kind>[a-zA-Z]+)(?=\s|$)")
_SEPARATOR_RE = re.compile(r"^\s*(?:[-–—:|]\s*)?")

# A clock a little ahead of ours should not make "now" look like the future.
FUTURE_SLACK = timedelta(minutes=1)

# A bare clock time further back than this is asked about before it is logged.
ASK_BEYOND = timedelta(hours=12)

UTC = timezone.utc


class ScribeError(ValueError):
    """The line could not be understood; the message says how to fix it."""


@dataclass(frozen=True)
class ScribeLine:
    kind: EntryKind
    text: str
    at: datetime | None
    """None: now. Otherwise the backdated UTC time."""
    clock_time: str | None = None
    """The ``HH:MM[:SS]`` as typed, when the line started with one."""


def _hour(match: re.Match[str]) -> int:
    """The 24-hour hour of a matched time; ``2:32 pm`` is 14. A 12-hour time with an hour
    that cannot be one (``0:10 am``, ``14:00 pm``) is refused rather than guessed at."""
    hour = int(match.group("h"))
    marker = match.group("ampm")
    if marker is None:
        return hour
    if not 1 <= hour <= 12:
        raise ScribeError(f"{match.group(0).strip()!r} is not a 12-hour time: write it as 24-hour HH:MM")
    return hour % 12 + (12 if marker.strip().lower().startswith("p") else 0)


def time_today(hour: int, minute: int, second: int, now: datetime, zone: tzinfo = UTC) -> datetime:
    """``HH:MM[:SS]`` in ``zone`` on today's date there, or yesterday's if that is still to
    come; returned in UTC. A wall time a DST change skips or repeats is read with the offset
    in force before the change (see :func:`backdate_question`, which asks about it)."""
    local_now = now.astimezone(zone)
    wall = time(hour, minute, second)
    candidate = _at_wall(local_now.date(), wall, zone)
    if candidate > now + FUTURE_SLACK:
        candidate = _at_wall(local_now.date() - timedelta(days=1), wall, zone)
    return candidate


def _at_wall(day: date, wall: time, zone: tzinfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def zone_name(zone: tzinfo, at: datetime) -> str:
    """What people call the zone at that moment: ``JST``, ``CEST``, ``UTC``."""
    if zone is UTC:
        return "UTC"
    name = at.astimezone(zone).tzname() or ""
    if not name or name.startswith(("+", "-")) or name.startswith("UTC") and len(name) > 3:
        offset = at.astimezone(zone).utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        name = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return name


def describe_time(at: datetime, zone: tzinfo, now: datetime | None = None) -> str:
    """``14:32 JST (05:32Z)``; with the date when it is not today (in ``zone``); just
    ``14:32Z`` when the zone shown is UTC."""
    shown = at.astimezone(zone)
    utc = at.astimezone(UTC)
    fmt = "%H:%M:%S" if shown.second else "%H:%M"
    other_day = now is not None and shown.date() != now.astimezone(zone).date()
    day = f"{shown:%a %d %b} " if other_day else ""
    if zone is UTC or shown.utcoffset() == timedelta(0) and zone_name(zone, at) == "UTC":
        return f"{day}{utc.strftime(fmt)}Z"
    utc_day = f"{utc:%a %d %b} " if utc.date() != shown.date() else ""
    return f"{day}{shown.strftime(fmt)} {zone_name(zone, at)} ({utc_day}{utc.strftime(fmt)}Z)"


def backdate_question(clock_time: str, at: datetime, now: datetime, zone: tzinfo) -> str | None:
    """Why a typed ``HH:MM`` deserves a question before it is logged, or None.

    Asked when it lands on another day in ``zone`` (yesterday, because today's would be in the
    future), when it is more than :data:`ASK_BEYOND` back, or when a DST change skips or
    repeats that wall time. The sentence names the time in the zone shown and in UTC."""
    shown = at.astimezone(zone)
    when = describe_time(at, zone, now)
    reasons = []
    if shown.date() != now.astimezone(zone).date():
        reasons.append("yesterday" if shown.date() == now.astimezone(zone).date() - timedelta(days=1) else "another day")
    back = now - at
    if back > ASK_BEYOND:
        hours = int(back.total_seconds() // 3600)
        reasons.append(f"{hours} h ago")
    typed = [int(part) for part in re.findall(r"\d+", clock_time)[:2]]
    if twelve_hour := _TWELVE_HOUR_RE.search(clock_time):
        # A 12-hour time is a reading, not what was typed: say which 24-hour time it became.
        typed[0] = typed[0] % 12 + (12 if twelve_hour.group(0).lower().startswith("p") else 0)
        reasons.append(f"a 12-hour time, read as {shown:%H:%M}")
    if typed != [shown.hour, shown.minute]:
        reasons.append(f"a time the clocks skipped (DST), read as {shown:%H:%M}")
    else:
        wall = datetime.combine(shown.date(), time(shown.hour, shown.minute, shown.second))
        if wall.replace(tzinfo=zone, fold=0).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset():
            reasons.append("a time that happened twice (DST), taken as the first")
    if not reasons:
        return None
    return f"{clock_time} is {', '.join(reasons)}: {when}"


def parse_scribe_line(line: str, now: datetime, zone: tzinfo = UTC) -> ScribeLine:
    """Split a typed line into kind, time and text. ``/kind`` and ``HH:MM`` may come in
    either order, each at most once, before the text. ``HH:MM`` is read in ``zone``."""
    rest = line.strip()
    kind: EntryKind | None = None
    at: datetime | None = None
    clock_time: str | None = None
    for _ in range(2):
        kind_match = _KIND_RE.match(rest)
        if kind_match and kind is None:
            name = kind_match.group("kind").lower()
            if name not in _KIND_PREFIXES:
                known = ", ".join(f"/{k.value}" for k in dict.fromkeys(_KIND_PREFIXES.values()))
                raise ScribeError(f"unknown entry kind /{name}: use {known}")
            kind = _KIND_PREFIXES[name]
            rest = rest[kind_match.end():].lstrip()
            continue
        time_match = _TIME_RE.match(rest)
        if time_match and at is None:
            at = time_today(
                _hour(time_match),
                int(time_match.group("m")),
                int(time_match.group("s") or 0),
                now,
                UTC if time_match.group("utc") else zone,
            )
            clock_time = time_match.group(0).strip()
            rest = _SEPARATOR_RE.sub("", rest[time_match.end():], count=1)
            continue
        break
    rest = rest.strip()
    if not rest:
        raise ScribeError("nothing to log: type the entry text after the time or /kind")
    return ScribeLine(kind=kind or EntryKind.NOTE, text=rest, at=at, clock_time=clock_time)


def starts_with_clock_time(text: str) -> bool:
    """True when a line gives its own ``HH:MM`` (before or after a ``/kind``), even one that
    does not parse otherwise."""
    rest = text.strip()
    kind = _KIND_RE.match(rest)
    if kind:
        rest = rest[kind.end():].lstrip()
    return _TIME_RE.match(rest) is not None


def is_clock_time(text: str) -> bool:
    """True for a bare ``HH:MM[:SS]`` (the form that is read in a zone and may be asked about)."""
    match = _TIME_RE.match(text.strip())
    return bool(match and match.end() == len(text.strip()))


def parse_when(text: str, now: datetime, zone: tzinfo = UTC) -> datetime:
    """A time given on the command line or in a dialog: ``HH:MM[:SS]`` (today in ``zone``)
    or ISO 8601. An ISO time without an offset is taken in ``zone`` too."""
    cleaned = text.strip()
    match = _TIME_RE.match(cleaned)
    if match and match.end() == len(cleaned):
        return time_today(
            _hour(match), int(match.group("m")), int(match.group("s") or 0), now,
            UTC if match.group("utc") else zone,
        )
    try:
        parsed = datetime.fromisoformat(cleaned.replace(" UTC", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        raise ScribeError(
            f"cannot read the time {text!r}: use HH:MM (today) or ISO 8601 such as "
            "2026-03-30T14:32:00Z"
        ) from None
    try:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ScribeError(f"the time {text!r} is out of range once converted to UTC") from None
