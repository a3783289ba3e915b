"""The scribe box under bursts and pastes (Pilot): every Enter is one entry, in order, and
nothing typed disappears without a message."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from textual import events

from warroom.domain.events import TEXT_MAX
from warroom.domain.scribe_entry import paste_lines, split_long
from warroom.store import journal as journal_module
from warroom.store.journal import Journal, JournalError
from warroom.store.workspace import Workspace
from warroom.ui.screens.paste import PasteScreen, paste_choices
from warroom.ui.widgets.scribe import ScribeInput
from warroom.ui.widgets.scribe_desk import LineState, ScribeDesk, UnsavedLines
from warroom.ui.widgets.timeline import TimelineView


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def drained(pilot, timeout: float = 60.0) -> None:
    """Until the writer has nothing left to write (it runs in its own thread)."""
    desk = pilot.app.query_one(ScribeDesk)
    for _ in range(int(timeout / 0.05)):
        await pilot.pause(0.05)
        if not desk.pending:
            await settle(pilot)
            return
    raise AssertionError(f"{len(desk.pending)} lines still being saved")


def journal_texts(data_dir, incident_id, clock) -> list[str]:
    """What is on disk, read by a separate workspace (not the app's memory)."""
    reader = Workspace(data_dir, "reader", clock)
    reader.load()
    return [e.text for e in reader.get(incident_id).timeline if not e.kind.is_automatic]


def burst_keys(lines: list[str]) -> list[str]:
    keys: list[str] = []
    for line in lines:
        keys += [*line, "enter"]
    return keys


async def burst(pilot, keys: list[str]) -> None:
    """Every key handed to the driver at once, with no wait at all between them: what a
    terminal delivers when keys arrive in one read (a laggy SSH link, tmux send-keys).
    ``pilot.press`` waits for the app to go idle after each key, which hides exactly the
    races a burst exposes (a key typed after Enter being handled before it)."""
    import unicodedata

    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    driver = pilot.app._driver
    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        original = REPLACED_KEYS.get(key, key)
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(original))
        except KeyError:
            char = key if len(key) == 1 else None
        driver.send_message(events.Key(key, char))
    # Until the app has handled every key (each Enter is one line entered).
    desk = pilot.app.query_one(ScribeDesk)
    target = desk.entered_count + keys.count("enter") + keys.count("ctrl+j")
    for _ in range(1200):
        await pilot.pause(0.05)
        if desk.entered_count >= target:
            await pilot.pause(0.1)  # and the messages that followed (pending rows, banners)
            return
    raise AssertionError(f"the app handled {desk.entered_count} of {target} lines")


LINES = [f"burst {n:03d} - rollback step {n} ok" for n in range(200)]


async def test_200_lines_without_pauses_are_200_entries_in_order(make_app, sample_dir, clock):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        before = journal_texts(sample_dir, incident_id, clock)
        await burst(pilot, burst_keys(LINES))
        await drained(pilot)
        assert app.query_one(ScribeInput).value == ""
        assert app.query_one(ScribeDesk).unsaved == []
        shown = [e.text for e in app.query_one(TimelineView).entries][-200:]
        assert shown == LINES
    assert journal_texts(sample_dir, incident_id, clock) == before + LINES


async def test_editing_keys_in_a_burst_apply_in_the_order_typed(make_app, sample_dir, clock):
    """Backspace and ctrl+u are the box's bindings: they must act where they were typed, not
    after the letters that followed them arrived."""
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        before = journal_texts(sample_dir, incident_id, clock)
        keys = [*"rollbakc", "backspace", "backspace", *"ck ok", "enter", *"typo", "ctrl+u", *"clean line", "enter"]
        await burst(pilot, keys)
        await drained(pilot)
    assert journal_texts(sample_dir, incident_id, clock) == before + ["rollback ok", "clean line"]


async def test_lines_typed_with_pilot_press_and_no_pauses(make_app, sample_dir, clock):
    # pilot.press idles ~40-70 ms after every key, so 200 lines would take minutes here:
    # the 200-line figure is the burst above and the tmux test; this is the same path.
    lines = [f"p{n:02d} ok" for n in range(20)]
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        before = journal_texts(sample_dir, incident_id, clock)
        await pilot.press(*burst_keys(lines))
        await drained(pilot)
    assert journal_texts(sample_dir, incident_id, clock) == before + lines


async def test_burst_while_fsync_is_slow_shows_lines_saving_then_saved(make_app, sample_dir, clock, monkeypatch):
    # The journal's fsync hook held until the test lets it go: a disk as slow as it gets.
    gate = threading.Event()
    real_fsync = journal_module._fsync

    def slow_fsync(fd: int) -> None:
        gate.wait(30)
        real_fsync(fd)

    monkeypatch.setattr(journal_module, "_fsync", slow_fsync)
    app = make_app(sample_dir, poll_journals=False)
    try:
        await _burst_with_a_gated_disk(app, gate, sample_dir, clock)
    finally:
        gate.set()


