"""The latest entries of a big incident, read before the whole data dir is.

Opening an incident of 100,000 entries takes a second or two (every line decoded, every text
opened, everything folded). What people look at first is its end; so before the full load, the
console reads the tail of the journal written to last and shows its latest entries, marked as
the latest only, while older entries load.

Only entries people typed are shown from the tail: an automatic entry (``Status: mitigated →
resolved``) says what changed from the state before it, which the tail does not hold. Nothing
here is kept: the full load reads and reports everything (a damaged line included) as always.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from warroom.domain.event_decode import decode_trusted
from warroom.domain.fold import fold_incident
from warroom.domain.models import HUMAN_ENTRY_KINDS, TimelineEntry
from warroom.store import paths
from warroom.store.journal import JournalError, decode_line, open_regular

PREVIEW_FROM_BYTES = 2 * 1024 * 1024
"""Smaller journals load in well under the time of a frame or two: no preview for them."""
TAIL_BYTES = 192 * 1024
"""How much of the journal's end is read (a few hundred entries)."""


@dataclass(frozen=True)
class TailPreview:
    incident_id: str
    entries: list[TimelineEntry]
    """The latest entries people typed, oldest first, as the whole fold would show them
    (amendments and redactions made within the tail applied)."""


def tail_preview(
    journal_dir: Path, keys: Mapping[str, bytes] | None, *, from_bytes: int | None = None
) -> TailPreview | None:
    """The latest entries of the journal written to last, when it is big enough to be worth
    it (``from_bytes``, by default ``PREVIEW_FROM_BYTES``); None otherwise, or when it cannot
    be read (the load will say why)."""
    from_bytes = PREVIEW_FROM_BYTES if from_bytes is None else from_bytes
    latest: tuple[int, str, Path, int] | None = None
    try:
        names = os.listdir(journal_dir)
    except OSError:
        return None
    for name in names:
        incident_id = paths.journal_incident_id(name)
        if incident_id is None:
            continue
        try:
            info = os.lstat(journal_dir / name)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and (latest is None or info.st_mtime_ns > latest[0]):
            latest = (info.st_mtime_ns, incident_id, journal_dir / name, info.st_size)
    if latest is None or latest[3] < from_bytes:
        return None
    _, incident_id, path, size = latest
    try:
        fd = open_regular(path, os.O_RDONLY)
    except (OSError, JournalError):
        return None
    try:
        start = max(0, size - TAIL_BYTES)
        data = os.pread(fd, size - start, start)
    except OSError:
        return None
    finally:
        os.close(fd)
    first = data.find(b"\n") + 1 if start else 0  # the first line read is cut: skip it
    events = []
    for line in data[first : data.rfind(b"\n") + 1].split(b"\n")[:-1]:
        try:
            event = decode_trusted(decode_line(line), incident_id)
        except ValueError:
            continue  # the full load quarantines and reports it
        if event.incident_id == incident_id:
            events.append(event)
    timeline = fold_incident(incident_id, events, keys).timeline
    return TailPreview(incident_id, [entry for entry in timeline if entry.kind in HUMAN_ENTRY_KINDS])
