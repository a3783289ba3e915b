"""Timeline search: ``rollback kind:decision actor:alice since:14:30 until:15:00``.

Pure: parsing takes the current time (for HH:MM). Words match case-insensitively anywhere in
the entry's text (all words must match); ``kind:`` and ``actor:`` accept several values
separated by commas; times are UTC like everything else on the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from warroom.domain.models import EntryKind, TimelineEntry
from warroom.domain.scribe import ScribeError, parse_when


class FilterError(ValueError):
    """The filter text could not be understood; the message says how to write it."""


@dataclass(frozen=True)
class TimelineFilter:
    words: tuple[str, ...] = ()
    kinds: frozenset[EntryKind] = field(default_factory=frozenset)
    actors: frozenset[str] = field(default_factory=frozenset)
    since: datetime | None = None
    until: datetime | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.kinds or self.actors or self.since or self.until)

    def matches(self, entry: TimelineEntry) -> bool:
        if self.kinds and entry.kind not in self.kinds:
            return False
        if self.actors and entry.actor.lower() not in self.actors:
            return False
        if self.since and entry.at < self.since:
            return False
        if self.until and entry.at > self.until:
            return False
        if self.words:
            text = entry.text.lower()
            return all(word in text for word in self.words)
        return True

    def apply(self, entries: list[TimelineEntry]) -> list[TimelineEntry]:
        return entries if self.is_empty else [e for e in entries if self.matches(e)]

    def describe(self) -> str:
        parts = [f'"{w}"' for w in self.words]
        if self.kinds:
            parts.append("kind " + "/".join(sorted(k.value for k in self.kinds)))
        if self.actors:
            parts.append("by " + "/".join(sorted(self.actors)))
        if self.since:
            parts.append(f"since {self.since:%H:%M}")
        if self.until:
            parts.append(f"until {self.until:%H:%M}")
        return " · ".join(parts)


_KIND_NAMES = (
    {kind.value: kind for kind in EntryKind}
    | {kind.value.replace(" ", "_"): kind for kind in EntryKind}  # kind:action_item
    | {"hyp": EntryKind.HYPOTHESIS, "dec": EntryKind.DECISION}
)


def parse_filter(text: str, now: datetime) -> TimelineFilter:
    words: list[str] = []
    kinds: set[EntryKind] = set()
    actors: set[str] = set()
    since = until = None
    for token in text.split():
        key, sep, value = token.partition(":")
        key = key.lower()
        if sep and key in ("kind", "k"):
            for name in filter(None, value.lower().split(",")):
                if name not in _KIND_NAMES:
                    known = ", ".join(sorted(k.value for k in EntryKind))
                    raise FilterError(f"unknown kind {name!r}: use {known}")
                kinds.add(_KIND_NAMES[name])
        elif sep and key in ("actor", "by", "who"):
            actors.update(a for a in value.lower().split(",") if a)
        elif sep and key in ("since", "after", "until", "before"):
            try:
                when = parse_when(value, now)
            except ScribeError:
                raise FilterError(f"{key}: {value!r} is not a time; use HH:MM (UTC) or ISO 8601") from None
            if key in ("since", "after"):
                since = when
            else:
                until = when
        else:
            words.append(token.lower())
    return TimelineFilter(tuple(words), frozenset(kinds), frozenset(actors), since, until)