async def _burst_with_a_gated_disk(app, gate, sample_dir, clock) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        before = journal_texts(sample_dir, incident_id, clock)
        await burst(pilot, burst_keys(LINES[:60]))
        desk = app.query_one(ScribeDesk)
        timeline = app.query_one(TimelineView)
        # The disk is behind: lines wait, shown as saving at the end of the timeline, and
        # the box is already free for the next one.
        assert desk.pending, "with a slow disk some lines must still be in flight"
        assert app.query_one(ScribeInput).value == ""
        assert [row[3] for row in timeline.pending] == [line.text for line in desk.pending]
        assert "saving" in app.query_one(ScribeInput).border_subtitle
        # Written maybe, but not fsync'd: nothing of it is shown as an entry yet.
        assert not {e.text for e in app.current.timeline} & set(LINES)
        await burst(pilot, burst_keys(LINES[60:]))
        gate.set()
        await drained(pilot)
        assert timeline.pending == []
        assert app.query_one(ScribeInput).border_subtitle.startswith("saved ✓")
    assert journal_texts(sample_dir, incident_id, clock) == before + LINES


async def test_a_refused_line_in_a_burst_is_kept_apart_and_the_others_are_saved(make_app, sample_dir, clock):
    lines = LINES[:100] + ["/foo this kind does not exist"] + LINES[100:]
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        before = journal_texts(sample_dir, incident_id, clock)
        await burst(pilot, burst_keys(lines))
        await drained(pilot)
        desk = app.query_one(ScribeDesk)
        [refused] = desk.unsaved
        assert refused.state is LineState.REFUSED
        assert refused.text == "/foo this kind does not exist"
        assert "unknown entry kind /foo" in refused.reason
        listing = app.query_one(UnsavedLines)
        assert listing.has_class("-shown") and listing.option_count == 1
        assert "NOT saved" in app.query_one(ScribeInput).border_subtitle
    # Nothing merged into it, nothing lost after it.
    assert journal_texts(sample_dir, incident_id, clock) == before + LINES


async def test_a_failed_write_goes_to_the_list_and_is_retried_there(make_app, sample_dir, clock, monkeypatch):
    calls = {"n": 0}
    real_append = Journal.append

    def flaky_append(self, events):
        calls["n"] += 1
        if calls["n"] == 2:
            raise JournalError(f"could not save to {self.path}: No space left on device. The entry was NOT saved.")
        return real_append(self, events)

    monkeypatch.setattr(Journal, "append", flaky_append)
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        before = journal_texts(sample_dir, incident_id, clock)
        for line in ("first", "second", "third"):
            await pilot.press(*line, "enter")
            await drained(pilot)
        desk = app.query_one(ScribeDesk)
        assert [(line.text, line.state) for line in desk.unsaved] == [("second", LineState.FAILED)]
        assert journal_texts(sample_dir, incident_id, clock) == before + ["first", "third"]
        await pilot.press("tab", "enter")  # retry from the list: the same event, its own time
        await drained(pilot)
        assert desk.unsaved == []
    # "second" keeps the moment it was entered: it sorts between the other two.
    assert journal_texts(sample_dir, incident_id, clock) == before + ["first", "second", "third"]


async def test_a_line_can_be_thrown_away_only_on_purpose_and_it_is_said(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"/bogus oops", "enter")
        await settle(pilot)
        await pilot.press("tab", "delete")
        await settle(pilot)
        assert app.query_one(ScribeDesk).unsaved == []
        assert any("Thrown away, not logged: /bogus oops" in n.message for n in app._notifications)


async def test_quitting_with_lines_not_saved_asks_first(make_app, sample_dir):
    from warroom.ui.screens.comms import ConfirmScreen

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"/bogus oops", "enter", "ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.is_running
        await pilot.press("n")
        await settle(pilot)
        assert app.is_running and app.query_one(ScribeDesk).unsaved


# --- paste ------------------------------------------------------------------------------------

PASTED = [f"14:{n + 10:02d} - pasted line {n}" for n in range(20)]


async def paste(pilot, text: str) -> None:
    """A bracketed paste, as the terminal driver delivers it."""
    pilot.app._driver.send_message(events.Paste(text))
    await settle(pilot)


async def test_bracketed_paste_of_20_lines_asks_once_then_one_entry_per_line_with_their_times(make_app, sample_dir, clock):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        await paste(pilot, "\n".join(PASTED) + "\n")
        assert isinstance(app.screen, PasteScreen)
        assert app.screen.choices["lines"] == PASTED
        await pilot.press("enter")  # the first choice: one entry per line
        await drained(pilot)
        assert not isinstance(app.screen, PasteScreen)
    reader = Workspace(sample_dir, "reader", clock)
    reader.load()
    pasted = [e for e in reader.get(incident_id).timeline if e.text.startswith("pasted line")]
    assert [e.text for e in pasted] == [f"pasted line {n}" for n in range(20)]
    assert [f"{e.at:%H:%M}" for e in pasted] == [f"14:{n + 10:02d}" for n in range(20)]


