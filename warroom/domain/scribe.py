"""What the scribe types: ``14:32 - Alert fired``, ``/decision roll back``, ``/todo …``.

Parsing is pure: the current time is passed in. A bare ``HH:MM`` means that UTC time today,
or yesterday if today's would be in the future (logging ``23:58`` just after midnight).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

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

_TIME_RE = re.compile(r"^(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?(?:\s*(?:UTC|Z))?(?=[\s:|–—-]|$)")
_KIND_RE = re.compile(r"^/(?P<kind>[a-zA-Z]+)(?=\s|$)")
_SEPARATOR_RE = re.compile(r"^\s*(?:[-–—:|]\s*)?")

# A clock a little ahead of ours should not make "now" look like the future.
FUTURE_SLACK = timedelta(minutes=1)


class ScribeError(ValueError):
    """The line could not be understood; the message says how to fix it."""


@dataclass(frozen=True)
class ScribeLine:
    kind: EntryKind
    text: str
    at: datetime | None
    """None: now. Otherwise the backdated UTC time."""


def time_today(hour: int, minute: int, second: int, now: datetime) -> datetime:
    """``HH:MM[:SS]`` UTC on today's date, or yesterday's if that is still to come."""
    now = now.astimezone(timezone.utc)
    candidate = now.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if candidate > now + FUTURE_SLACK:
        candidate -= timedelta(days=1)
    return candidate


def parse_scribe_line(line: str, now: datetime) -> ScribeLine:
    """Split a typed line into kind, time and text. ``/kind`` and ``HH:MM`` may come in
    either order, each at most once, before the text."""
    rest = line.strip()
    kind: EntryKind | None = None
    at: datetime | None = None
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
                int(time_match.group("h")),
                int(time_match.group("m")),
                int(time_match.group("s") or 0),
                now,
            )
            rest = _SEPARATOR_RE.sub("", rest[time_match.end():], count=1)
            continue
        break
    rest = rest.strip()
    if not rest:
        raise ScribeError("nothing to log: type the entry text after the time or /kind")
    return ScribeLine(kind=kind or EntryKind.NOTE, text=rest, at=at)


def parse_when(text: str, now: datetime) -> datetime:
    """A time given on the command line: ``HH:MM[:SS]`` (UTC today) or ISO 8601.
    An ISO time without an offset is taken as UTC."""
    cleaned = text.strip()
    match = _TIME_RE.match(cleaned)
    if match and match.end() == len(cleaned):
        return time_today(int(match.group("h")), int(match.group("m")), int(match.group("s") or 0), now)
    try:
        parsed = datetime.fromisoformat(cleaned.replace(" UTC", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        raise ScribeError(
            f"cannot read the time {text!r}: use HH:MM (UTC today) or ISO 8601 such as "
            "2026-03-30T14:32:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise ScribeError(f"the time {text!r} is out of range once converted to UTC") from None
