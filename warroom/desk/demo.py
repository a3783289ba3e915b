"""The throwaway copy of the sample incidents that ``warroom demo`` opens.

The sample journals were recorded on fixed dates; opened as they are, an active incident
would show months of elapsed time. The copy shifts every event by one offset so the most
recent activity was a few minutes ago: the demo looks like a live war room, and
``sample_data/`` itself is never written to.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from warroom.domain.events import Event
from warroom.domain.hlc import HlcValue
from warroom.store import paths
from warroom.store.journal import Journal


def _shift(event: Event, offset: timedelta) -> Event:
    hlc = HlcValue.decode(event.hlc)
    shifted_hlc = HlcValue(hlc.wall_ms + int(offset.total_seconds() * 1000), hlc.counter, hlc.node)
    return event.model_copy(
        update={
            "at": event.at + offset,
            "logged_at": event.logged_at + offset,
            "hlc": shifted_hlc.encode(),
        }
    )


def copy_sample_incidents(source: Path, data_dir: Path, now: datetime, *, lead: timedelta = timedelta(minutes=3)) -> int:
    """Copy every sample journal into ``data_dir``, shifted so the newest event is ``lead``
    before ``now``. Returns the number of incidents copied."""
    journals = sorted(p for p in source.iterdir() if paths.journal_incident_id(p.name))
    loaded: list[tuple[Path, list[Event]]] = []
    for path in journals:
        loaded.append((path, Journal(path, path.stem).open_readonly()))
    newest = max((e.logged_at for _, events in loaded for e in events), default=now)
    offset = (now - lead) - newest
    target = paths.incidents_dir(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    for path, events in loaded:
        Journal(target / path.name, path.stem).append([_shift(e, offset) for e in events])
    return len(loaded)
