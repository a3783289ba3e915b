"""The scribe box with its queue: lines are written in the order entered, and a line that is
not written is never lost.

* Enter turns the line into its event at once (the time is the moment of Enter) and queues
  it; one writer thread journals queued events in order, several at a time when they pile
  up (one write + fsync per incident per batch). Until its fsync returns a line is shown as
  *saving* at the end of the timeline; then it is an entry like any other.
* A line that is refused (an unknown ``/kind``, no incident selected), whose write fails
  (disk full, read-only data dir), or whose time must be confirmed first (another day, more
  than 12 hours back) goes to the **not saved** list under the box with its reason. There it
  can be logged as it is (enter: retry, or confirm the time), brought back into the box to be
  edited (``e``), or thrown away on purpose (``delete``). It never merges with another line.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from warroom.domain.commands import DomainError
from warroom.domain.events import Event
from warroom.domain.scribe import UTC, ScribeError, describe_time, starts_with_clock_time
from warroom.domain.scribe_entry import PreparedEntry
from warroom.domain.text import safe_line
from warroom.store.journal import JournalError
from warroom.ui.widgets.scribe import ScribeInput

Prepare = Callable[[str, "datetime | None"], PreparedEntry]
"""``prepare(text, when)``: the line's event (``when`` dates a line without its own time)."""
Record = Callable[[list[Event]], None]
"""Durably journal events (fsync) or raise."""

_BATCH_MAX = 200
_STOP = object()


class LineState(StrEnum):
    SAVING = "saving"
    REFUSED = "refused"
    FAILED = "failed"
    ASKING = "asking"


@dataclass
class QueuedLine:
    key: int
    text: str
    """The line as typed, for editing."""
    state: LineState
    reason: str = ""
    prepared: PreparedEntry | None = None
    entered_at: datetime | None = None
    """When Enter was pressed: a line brought back to be edited keeps it."""

    @property
    def event(self) -> Event | None:
        return self.prepared.event if self.prepared else None


class JournalWriter:
    """One thread that journals queued events in the order they were queued."""

    def __init__(self, record: Record, saved: Callable[[list[int]], None], failed: Callable[[list[int], str], None]) -> None:
        self._record = record
        self._saved = saved
        self._failed = failed
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        # Not a daemon: if the app ends while lines are queued, Python waits for them to be
        # written before the process exits.
        self._thread = threading.Thread(target=self._run, name="warroom scribe writer", daemon=False)
        self._thread.start()

    def put(self, key: int, event: Event) -> None:
        self._queue.put((key, event))

    def close(self, *, wait: bool = True, timeout: float = 30.0) -> None:
        """Write what is queued, then stop (the app is closing: typed lines still land).
        ``wait``: return only once they have."""
        self._queue.put(_STOP)
        if wait:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < _BATCH_MAX:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[int, Event]]) -> None:
        # Runs of one incident in a row go to its journal in one write: a failure is then
        # exactly that run's, and order is kept within and across incidents.
        for _incident, run in itertools.groupby(batch, key=lambda item: item[1].incident_id):
            run = list(run)
            keys = [key for key, _ in run]
            try:
                self._record([event for _, event in run])
            except (JournalError, DomainError, OSError) as exc:
                self._failed(keys, str(exc))
            except Exception as exc:  # never let the writer die with lines in its queue
                self._failed(keys, f"unexpected error: {exc!r}")
            else:
                self._saved(keys)


class UnsavedLines(OptionList):
    """The lines that are not saved, each with its reason.

    | Key | Action |
    | --- | --- |
    | enter | log it as it is (retry, read it again, or yes to the question) |
    | e | back into the scribe box to edit |
    | delete | throw it away (said so; nothing else is lost) |
    """

    BINDINGS = [
        Binding("enter", "retry", "Log it", id="unsaved.retry", tooltip="Log the line as it is (retry, or answer yes)"),
        Binding("e", "edit", "Edit", id="unsaved.edit", tooltip="Bring the line back into the scribe box"),
        Binding("delete,backspace", "discard", "Discard", id="unsaved.discard", tooltip="Throw the line away"),
    ]

    DEFAULT_CSS = """
    UnsavedLines {
        display: none;
        height: auto;
        max-height: 6;
        border: round $error;
        border-title-color: $error;
        &.-shown { display: block; }
    }
    """

    class Chosen(Message):
        def __init__(self, key: int, intent: str) -> None:
            super().__init__()
            self.key = key
            self.intent = intent

    def action_retry(self) -> None:
        self._choose("retry")

    def action_edit(self) -> None:
        self._choose("edit")

    def action_discard(self) -> None:
        self._choose("discard")

    def _choose(self, intent: str) -> None:
        if self.highlighted is not None:
            option = self.get_option_at_index(self.highlighted)
            self.post_message(self.Chosen(int(option.id or -1), intent))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(int(event.option.id or -1), "retry"))


