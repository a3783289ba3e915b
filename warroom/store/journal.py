"""The append-only, fsync'd event journal (one file per incident).

Line format: ``<crc32 as 8 hex digits> <event JSON>\\n``. An append is one ``os.write`` on an
``O_APPEND`` descriptor followed by ``os.fsync``; only after that returns is an event reported
as saved. Writers (the TUI, the CLI, another TUI on the same data dir) hold an exclusive
``flock`` while appending, so their lines never interleave and a reader's repair never races a
writer.

The journal never deletes an acknowledged byte. On open:

* only a final line *without its newline* is a torn write (a crash mid-append: that line was
  never reported as saved), and only that is cut off, with a warning;
* any complete line that fails its checksum, or is not a valid event of this incident, is
  corruption — a flipped bit on disk, an edit gone wrong. It is reported (file and line),
  copied to ``<journal>.quarantine``, and left where it is; the other lines load as usual and
  the incident is flagged as damaged until ``warroom repair`` rebuilds it.

Journals are opened with ``O_NOFOLLOW`` and must be regular files: a symlink planted in the
data dir (to someone's ``~/.bashrc``, say) is refused, never followed, never truncated.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from warroom.domain.event_decode import decode_trusted
from warroom.domain.events import Event
from warroom.domain.fold import bulk
from warroom.store.atomic import fsync_dir

_PROGRESS_EVERY = 2000
"""Lines between two progress reports while reading a journal."""


# Test hook: every journal fsync takes this much longer (WARROOM_TEST_SLOW_FSYNC_MS), to
# see how the console behaves while the disk lags. Unset, it costs nothing.
SLOW_FSYNC_SECONDS = float(os.environ.get("WARROOM_TEST_SLOW_FSYNC_MS") or 0) / 1000

# Errors that mean "this place cannot be written", as opposed to a failing disk.
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def _fsync(fd: int) -> None:
    os.fsync(fd)
    if SLOW_FSYNC_SECONDS:
        time.sleep(SLOW_FSYNC_SECONDS)


class JournalError(Exception):
    """Reading or writing a journal failed; the message names the file."""


class JournalUnusable(JournalError):
    """The journal path is not a regular file we may use (a symlink, a FIFO...): the
    incident is set aside, never followed or truncated."""


class ReadOnlyError(JournalError):
    """The data directory cannot be written (read-only mount, another user's files)."""


class JournalCorruptError(JournalError):
    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        self.path = path
        self.line_no = line_no
        self.reason = reason
        super().__init__(f"{path}, line {line_no}: {reason}")


QUARANTINE_SUFFIX = ".quarantine"

_OPEN_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def open_regular(path: Path, flags: int, mode: int = 0o600) -> int:
    """``os.open`` that refuses to follow a symlink and to open anything but a regular file
    (a FIFO or a device in the data dir is refused too, without blocking on it)."""
    try:
        fd = os.open(path, flags | _OPEN_FLAGS, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise JournalUnusable(
                f"{path} is a symbolic link; warroom never follows links in its data dir. "
                "Move the link away (the file it points to was not touched)"
            ) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise JournalUnusable(f"{path} is not a regular file; warroom will not read or write it")
    except BaseException:
        os.close(fd)
        raise
    return fd


def encode_line(event: Event) -> bytes:
    payload = event.model_dump_json().encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def decode_line(line: bytes) -> bytes:
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
    # decoded (decode_trusted), in one pass.
    return payload


@dataclass(frozen=True)
class BadLine:
    """A complete line that is not a good event of this journal (kept, quarantined)."""

    line_no: int
    offset: int
    reason: str
    raw: bytes

    def describe(self, path: Path) -> str:
        return f"{path}, line {self.line_no}: {self.reason}"


@dataclass
class OpenResult:
    events: list[Event]
    warnings: list[str] = field(default_factory=list)
    damaged: list[BadLine] = field(default_factory=list)
    """Corrupt lines found (kept in the file, copied to the quarantine file)."""


class Journal:
    """One incident's journal file."""

    def __init__(self, path: Path, incident_id: str) -> None:
        self.path = path
        self.incident_id = incident_id
        self._offset = 0  # bytes consumed by open()/read_new()
        self._lines_read = 0  # for line numbers in error messages
        self.torn_bytes_removed = 0
        """Bytes of an unfinished line (a writer that crashed mid-append) cut off by append()."""
        self.damaged: list[BadLine] = []
        """Every corrupt line seen so far by open() and read_new()."""
        self._fd: int | None = None
        self._appended_end = -1
        """The file's size after our last append: while it still has that size, its tail is
        our own whole line and needs no check for a torn write."""
        self._locked_size = 0
        self._created = False  # whether the last _locked_append_fd made the file

    @property
    def quarantine_path(self) -> Path:
        return self.path.with_name(self.path.name + QUARANTINE_SUFFIX)

    # --- reading --------------------------------------------------------------------------

    def open(self, progress: Callable[[int, int], None] | None = None) -> OpenResult:
        """Read every event, cutting a torn tail. Corrupt lines are reported, kept and
        quarantined; raises JournalError only when the file cannot be used at all.
        ``progress(bytes_done, bytes_total)`` is called now and then while reading.

        A journal we may not write (a read-only mount, a colleague's files) is still read: a
        torn tail is then left in place (and said), and writing to it fails with the reason."""
        writable = True
        try:
            fd = open_regular(self.path, os.O_RDWR)
        except FileNotFoundError:
            self._offset = self._lines_read = 0
            return OpenResult(events=[])
        except (PermissionError, OSError) as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise JournalError(f"cannot open {self.path}: {exc.strerror}") from None
            try:
                fd = open_regular(self.path, os.O_RDONLY)
            except OSError as again:
                raise JournalError(f"cannot open {self.path}: {again.strerror}") from None
            writable = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if writable else fcntl.LOCK_SH)
            data = _read_all(fd)
            events, good_end, torn, bad = self._parse(data, start_line=1, final=True, progress=progress)
            warnings = []
            if torn and not writable:
                warnings.append(
                    f"{self.path.name}: its last line is incomplete (an interrupted write); the "
                    "file is read-only here, so it was left as it is"
                )
            elif torn:
                os.ftruncate(fd, good_end)
                _fsync(fd)
                warnings.append(
                    f"{self.path.name}: removed an incomplete last line ({len(data) - good_end} "
                    "bytes, no newline) left by an interrupted write; it had never been "
                    "reported as saved."
                )
            self._offset = good_end
            self._lines_read = data.count(b"\n", 0, good_end)
        finally:
            os.close(fd)
        self.damaged = list(bad)
        if bad:
            self._quarantine(bad)
            warnings.append(self.damage_report())
        return OpenResult(events=events, warnings=warnings, damaged=list(bad))

    def damage_report(self) -> str:
        first = self.damaged[0]
        more = f" (and {len(self.damaged) - 1} more line(s))" if len(self.damaged) > 1 else ""
        return (
            f"{first.describe(self.path)}{more}. The line is kept in the journal and copied to "
            f"{self.quarantine_path.name}; the rest of the incident loaded. Rebuild it with "
            f"`warroom repair {self.incident_id[-8:]}`"
        )

    def open_readonly(self) -> list[Event]:
        """Every event, without repairing anything (for files we must not modify, such as
        the shipped sample data). Any bad line, even the last, raises."""
        try:
            fd = open_regular(self.path, os.O_RDONLY)
        except OSError as exc:
            raise JournalError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            data = _read_all(fd)
        finally:
            os.close(fd)
        events, good_end, torn, bad = self._parse(data, start_line=1, final=False)
        if bad:
            raise JournalCorruptError(self.path, bad[0].line_no, bad[0].reason)
        if torn or good_end != len(data):
            raise JournalCorruptError(self.path, data.count(b"\n", 0, good_end) + 1, "incomplete last line")
        return events

    def read_new(self) -> list[Event]:
        """Events appended (by anyone) since the last read. An incomplete last line is left
        for the next call: its writer may still be writing it. Corrupt lines are skipped,
        quarantined and added to ``damaged``."""
        try:
            fd = open_regular(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise JournalError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            if size < self._offset:
                # The file shrank under us: start over (events already known are skipped
                # by id wherever they are used).
                self._offset = self._lines_read = 0
            data = os.pread(fd, size - self._offset, self._offset) if size > self._offset else b""
        finally:
            os.close(fd)
        end = data.rfind(b"\n") + 1
        if end == 0:
            return []
        events, good_end, _, bad = self._parse(data[:end], start_line=self._lines_read + 1, final=False)
        if bad:
            bad = [BadLine(b.line_no, b.offset + self._offset, b.reason, b.raw) for b in bad]
            self.damaged.extend(bad)
            self._quarantine(bad)
        self._offset += good_end
        self._lines_read += data.count(b"\n", 0, good_end)
        return events

    def _parse(
        self, data: bytes, *, start_line: int, final: bool, progress: Callable[[int, int], None] | None = None
    ) -> tuple[list[Event], int, bool, list[BadLine]]:
        """Events, the offset after the last complete line, whether the tail is torn (no
        newline), and the complete lines that are not good events."""
        with bulk(len(data) // 100):  # lines are hundreds of bytes: a cheap upper bound
            return self._parse_lines(data, start_line, progress)

    def _parse_lines(
        self, data: bytes, start_line: int, progress: Callable[[int, int], None] | None
    ) -> tuple[list[Event], int, bool, list[BadLine]]:
        events: list[Event] = []
        bad: list[BadLine] = []
        incident_id = self.incident_id
        pos = 0
        line_no = start_line - 1
        length = len(data)
        while pos < length:
            newline = data.find(b"\n", pos)
            line_no += 1
            if newline == -1:
                # No newline: the write was cut short. Only possible at the very end.
                return events, pos, True, bad
            line = data[pos:newline]
            reason = None
            try:
                raw = decode_line(line)
            except ValueError as exc:
                reason = str(exc)
            else:
                try:
                    event = decode_trusted(raw, incident_id)
                except ValueError as exc:
                    reason = f"invalid event: {exc}"
                else:
                    if event.incident_id != incident_id:
                        reason = f"event belongs to incident {event.incident_id}"
                    else:
                        events.append(event)
            if reason is not None:
                bad.append(BadLine(line_no, pos, reason, line))
            pos = newline + 1
            if progress is not None and not line_no % _PROGRESS_EVERY:
                progress(pos, length)
        if progress is not None:
            progress(pos, length)
        return events, pos, False, bad

    def _quarantine(self, bad: list[BadLine]) -> None:
        """Copy corrupt lines to the quarantine file (once each), fsync'd: even if someone
        later cleans the journal up by hand, the bytes are kept."""
        path = self.quarantine_path
        try:
            fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        except (OSError, JournalError):
            return  # reported anyway; the journal itself still holds the bytes
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            known = set(_read_all(fd).split(b"\n"))
            fresh = [b.raw for b in bad if b.raw not in known]
            if fresh:
                os.write(fd, b"".join(raw + b"\n" for raw in dict.fromkeys(fresh)))
                os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    # --- writing --------------------------------------------------------------------------

    def append(self, events: list[Event]) -> None:
        """Write and fsync; returns only once the events are durable. Raises JournalError."""
        if not events:
            return
        for event in events:
            if event.incident_id != self.incident_id:
                raise ValueError("event belongs to another incident")
        blob = b"".join(encode_line(e) for e in events)
        # With our descriptor open the file exists (its name is checked under the lock).
        if self._fd is None and not os.path.lexists(self.path):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                error = ReadOnlyError if exc.errno in READ_ONLY_ERRNOS else JournalError
                raise error(f"cannot create {self.path.parent}: {exc.strerror}. The entry was NOT saved.") from None
        fd = self._locked_append_fd()
        created = self._created
        saved = False
        try:
            size = self._locked_size
            if size != self._appended_end:  # someone else wrote since our last append
                removed = _cut_torn_tail(fd, size)
                self.torn_bytes_removed += removed
                size -= removed
            written = os.write(fd, blob)
            if written != len(blob):
                # Never leave a partial line behind us: cut back to where we started.
                os.ftruncate(fd, os.fstat(fd).st_size - written)
                raise JournalError(f"short write to {self.path} (disk full?); nothing was saved")
            _fsync(fd)
            saved = True
            self._appended_end = size + written
        except OSError as exc:
            raise JournalError(
                f"could not save to {self.path}: {exc.strerror}. The entry was NOT saved."
            ) from None
        finally:
            if saved:
                fcntl.flock(fd, fcntl.LOCK_UN)
            else:
                if created and os.fstat(fd).st_size == 0:
                    # The file this append created holds nothing: leave nothing behind, or an
                    # empty journal would show up as an incident nobody declared. (Unlinked
                    # under the lock; a writer waiting for it notices and opens the path again.)
                    with contextlib.suppress(OSError):
                        os.unlink(self.path)
                self._close_append_fd()  # opened afresh next time (this also unlocks)
        if created:
            fsync_dir(self.path.parent)

    def _locked_append_fd(self) -> int:
        """The descriptor appends go to, under the journal's lock. It is kept open between
        appends (an Enter costs a write and an fsync, not an open and a close too) and opened
        again when the path no longer names its file: ``warroom repair`` moved the journal
        aside, or a failed first write removed it while we waited for the lock."""
        self._created = False
        for _ in range(3):
            fd = self._fd
            if fd is None:
                self._created = not os.path.lexists(self.path)
                try:
                    fd = self._fd = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
                except OSError as exc:
                    error = ReadOnlyError if exc.errno in READ_ONLY_ERRNOS else JournalError
                    raise error(f"cannot open {self.path} for writing: {exc.strerror}. The entry was NOT saved.") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                held = os.fstat(fd)
                try:
                    named = os.lstat(self.path)
                except FileNotFoundError:
                    named = None
            except OSError as exc:
                self._close_append_fd()
                raise JournalError(f"cannot lock {self.path}: {exc.strerror}") from None
            if held.st_nlink > 0 and named is not None and (named.st_ino, named.st_dev) == (held.st_ino, held.st_dev):
                self._locked_size = held.st_size
                return fd
            self._close_append_fd()
        raise JournalError(f"{self.path} keeps disappearing; is something deleting journals?")

    def _close_append_fd(self) -> None:
        self._appended_end = -1
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Let go of the descriptor kept for appends (reopened by the next append)."""
        self._close_append_fd()

    def __del__(self) -> None:
        try:
            self._close_append_fd()
        except Exception:  # at interpreter exit: the process's descriptors close anyway
            pass


def _cut_torn_tail(fd: int, size: int) -> int:
    """Called under the lock before appending: if the file does not end with a newline, a
    writer (another process) died mid-line. That line was never reported as saved; cut it
    off so our line does not get glued onto it and turn into corruption. Returns the bytes
    removed (almost always 0, at the cost of one 1-byte pread)."""
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
    # Reads sized to the whole file (and a byte more, to meet its end): a journal comes in one
    # read, and joining a single chunk copies nothing.
    size = max(os.fstat(fd).st_size + 1, 1 << 16)
    chunks = []
    while chunk := os.read(fd, size):
        chunks.append(chunk)
    return b"".join(chunks)
