"""The append-only, fsync'd event journal (one file per incident).

Line format: ``<crc32 as 8 hex digits> <event JSON>\\n``. An append is one ``os.write`` on an
``O_APPEND`` descriptor followed by ``os.fsync``; only after that returns is an event reported
as saved. Writers (the TUI, the CLI, another TUI on the same data dir) hold an exclusive
``flock`` while appending, so their lines never interleave and a reader's repair never races a
writer.

On open:
* a bad *last* line (no newline, or a checksum mismatch) is a torn write from a crash: it was
  never reported as saved, so it is truncated and the caller is told;
* a bad line followed by good lines is corruption: opening fails with the file and line number
  rather than silently dropping data.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from warroom.domain.events import Event, parse_canonical_event_json
from warroom.store.atomic import fsync_dir


class JournalError(Exception):
    """Reading or writing a journal failed; the message names the file."""


class JournalCorruptError(JournalError):
    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        self.path = path
        self.line_no = line_no
        self.reason = reason
        super().__init__(
            f"{path}, line {line_no}: {reason}. Later lines are intact, so warroom will not "
            "drop this one silently: repair or remove the line (keep a copy), then restart."
        )


def encode_line(event: Event) -> bytes:
    payload = event.model_dump_json().encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def _decode_line(line: bytes) -> bytes:
    """The event JSON of one line (without its newline), checksum verified; ValueError says
    what is wrong."""
    if len(line) < 10 or line[8:9] != b" ":
        raise ValueError("not a journal line (expected checksum, space, JSON)")
    try:
        expected = int(line[:8], 16)
    except ValueError:
        raise ValueError("not a journal line (bad checksum field)") from None
    payload = line[9:]
    if zlib.crc32(payload) != expected:
        raise ValueError("checksum mismatch")
    # JSON syntax, nesting depth and types are checked by pydantic-core when the event is
    # validated (parse_canonical_event_json), in one pass.
    return payload


@dataclass
class OpenResult:
    events: list[Event]
    warnings: list[str] = field(default_factory=list)


class Journal:
    """One incident's journal file."""

    def __init__(self, path: Path, incident_id: str) -> None:
        self.path = path
        self.incident_id = incident_id
        self._offset = 0  # bytes consumed by open()/read_new()
        self._lines_read = 0  # for line numbers in error messages
        self.torn_bytes_removed = 0
        """Bytes of an unfinished line (a writer that crashed mid-append) cut off by append()."""

    # --- reading --------------------------------------------------------------------------

    def open(self) -> OpenResult:
        """Read every event, repairing a torn tail. Raises JournalCorruptError."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            self._offset = self._lines_read = 0
            return OpenResult(events=[])
        except OSError as exc:
            raise JournalError(f"cannot open {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = _read_all(fd)
            events, good_end, torn = self._parse(data, start_line=1, final=True)
            warnings = []
            if torn:
                os.ftruncate(fd, good_end)
                os.fsync(fd)
                warnings.append(
                    f"{self.path.name}: removed an incomplete last line ({len(data) - good_end} "
                    "bytes) left by an interrupted write; it had never been reported as saved."
                )
            self._offset = good_end
            self._lines_read = data[:good_end].count(b"\n")
            return OpenResult(events=events, warnings=warnings)
        finally:
            os.close(fd)

    def open_readonly(self) -> list[Event]:
        """Every event, without repairing anything (for files we must not modify, such as
        the shipped sample data). Any bad line, even the last, raises."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise JournalError(f"cannot read {self.path}: {exc.strerror}") from None
        events, good_end, torn = self._parse(data, start_line=1, final=False)
        if torn or good_end != len(data):
            raise JournalCorruptError(self.path, data[:good_end].count(b"\n") + 1, "incomplete last line")
        return events

    def read_new(self) -> list[Event]:
        """Events appended (by anyone) since the last read. An incomplete last line is left
        for the next call: its writer may still be writing it."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        if end == 0:
            return []
        events, good_end, _ = self._parse(data[:end], start_line=self._lines_read + 1, final=False)
        self._offset += good_end
        self._lines_read += data[:good_end].count(b"\n")
        return events

    def _parse(self, data: bytes, *, start_line: int, final: bool) -> tuple[list[Event], int, bool]:
        """Events, the offset after the last good line, and whether the tail is torn."""
        events: list[Event] = []
        pos = 0
        line_no = start_line - 1
        length = len(data)
        while pos < length:
            newline = data.find(b"\n", pos)
            line_no += 1
            if newline == -1:
                # No newline: the write was cut short. Only possible at the very end.
                return events, pos, True
            line = data[pos:newline]
            try:
                raw = _decode_line(line)
            except ValueError as exc:
                if final and newline + 1 == length and "checksum" in str(exc):
                    return events, pos, True  # torn last line that happens to end in \n
                raise JournalCorruptError(self.path, line_no, str(exc)) from None
            try:
                event = parse_canonical_event_json(raw)
            except ValueError as exc:
                raise JournalCorruptError(self.path, line_no, f"invalid event: {exc}") from None
            if event.incident_id != self.incident_id:
                raise JournalCorruptError(
                    self.path, line_no, f"event belongs to incident {event.incident_id}"
                )
            events.append(event)
            pos = newline + 1
        return events, pos, False

    # --- writing --------------------------------------------------------------------------

    def append(self, events: list[Event]) -> None:
        """Write and fsync; returns only once the events are durable. Raises JournalError."""
        if not events:
            return
        for event in events:
            if event.incident_id != self.incident_id:
                raise ValueError("event belongs to another incident")
        blob = b"".join(encode_line(e) for e in events)
        created = not self.path.exists()
        if created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot open {self.path} for writing: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.torn_bytes_removed += _cut_torn_tail(fd)
            written = os.write(fd, blob)
            if written != len(blob):
                # Never leave a partial line behind us: cut back to where we started.
                os.ftruncate(fd, os.fstat(fd).st_size - written)
                raise JournalError(f"short write to {self.path} (disk full?); nothing was saved")
            os.fsync(fd)
        except OSError as exc:
            raise JournalError(
                f"could not save to {self.path}: {exc.strerror}. The entry was NOT saved."
            ) from None
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.path.parent)


def _cut_torn_tail(fd: int) -> int:
    """Called under the lock before appending: if the file does not end with a newline, a
    writer (another process) died mid-line. That line was never reported as saved; cut it
    off so our line does not get glued onto it and turn into corruption. Returns the bytes
    removed (almost always 0, at the cost of one 1-byte pread)."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return 0
    end = size
    while end > 0:
        start = max(0, end - 65536)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline != -1:
            keep = start + newline + 1
            break
        end = start
    else:
        keep = 0
    os.ftruncate(fd, keep)
    return size - keep


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
