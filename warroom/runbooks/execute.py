"""Run a runbook step's command, once a person has seen it and confirmed.

The command is exactly the text that was shown: it goes to the user's shell as one ``-c``
argument, with the user's own environment and working directory, and nothing from the
incident (which may have come over the network) is substituted into it. Text that could look
different on screen from what runs (control characters, bidirectional overrides, zero-width
characters) is refused before anything starts.

Output is streamed to a callback as it arrives, with escape sequences removed so nothing a
command prints can drive the terminal. The whole output is kept for the record up to
``OUTPUT_ATTACHMENT_MAX`` bytes; past that the record keeps the head and the tail, and the
whole output stays in a file on this machine (named in the record). A run ends when the
command exits, when it times out, or when it is cancelled; its process group is killed, so a
pipeline's children go with it.

Textual-free: the UI and the CLI both drive ``CommandRunner.run`` from a thread.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import selectors
import signal
import socket
import subprocess
import threading
import time
import unicodedata
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from warroom.domain.events import OUTPUT_ATTACHMENT_MAX
from warroom.domain.records import RunOutcome

DEFAULT_TIMEOUT_SECONDS = 300.0
HEAD_BYTES = 64 * 1024
"""Kept from the start of an output over the cap (how it began: the command, its banner)."""
KILL_GRACE_SECONDS = 2.0
"""Between SIGTERM and SIGKILL when a run is cancelled or times out."""
DRAIN_SECONDS = 1.0
"""How long to keep reading after the shell exits, for a background child still printing."""
_READ_BYTES = 64 * 1024

_ESCAPE_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, hyperlinks, clipboard
    r"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC strings
    r"|\x1b[@-Z\\-_]"  # two-character escapes
)
_LONGEST_ESCAPE = 4096
"""A sequence still open after this many characters is not one: let the text through."""
_HIDDEN_FORMAT = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}


class CommandRefused(Exception):
    """The command cannot be run as shown; the message says why."""


def check_command(command: str) -> None:
    """Refuse text whose meaning a person could not read off the screen."""
    if not command.strip():
        raise CommandRefused("the step has no command")
    for index, ch in enumerate(command):
        if ch in "\n\t":
            continue
        if unicodedata.category(ch) == "Cc":
            raise CommandRefused(f"the command contains a control character (U+{ord(ch):04X}) at position {index + 1}; copy it and check it by hand")
        if ch in _BIDI or ch in _HIDDEN_FORMAT:
            raise CommandRefused(f"the command contains an invisible character (U+{ord(ch):04X}) at position {index + 1}: what runs would differ from what you see")


def user_shell() -> str:
    """The user's login shell (``$SHELL``), or ``/bin/sh``."""
    shell = os.environ.get("SHELL", "")
    if shell.startswith("/") and os.access(shell, os.X_OK):
        return shell
    return "/bin/sh"


@dataclass(frozen=True)
class RunResult:
    """How a run ended and what it printed."""

    command: str
    outcome: RunOutcome
    exit_code: int | None
    duration_ms: int
    output: str
    """The attachment: the whole output, or head + marker + tail when over the cap."""
    output_bytes: int
    """Size of the whole (cleaned) output in UTF-8."""
    output_lines: int
    output_sha256: str
    truncated: bool
    full_output_path: Path | None = None
    """The whole output, kept on this machine when the attachment holds only part of it."""

    def event_fields(self) -> dict:
        """The fields of a ``command.ran`` event (see ``commands.record_command_run``)."""
        where = f"{socket.gethostname()}:{self.full_output_path}" if self.full_output_path else ""
        return {
            "command": self.command,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
            "output": self.output,
            "output_bytes": self.output_bytes,
            "output_lines": self.output_lines,
            "output_sha256": self.output_sha256,
            "truncated": self.truncated,
            "full_output_at": where[:500],
        }