class ScribeDesk(Vertical):
    """The scribe box, its queue and its not-saved list. The app calls :meth:`configure`."""

    DEFAULT_CSS = """
    ScribeDesk { height: auto; }
    """

    class EntriesSaved(Message):
        """Lines reached the journal (fsync'd): the app refreshes what it shows."""

        def __init__(self, events: list[Event]) -> None:
            super().__init__()
            self.events = events

    class PendingChanged(Message):
        """The lines being saved changed: the timeline shows them as *saving*."""

        def __init__(self, rows: list[tuple[str, datetime, str, str, str]]) -> None:
            super().__init__()
            self.rows = rows
            """(incident id, time, kind, author, text) per line, in the order entered; the
            text as typed (the event's own may be sealed)."""

    class LinesWritten(Message):
        """From the writer thread: these lines are on disk (``reason`` None) or failed."""

        def __init__(self, keys: list[int], reason: str | None) -> None:
            super().__init__()
            self.keys = keys
            self.reason = reason

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._prepare: Prepare | None = None
        self._zone: Callable[[], tzinfo] = lambda: UTC
        self._now: Callable[[], datetime] | None = None
        self._writer: JournalWriter | None = None
        self._keys = itertools.count(1)
        self.lines: dict[int, QueuedLine] = {}
        """Every line not yet in the journal, by key, in the order entered."""
        self.saved_count = 0
        self.entered_count = 0
        """Lines entered so far (Enter or a paste), saved or not."""
        self._shown_unsaved: tuple = ()
        self._change_after_frame = False

    def compose(self) -> ComposeResult:
        yield ScribeInput(id="scribe")
        unsaved = UnsavedLines(id="unsaved")
        unsaved.border_title = "Not saved"
        unsaved.border_subtitle = "enter log it · e edit · del discard"
        yield unsaved

    def configure(self, *, prepare: Prepare, record: Record, zone: Callable[[], tzinfo], now: Callable[[], datetime]) -> None:
        self._prepare = prepare
        self._zone = zone
        self._now = now
        if self._writer is None:
            self._writer = JournalWriter(
                record,
                lambda keys: self.post_message(self.LinesWritten(keys, None)),
                lambda keys, reason: self.post_message(self.LinesWritten(keys, reason)),
            )

    def close(self, *, wait: bool = True) -> None:
        """Finish writing the queue, then stop the writer; ``wait`` for it (quitting)."""
        if self._writer is not None:
            self._writer.close(wait=wait and bool(self.pending))
            self._writer = None

    def on_unmount(self) -> None:
        # Never block the event loop here: the writer (not a daemon) finishes on its own.
        self.close(wait=False)

    @property
    def input(self) -> ScribeInput:
        return self.query_one(ScribeInput)

    @property
    def pending(self) -> list[QueuedLine]:
        return [line for line in self.lines.values() if line.state is LineState.SAVING]

    @property
    def unsaved(self) -> list[QueuedLine]:
        return [line for line in self.lines.values() if line.state is not LineState.SAVING]

    # --- entering lines ----------------------------------------------------------------------

    def on_scribe_input_line_entered(self, message: ScribeInput.LineEntered) -> None:
        message.stop()
        self.submit(message.text)

    def submit(self, text: str, *, when: datetime | None = None, confirmed: bool = False) -> None:
        """Queue one line (in order), or file it under *not saved* with its reason."""
        line = QueuedLine(next(self._keys), text, LineState.SAVING, entered_at=when or (self._now() if self._now else None))
        self.lines[line.key] = line
        self.entered_count += 1
        try:
            if self._prepare is None:
                raise DomainError("the console is still loading")
            line.prepared = self._prepare(text, when)
        except (ScribeError, DomainError) as exc:
            line.state, line.reason = LineState.REFUSED, str(exc)
            self._changed()
            return
        if line.prepared.question and not confirmed:
            line.state, line.reason = LineState.ASKING, line.prepared.question
            self._changed()
            return
        self._write(line)

    def submit_many(self, texts: list[str], *, confirmed: bool = False) -> None:
        for text in texts:
            self.submit(text, confirmed=confirmed)

    def questions_for(self, texts: list[str]) -> list[str]:
        """What logging these lines would ask (times on another day...), without logging."""
        found = []
        for text in texts:
            try:
                prepared = self._prepare(text, None) if self._prepare else None
            except (ScribeError, DomainError):
                continue  # refused lines are listed with their reason when logged
            if prepared is not None and prepared.question:
                found.append(prepared.question)
        return found

    def _write(self, line: QueuedLine) -> None:
        line.state, line.reason = LineState.SAVING, ""
        assert line.event is not None and self._writer is not None
        self._writer.put(line.key, line.event)
        # The emptied box goes out in a frame of its own, as light as a keystroke's: the
        # next line can be typed at once. The saving marks (the box's border, the timeline's
        # saving row) follow in the next frame, unless the line is on disk by then.
        if not self._change_after_frame:
            self._change_after_frame = True
            self.call_after_refresh(self._changed_after_frame)

    def _changed_after_frame(self) -> None:
        self._change_after_frame = False
        self._changed()

    def on_scribe_desk_lines_written(self, message: LinesWritten) -> None:
        message.stop()
        done: list[Event] = []
        for key in message.keys:
            line = self.lines.get(key)
            if line is None:
                continue
            if message.reason is None:
                del self.lines[key]
                done.append(line.event)  # type: ignore[arg-type]
            else:
                line.state, line.reason = LineState.FAILED, message.reason
        if done:
            self.saved_count += len(done)
            self.post_message(self.EntriesSaved(done))
        self._changed(saved=done[-1] if done else None)

    # --- the not-saved list ----------------------------------------------------------------

    def on_unsaved_lines_chosen(self, message: UnsavedLines.Chosen) -> None:
        message.stop()
        line = self.lines.get(message.key)
        if line is None:
            return
        if message.intent == "discard":
            del self.lines[line.key]
            self.app.notify(f"Thrown away, not logged: {line.text[:80]}", title="Scribe", timeout=8)
        elif message.intent == "edit":
            self._bring_back(line)
            return
        elif line.state is LineState.REFUSED:
            # Read it again: what refused it may have changed (the incidents have loaded, one
            # is selected now). Refused again, it comes back with the new reason.
            del self.lines[line.key]
            self.submit(line.text, when=line.entered_at)
            return
        elif line.state is LineState.ASKING:
            self._write(line)  # the answer is yes: as asked, with the time shown
        else:
            self._write(line)  # the same event again: writing it twice is harmless
        self._changed()

    def _bring_back(self, line: QueuedLine) -> None:
        box = self.input
        if box.value.strip():
            self.app.notify("The box holds a line already: log or clear it first (ctrl+u).", severity="warning", timeout=5)
            return
        text = line.text
        when = line.event.at if line.event is not None else line.entered_at
        if when is not None and not starts_with_clock_time(text):
            # Keep the moment it was first entered, written so it can be seen and changed.
            text = f"{when.astimezone(self._zone()):%H:%M:%S} - {text.strip()}"
        del self.lines[line.key]
        box.value = ""
        box.take_text(text)
        box.focus()
        self._changed()

    # --- paste ------------------------------------------------------------------------------

    def on_scribe_input_paste_received(self, message: ScribeInput.PasteReceived) -> None:
        message.stop()
        from warroom.ui.screens.paste import PasteScreen

        box = self.input
        combined = message.before + message.text + message.after

        def chosen(texts: list[str] | None) -> None:
            if not texts:
                # Said on the box itself: a toast would sit on top of the box it talks about.
                box.border_subtitle = "paste NOT logged: the box kept its text"
                return
            box.value = ""
            # The dialog showed the times that needed a question: choosing was the answer.
            self.submit_many(texts, confirmed=True)
            box.focus()

        self.app.push_screen(PasteScreen(combined, questions=self.questions_for), chosen)

    # --- showing the state -------------------------------------------------------------------

    def _changed(self, saved: Event | None = None) -> None:
        box = self.input
        pending = self.pending
        unsaved = self.unsaved
        box.set_class(bool(pending), "-saving")
        box.set_class(bool(unsaved), "-failed")
        if unsaved:
            box.border_subtitle = f"{len(unsaved)} NOT saved: see below (tab)"
        elif pending:
            box.border_subtitle = f"saving {len(pending)}…" if len(pending) > 1 else "saving…"
        elif saved is not None:
            box.border_subtitle = "saved ✓ " + describe_time(saved.at, self._zone(), self._now() if self._now else None)
        self._show_unsaved(unsaved)
        rows = [
            (line.event.incident_id, line.event.at, line.prepared.line.kind.value, line.event.actor, line.prepared.line.text)
            for line in pending
            if line.event is not None and line.prepared is not None
        ]
        self.post_message(self.PendingChanged(rows))

    def _show_unsaved(self, unsaved: list[QueuedLine]) -> None:
        shown = tuple((line.key, line.state, line.reason) for line in unsaved)
        if shown == self._shown_unsaved:
            return  # the usual case on every Enter: rebuild nothing
        self._shown_unsaved = shown
        listing = self.query_one(UnsavedLines)
        highlighted = listing.highlighted
        listing.clear_options()
        for line in unsaved:
            label = Text(no_wrap=True, overflow="ellipsis")
            flat = safe_line(" ".join(line.text.split()))
            label.append("? " if line.state is LineState.ASKING else "✗ ", style="bold")
            label.append(flat if len(flat) <= 60 else flat[:59] + "…")
            label.append("  — " + safe_line(line.reason), style="bold")
            if line.state is LineState.ASKING:
                label.append(" (enter logs it)", style="bold")
            listing.add_option(Option(label, id=str(line.key)))
        listing.set_class(bool(unsaved), "-shown")
        listing.border_title = f"Not saved ({len(unsaved)})"
        if unsaved:
            listing.highlighted = min(highlighted or 0, len(unsaved) - 1)