async def test_bracketed_paste_as_one_multi_line_entry(make_app, sample_dir, clock):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"/decision ")  # typed before the paste: it leads the entry
        await paste(pilot, "roll back payments-api\nkeep the canary at 5%\r\nthen re-enable retries")
        await pilot.press("down", "enter")
        await drained(pilot)
        entry = app.current.timeline[-1]
        assert entry.kind.value == "decision"
        assert entry.text == "roll back payments-api\nkeep the canary at 5%\nthen re-enable retries"
        assert app.query_one(ScribeInput).value == ""


async def test_unbracketed_paste_of_20_lines_is_20_entries(make_app, sample_dir, clock):
    """Without bracketed paste the terminal sends the text as keys: newlines as Enter (CR) or
    as a line feed (ctrl+j). Each line is one entry either way; none is merged."""
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        before = journal_texts(sample_dir, incident_id, clock)
        keys: list[str] = []
        for n, line in enumerate(PASTED):
            keys += [*line, "enter" if n % 2 else "ctrl+j"]
        await burst(pilot, keys)
        await drained(pilot)
    after = journal_texts(sample_dir, incident_id, clock)
    added = Counter(after) - Counter(before)
    assert sorted(added.elements()) == sorted(f"pasted line {n}" for n in range(20))
    assert len(after) == len(before) + 20  # backdated, they sort among the sample's entries


async def test_paste_over_the_limit_is_refused_with_a_message_and_the_box_keeps_its_text(make_app, sample_dir, clock):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        count = len(app.current.timeline)
        await pilot.press(*"note: ")
        huge = " ".join(f"word{n}" for n in range(1500))  # ~10,000 characters, one line
        await paste(pilot, huge)
        assert isinstance(app.screen, PasteScreen)
        assert "an entry holds 4,000" in str(app.screen.query_one("#paste-preview").parent.border_title)
        await pilot.press("escape")
        await settle(pilot)
        assert app.query_one(ScribeInput).value == "note: "  # kept, not emptied
        assert app.query_one(ScribeInput).border_subtitle == "paste NOT logged: the box kept its text"
        assert len(app.current.timeline) == count

        await paste(pilot, huge)
        await pilot.press("enter")  # offered as several entries, cut at spaces, in order
        await drained(pilot)
        pieces = [e.text for e in app.current.timeline[count:]]
        assert len(pieces) == len(split_long("note: " + huge)) >= 3
        assert all(len(p) <= TEXT_MAX for p in pieces)
        assert " ".join(pieces) == "note: " + huge


def test_paste_lines_and_splitting():
    assert paste_lines("a\r\n\r\n  b  \rc\n") == ["a", "b", "c"]
    assert split_long("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]
    assert split_long("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
    choices = paste_choices("one\n" + "y" * 5000)
    assert "single" not in choices  # too long for one entry
    assert choices["lines"][0] == "one" and len(choices["lines"]) == 3


@pytest.mark.parametrize("pane", ["1", "2", "3", "4", "5"])
async def test_stray_typing_with_no_text_box_focused_changes_nothing(make_app, sample_dir, clock, pane):
    """Someone who thinks the scribe box has focus types a sentence: no dialog applies it,
    and the sentence ends up in the scribe box, where it was meant to go."""
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        events_before = len(app.workspace.events(incident_id))
        await pilot.press("escape", pane)
        await pilot.press(*"saw 2 errors the db is slow")
        await settle(pilot)
        assert app.screen is app.screen_stack[0]  # no dialog left open
        assert len(app.workspace.events(incident_id)) == events_before
        assert app.query_one(ScribeInput).value == "saw 2 errors the db is slow"
        assert isinstance(app.focused, ScribeInput)
    reader = Workspace(sample_dir, "reader", clock)
    reader.load()
    assert len(reader.events(incident_id)) == events_before


async def test_entries_typed_into_a_full_timeline_are_drawn_at_its_end_with_the_scroll_bar(make_app, empty_dir, clock):
    """Past the first page the timeline grows without a layout of the screen: the new line,
    the scroll range and the scroll bar must still all follow."""
    from warroom.domain import commands
    from warroom.domain.models import Severity
    from warroom.store.workspace import Workspace
    from warroom.ui.widgets.timeline import TimelineView

    ws = Workspace(empty_dir, "alice", clock)
    ws.load()
    declared = commands.declare(ws.factory, title="Queue backlog", severity=Severity.SEV2)
    ws.record(declared)
    incident = ws.get(declared[0].incident_id)
    ws.record([commands.log_entry(ws.factory, incident, f"backlog sample {n}") for n in range(30)])
    app = make_app(empty_dir, poll_journals=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        timeline = app.query_one(TimelineView)
        height = timeline.scrollable_content_region.height
        assert timeline.virtual_size.height > height and timeline.show_vertical_scrollbar
        for n in range(3):
            before = timeline.max_scroll_y
            await pilot.press(*f"drained batch {n}", "enter")
            await settle(pilot)
            assert timeline.max_scroll_y == before + 1
            assert timeline.scroll_y == timeline.max_scroll_y  # still following the end
            assert timeline.vertical_scrollbar.window_virtual_size == timeline.virtual_size.height
            rows = [timeline.render_line(y).text for y in range(height)]
            assert f"drained batch {n}" in rows[-1]
            if n:
                assert f"drained batch {n - 1}" in rows[-2]