class OutputCleaner:
    """Incremental: bytes in, printable text out (UTF-8 with replacement, escape sequences
    removed, ``\\r\\n`` and lone ``\\r`` as newlines, other control characters dropped). A
    sequence split across two reads is held back until it is complete."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._carry = ""

    def feed(self, data: bytes, final: bool = False) -> str:
        text = self._carry + self._decoder.decode(data, final)
        self._carry = ""
        if not final:
            last = text.rfind("\x1b")
            if last != -1 and not _ESCAPE_RE.match(text, last) and len(text) - last < _LONGEST_ESCAPE:
                self._carry, text = text[last:], text[:last]  # may complete in the next read
            if text.endswith("\r"):
                self._carry, text = "\r" + self._carry, text[:-1]
        text = _ESCAPE_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
        return "".join(ch for ch in text if ch in "\n\t" or not (unicodedata.category(ch) == "Cc" or ch in _BIDI))


class _Capture:
    """The whole output's size and hash, its head, a bounded tail, and (when given a spool
    path) every byte in a file — without ever holding more than the cap in memory."""

    def __init__(self, cap: int, spool_path: Path | None) -> None:
        self.cap = cap
        self.head_limit = min(HEAD_BYTES, cap // 4)
        self.tail_limit = cap - self.head_limit - 512  # room for the marker line
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.total = 0
        self.lines = 0
        self.last_byte = b""
        self.sha = hashlib.sha256()
        self.spool_path = spool_path
        self._spool = None

    def add(self, text: str) -> None:
        data = text.encode("utf-8")
        if not data:
            return
        self.total += len(data)
        self.lines += data.count(b"\n")
        self.last_byte = data[-1:]
        self.sha.update(data)
        if self.spool_path is not None:
            if self._spool is None:
                self.spool_path.parent.mkdir(parents=True, exist_ok=True)
                self._spool = open(self.spool_path, "wb")
            self._spool.write(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail.append(data)
            self.tail_size += len(data)
            while self.tail_size - len(self.tail[0]) >= self.tail_limit:
                self.tail_size -= len(self.tail.popleft())

    def finish(self) -> tuple[str, bool, Path | None]:
        """The attachment text, whether it was truncated, and the kept full copy."""
        if self._spool is not None:
            self._spool.flush()
            os.fsync(self._spool.fileno())
            self._spool.close()
        if self.total and self.last_byte != b"\n":
            self.lines += 1  # a last line without its newline is still a line
        if self.total <= self.cap:
            if self.spool_path is not None:
                self.spool_path.unlink(missing_ok=True)  # the record holds it all
            return (bytes(self.head) + b"".join(self.tail)).decode("utf-8", errors="replace"), False, None
        head = bytes(self.head)
        head = head[: head.rfind(b"\n") + 1] or head  # end on a whole line where possible
        tail = b"".join(self.tail)[-self.tail_limit:]
        cut = tail.find(b"\n")
        if 0 <= cut < len(tail) - 1:
            tail = tail[cut + 1:]
        omitted = self.total - len(head) - len(tail)
        kept = f"kept in {self.spool_path}" if self.spool_path is not None else "not kept"
        marker = f"[… {omitted:,} bytes omitted here; the whole output ({self.total:,} bytes) is {kept} …]\n"
        text = head.decode("utf-8", errors="replace") + marker + tail.decode("utf-8", errors="replace")
        return text, True, self.spool_path


class CommandRunner:
    """One run of one command. ``run`` blocks (call it from a worker thread); ``cancel`` may
    be called from any thread."""

    def __init__(
        self,
        command: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        on_output: Callable[[str], None] | None = None,
        shell: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        spool_dir: Path | None = None,
        cap: int = OUTPUT_ATTACHMENT_MAX,
    ) -> None:
        check_command(command)
        self.command = command
        self.timeout = timeout
        self.on_output = on_output
        self.shell = shell or user_shell()
        self.cwd = cwd
        self.env = env
        self.spool_path = spool_dir / f"run-{uuid.uuid4().hex[:12]}.log" if spool_dir is not None else None
        self.cap = cap
        self._cancelled = threading.Event()
        self._started = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def argv(self) -> list[str]:
        return [self.shell, "-c", self.command]

    def run(self) -> RunResult:
        capture = _Capture(self.cap, self.spool_path)
        cleaner = OutputCleaner()
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,  # its own process group: cancel kills the pipeline
            )
        except OSError as exc:
            message = f"could not start {self.shell}: {exc.strerror or exc}\n"
            capture.add(message)
            self._emit(message)
            return self._result(capture, RunOutcome.FAILED_TO_START, None, started)
        self._started.set()
        outcome = self._pump(proc, capture, cleaner, started)
        tail = cleaner.feed(b"", final=True)
        capture.add(tail)
        self._emit(tail)
        code = proc.returncode if outcome is RunOutcome.EXITED else None
        if outcome is not RunOutcome.EXITED:
            note = f"\n[{outcome.value} after {time.monotonic() - started:.1f}s: process group killed]\n"
            capture.add(note)
            self._emit(note)
        return self._result(capture, outcome, code, started)

    def _pump(self, proc: subprocess.Popen, capture: _Capture, cleaner: OutputCleaner, started: float) -> RunOutcome:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        os.set_blocking(fd, False)
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        outcome: RunOutcome | None = None
        exited_at: float | None = None
        held_open = False
        try:
            while True:
                now = time.monotonic()
                if outcome is None:
                    if self._cancelled.is_set():
                        outcome = RunOutcome.CANCELLED
                    elif now - started > self.timeout:
                        outcome = RunOutcome.TIMED_OUT
                    if outcome is not None:
                        self._kill(proc)
                        exited_at = time.monotonic()
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                if exited_at is not None and time.monotonic() - exited_at > DRAIN_SECONDS:
                    held_open = True  # a background child holds the pipe open: stop waiting
                    break
                if not selector.select(timeout=0.05):
                    continue
                try:
                    data = os.read(fd, _READ_BYTES)
                except BlockingIOError:
                    continue
                if not data:
                    break  # EOF: everyone holding the pipe is gone
                text = cleaner.feed(data)
                capture.add(text)
                self._emit(text)
        finally:
            selector.close()
            proc.stdout.close()
        if proc.poll() is None:
            self._kill(proc)
        elif held_open:
            # The shell is gone but its group still writes to our pipe: nobody would ever
            # read it again, so end it rather than leave it running unseen.
            _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        return outcome or RunOutcome.EXITED

    def _kill(self, proc: subprocess.Popen) -> None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(proc.pid, signal.SIGKILL)

    def _emit(self, text: str) -> None:
        if text and self.on_output is not None:
            self.on_output(text)

    def _result(self, capture: _Capture, outcome: RunOutcome, code: int | None, started: float) -> RunResult:
        output, truncated, kept = capture.finish()
        return RunResult(
            command=self.command,
            outcome=outcome,
            exit_code=code,
            duration_ms=int((time.monotonic() - started) * 1000),
            output=output,
            output_bytes=capture.total,
            output_lines=capture.lines,
            output_sha256=capture.sha.hexdigest(),
            truncated=truncated,
            full_output_path=kept,
        )


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
