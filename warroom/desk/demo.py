"""The throwaway copy of the sample incidents that ``warroom demo`` opens.

The sample journals were recorded on fixed dates; opened as they are, an active incident
would show months of elapsed time. The copy shifts every event by one offset (whole minutes)
so the most recent activity was a few minutes ago, and shifts the clock times people wrote in
the text ("deployed 14:15", "INCIDENT UPDATE, 14:47 UTC") by the same offset, so the text
agrees with the timeline around it. The demo looks like a live war room, and
``sample_data/`` itself is never written to.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from warroom.domain.events import Event
from warroom.domain.hlc import HlcValue
from warroom.store import paths
from warroom.store.journal import Journal


_CLOCK_TIME = re.compile(r"(?<![\d:])([01]\d|2[0-3]):([0-5]\d)(?![\d])")
_TEXT_FIELDS = ("text", "reason", "title", "summary", "impact")


def shift_clock_times(text: str, offset: timedelta) -> str:
    """Every ``HH:MM`` (seconds kept) in ``text`` moved by ``offset`` (whole minutes), round the clock."""
    minutes = int(offset.total_seconds() // 60)

    def moved(match: re.Match) -> str:
        total = (int(match.group(1)) * 60 + int(match.group(2)) + minutes) % (24 * 60)
        return f"{total // 60:02d}:{total % 60:02d}"

    return _CLOCK_TIME.sub(moved, text)


def _shift(event: Event, offset: timedelta) -> Event:
    hlc = HlcValue.decode(event.hlc)
    shifted_hlc = HlcValue(hlc.wall_ms + int(offset.total_seconds() * 1000), hlc.counter, hlc.node)
    payload = dict(event.payload)
    for field in _TEXT_FIELDS:
        if isinstance(payload.get(field), str):
            payload[field] = shift_clock_times(payload[field], offset)
    return event.model_copy(
        update={
            "at": event.at + offset,
            "logged_at": event.logged_at + offset,
            "hlc": shifted_hlc.encode(),
            "payload": payload,
        }
    )


def copy_sample_incidents(source: Path, data_dir: Path, now: datetime, *, lead: timedelta = timedelta(minutes=3)) -> int:
    """Copy every sample journal into ``data_dir``, shifted so the newest event is about
    ``lead`` before ``now`` (the offset is whole minutes, so clock times in the text move
    exactly). Returns the number of incidents copied."""
    journals = sorted(p for p in source.iterdir() if paths.journal_incident_id(p.name))
    loaded: list[tuple[Path, list[Event]]] = []
    for path in journals:
        loaded.append((path, Journal(path, path.stem).open_readonly()))
    newest = max((e.logged_at for _, events in loaded for e in events), default=now)
    offset = timedelta(minutes=round(((now - lead) - newest).total_seconds() / 60))
    target = paths.incidents_dir(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    for path, events in loaded:
        Journal(target / path.name, path.stem).append([_shift(e, offset) for e in events])
    return len(loaded)
