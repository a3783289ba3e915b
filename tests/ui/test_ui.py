"""The console driven as a person would: keys in, screen and journal out (Textual Pilot)."""

from __future__ import annotations

import asyncio

import pytest

from warroom.domain.models import INCIDENT_COMMANDER, EntryKind, Severity, Status
from warroom.store.config import load_config
from warroom.store.journal import Journal, JournalError
from warroom.store.workspace import Workspace
from warroom.ui.screens.confirm import ConfirmChange
from warroom.ui.screens.declare import DeclareScreen
from warroom.ui.screens.pickers import TextPrompt
from warroom.ui.widgets.header import HeaderBar
from warroom.ui.widgets.scribe import ScribeInput
from warroom.ui.widgets.scribe_desk import ScribeDesk, UnsavedLines
from warroom.ui.widgets.timeline import TimelineView

try:
    from settling import settle
except ImportError:  # tests/ collected as a package
    from tests.ui.settling import settle


async def type_line(pilot, text: str) -> None:
    await pilot.press(*text)
    await pilot.press("enter")
    await settle(pilot)


async def test_ic_and_scribe_run_an_incident_then_restart_finds_everything(make_app, empty_dir, clock):
    app = make_app(empty_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        assert isinstance(app.screen, DeclareScreen)
        await type_line(pilot, "Checkout failing")
        assert isinstance(app.screen, ConfirmChange)  # SEV and IC shown before declaring
        await pilot.press("enter")
        await settle(pilot)
        incident = app.current
        assert incident is not None and incident.title == "Checkout failing"
        assert incident.commander == "alice"
        assert isinstance(app.focused, ScribeInput)

        await type_line(pilot, "/decision Roll back payments-api")
        await type_line(pilot, "14:02 - Alert fired")  # backdated: 15:12 is "now"
        await type_line(pilot, "/hypothesis bad deploy at 14:00")
        await type_line(pilot, "/todo contract test for stored cards")
        assert app.query_one(ScribeInput).value == ""

        # Hand over IC from the keyboard: Esc leaves the input, r opens the role dialog; every
        # change shows old → new and waits for Enter.
        await pilot.press("escape", "r")
        await pilot.press("enter")  # Incident Commander is highlighted first
        await type_line(pilot, "bob")
        assert app.screen.summary.lines == ["Incident Commander: alice → bob"]
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s", "1")  # severity → SEV1
        assert app.screen.summary.lines == ["Severity: SEV2 → SEV1 (Critical)"]
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("t", "enter")  # status → identified (the highlighted next step)
        assert app.screen.summary.lines == ["Status: investigating → identified"]
        await pilot.press("enter")
        await settle(pilot)
        incident_id = app.current.id

    reopened = Workspace(empty_dir, "carol", clock)
    reopened.load()
    state = reopened.get(incident_id)
    assert state.roles[INCIDENT_COMMANDER] == "bob"
    assert state.severity is Severity.SEV1
    assert state.status is Status.IDENTIFIED
    people = [(e.kind, e.text) for e in state.timeline if not e.kind.is_automatic]
    assert people == [
        (EntryKind.NOTE, "Alert fired"),  # backdated entry sorts by when it happened
        (EntryKind.DECISION, "Roll back payments-api"),
        (EntryKind.HYPOTHESIS, "bad deploy at 14:00"),
        (EntryKind.TODO, "contract test for stored cards"),
    ]
    automatic = [e.text for e in state.timeline if e.kind.is_automatic]
    assert "Incident Commander handed over: alice → bob" in automatic
    assert "Severity SEV2 → SEV1" in automatic
    assert "Status investigating → identified" in automatic

    # And the TUI itself shows the same thing after a restart.
    app2 = make_app(empty_dir, poll_journals=False)
    async with app2.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app2.current.id == incident_id
        shown = [e.text for e in app2.query_one(TimelineView).entries]
        assert shown == [e.text for e in state.timeline]


async def test_failed_write_keeps_the_text_and_says_why(make_app, sample_dir, monkeypatch):
    def broken_append(self, events):
        raise JournalError(f"could not save to {self.path}: No space left on device. The entry was NOT saved.")

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        before = len(app.current.timeline)
        monkeypatch.setattr(Journal, "append", broken_append)
        await type_line(pilot, "Rollback verified on all pods")
        scribe = app.query_one(ScribeInput)
        desk = app.query_one(ScribeDesk)
        assert scribe.value == ""  # the box is free for the next line at once
        assert scribe.has_class("-failed")
        [line] = desk.unsaved
        assert line.text == "Rollback verified on all pods" and "No space left" in line.reason
        assert len(app.current.timeline) == before
        assert "No space left" in str(app.query_one(UnsavedLines).get_option_at_index(0).prompt)

        # Once the disk is back, Enter on the line in the not-saved list writes it.
        monkeypatch.undo()
        await pilot.press("tab")
        assert isinstance(app.focused, UnsavedLines)
        await pilot.press("enter")
        await settle(pilot)
        assert desk.unsaved == [] and not scribe.has_class("-failed")
        assert app.current.timeline[-1].text == "Rollback verified on all pods"


async def test_bad_scribe_line_is_refused_and_kept(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        before = len(app.current.timeline)
        await type_line(pilot, "/bogus something")
        [line] = app.query_one(ScribeDesk).unsaved
        assert line.text == "/bogus something" and "unknown entry kind /bogus" in line.reason
        assert len(app.current.timeline) == before
        # e brings it back into the box to fix, keeping the moment it was first entered.
        await pilot.press("tab", "e")
        scribe = app.query_one(ScribeInput)
        assert scribe.value == "15:12:30 - /bogus something" and app.focused is scribe


async def test_entries_written_by_the_cli_appear_live(make_app, sample_dir, clock):
    app = make_app(sample_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        incident_id = app.current.id
        other = Workspace(sample_dir, "erin", clock)
        other.load()
        from warroom.domain import commands

        other.record([commands.log_entry(other.factory, other.get(incident_id), "written from another terminal")])
        for _ in range(50):  # the journal is polled every 0.5 s
            await pilot.pause(0.1)
            await settle(pilot)
            if app.current.timeline[-1].text == "written from another terminal":
                break
        assert app.query_one(TimelineView).entries[-1].text == "written from another terminal"


async def test_amend_and_redact_from_the_timeline_keep_history(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_line(pilot, "Customer email is jane@example.com")
        await pilot.press("escape", "e")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("end")
        await type_line(pilot, " (ticket 123)")
        assert isinstance(app.screen, ConfirmChange)
        await pilot.press("enter")
        await settle(pilot)
        entry = app.current.timeline[-1]
        assert entry.text == "Customer email is jane@example.com (ticket 123)"
        assert [r.text for r in entry.revisions][0] == "Customer email is jane@example.com"

        await pilot.press("x")
        await type_line(pilot, "contains a customer email")
        assert app.current.timeline[-1].text  # nothing is hidden before the confirmation
        await pilot.press("enter")
        await settle(pilot)
        entry = app.current.timeline[-1]
        assert entry.redacted and entry.text == ""
        assert len(entry.revisions) == 3


async def test_automatic_entries_cannot_be_amended(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        timeline = app.query_one(TimelineView)
        automatic = next(i for i, e in enumerate(timeline.entries) if e.kind.is_automatic)
        timeline.cursor = automatic
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, TextPrompt)
        assert any("cannot be edited" in n.message for n in app._notifications)


async def test_switching_incidents_switches_every_pane(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        first = app.current
        await pilot.press("escape", "1", "down")
        await pilot.pause()
        second = app.current
        assert second.id != first.id
        assert app.query_one(HeaderBar).incident.id == second.id
        assert app.query_one(TimelineView).entries[-1].text == second.timeline[-1].text


async def test_a_corrupt_journal_line_is_reported_and_everything_else_loads(make_app, sample_dir):
    victim = sorted((sample_dir / "incidents").glob("*.jsonl"))[0]
    lines = victim.read_bytes().splitlines(keepends=True)
    lines[1] = b"00000000 {\"not\": \"valid\"}\n"
    victim.write_bytes(b"".join(lines))
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        banner = app.query_one("#load-errors")
        assert banner.has_class("-shown")
        assert victim.name in str(banner.render()) and "warroom repair" in str(banner.render())
        assert len(app.workspace.incidents()) == 3  # the damaged one loads its good lines
    assert victim.read_bytes() == b"".join(lines)  # nothing was "repaired" away


async def test_first_run_asks_for_a_name_and_remembers_it(make_app, empty_dir):
    app = make_app(empty_dir, user="root", ask_name=True, save_settings=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("ctrl+u")  # clear the suggested login name
        await type_line(pilot, "Dana")
        assert app.workspace.actor == "Dana"
        assert app.query_one(HeaderBar).user == "Dana"
    assert load_config().user == "Dana"


async def test_declare_dialog_suggests_severity_from_the_matrix(make_app, empty_dir):
    app = make_app(empty_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        dialog = app.screen
        from warroom.domain.models import Impact, Scope
        from textual.widgets import Select

        dialog.query_one("#impact", Select).value = Impact.DEGRADED
        dialog.query_one("#scope", Select).value = Scope.WIDESPREAD
        await pilot.pause()
        assert dialog.query_one("#severity", Select).value is Severity.SEV2
        await pilot.press("enter")  # empty title: refused, dialog stays
        await pilot.pause()
        assert app.screen is dialog
        await type_line(pilot, "Login slow")
        await pilot.press("enter")  # the confirmation
        await settle(pilot)
        assert app.current.severity is Severity.SEV2


# --- snapshots: fixed size, frozen clock, fixed theme, no cursor blink ---------------------


def _snapshot_app(make_app, data_dir):
    return make_app(data_dir, poll_journals=False)


async def _loaded(pilot) -> None:
    await settle(pilot)


def test_snapshot_main_screen_80x24(snap_compare, make_app, sample_dir):
    assert snap_compare(_snapshot_app(make_app, sample_dir), terminal_size=(80, 24), run_before=_loaded)


def test_snapshot_main_screen_120x40(snap_compare, make_app, sample_dir):
    assert snap_compare(_snapshot_app(make_app, sample_dir), terminal_size=(120, 40), run_before=_loaded)


def test_snapshot_declare_dialog(snap_compare, make_app, sample_dir):
    async def open_dialog(pilot) -> None:
        await settle(pilot)
        await pilot.press("escape", "n")
        await pilot.press(*"Checkout failing")
        await pilot.pause()

    assert snap_compare(_snapshot_app(make_app, sample_dir), terminal_size=(80, 24), run_before=open_dialog)


async def test_roster_shows_every_handover(make_app, sample_dir):
    from warroom.ui.screens.entry import RoleHistoryScreen

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "3", "h")
        await settle(pilot)  # h's request bubbles roster → sidebar → body → screen → app
        assert isinstance(app.screen, RoleHistoryScreen)
        shown = str(app.screen.query_one("Static").render())
        assert "Incident Commander: — → alice" in shown
        assert "Incident Commander: alice → grace" in shown
        assert "Communications Lead: — → carol" in shown


def test_every_entry_kind_has_a_distinct_glyph():
    """Kinds are told apart by shape, not colour alone; a new kind must get its own glyph."""
    from warroom.ui.styles import KIND_GLYPHS

    human = [k for k in EntryKind if not k.is_automatic]
    assert set(KIND_GLYPHS) == set(EntryKind)
    assert len({KIND_GLYPHS[k] for k in human}) == len(human)


async def test_checklist_attach_tick_skip_copy_from_the_keyboard(make_app, empty_dir):
    app = make_app(empty_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.press(*"Payments failing")
        app.screen.query_one("#type").value = "payments"  # the type picker
        await pilot.pause()
        from textual.widgets import Select

        assert app.screen.query_one("#severity", Select).value is Severity.SEV1  # the type's default
        await pilot.press("ctrl+s", "enter")
        await settle(pilot)
        incident = app.current
        assert list(incident.checklists) == ["ic-first-five-minutes", "payment-high-error-rate"]
        assert incident.roles.get("Payments liaison", "missing") is None  # a role to fill

        await pilot.press("escape", "4", "space")  # tick the first open step
        await settle(pilot)
        ic = app.current.checklists["ic-first-five-minutes"]
        assert ic.steps[0].done and ic.steps[0].last_tick.actor == "alice"
        await pilot.press("x")
        await type_line(pilot, "pager already acknowledged")  # skip the next one, with a reason
        ic = app.current.checklists["ic-first-five-minutes"]
        assert ic.steps[1].skipped and ic.progress == (2, len(ic.steps))
        assert app.current.timeline[-1].text.startswith("Skipped: ")

        # Copy a step's command (OSC 52) from the payments runbook.
        pane = app.query_one("#checklist")
        with_command = next(s for s in app.current.checklists["payment-high-error-rate"].steps if s.command)
        pane.highlighted = pane.get_option_index(f"payment-high-error-rate\x1f{with_command.id}")
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == with_command.command

        # Attach another runbook through the fuzzy picker.
        await pilot.press("a")
        await pilot.press(*"rollback")
        await pilot.press("enter")
        await settle(pilot)
        assert "bad-deploy-rollback" in app.current.checklists


def test_snapshot_checklist_pane(snap_compare, make_app, sample_dir):
    async def attach_and_tick(pilot) -> None:
        await settle(pilot)
        await pilot.press("escape", "4", "a")
        await pilot.press(*"payments", "enter")
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)

    assert snap_compare(_snapshot_app(make_app, sample_dir), terminal_size=(120, 40), run_before=attach_and_tick)


async def test_comms_draft_edit_save_send_then_cadence_restarts(make_app, sample_dir, clock):
    from warroom.domain.models import CommsChannel
    from warroom.ui.screens.comms import ChannelPicker, DraftEditor

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        header = app.query_one(HeaderBar)
        assert header.cadence_text == "update due 15:19Z (in 6m)"  # last sent 15:04:03 + 15 min, now 15:12:30
        clock.advance(minutes=7)
        app._tick()
        assert header.cadence_overdue and header.cadence_text == "UPDATE OVERDUE 15:19Z (27s late)"

        await pilot.press("escape", "5")
        pane = app.query_one("#comms")
        pane.highlighted = pane.get_option_index("status-update")
        await pilot.press("enter")
        editor = app.screen
        assert isinstance(editor, DraftEditor) and editor.template_id == "status-update"
        await pilot.press("ctrl+r")  # re-fill from live state
        assert "INCIDENT UPDATE, 15:19 UTC" in editor.text
        area = editor.query_one("TextArea")
        area.move_cursor(area.document.end)
        await pilot.press(*"\nRefunds start tomorrow.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        heads = app.current.draft_heads("status-update")
        assert len(heads) == 1 and heads[0].text.endswith("Refunds start tomorrow.")

        await pilot.press("ctrl+e")
        assert isinstance(app.screen, ChannelPicker)
        await pilot.press("enter")  # the template's channel (internal) is highlighted
        await settle(pilot)
        sent = app.current.sent_updates[-1]
        assert sent.channel is CommsChannel.INTERNAL and sent.text.endswith("Refunds start tomorrow.")
        assert app.current.timeline[-1].text.startswith("Update sent (internal): INCIDENT UPDATE, 15:19 UTC")
        app._tick()
        assert header.cadence_text == "update due 15:34Z (in 15m)" and not header.cadence_overdue

        # Leaving with unsaved edits keeps them as a new version: nothing typed is lost.
        area.move_cursor(area.document.end)
        await pilot.press(*" PS: thanks")
        await pilot.press("escape")
        await settle(pilot)
        assert app.current.draft_heads("status-update")[0].text.endswith("PS: thanks")


async def test_resolving_offers_to_restore_components(make_app, sample_dir):
    from warroom.domain.models import ComponentState
    from warroom.ui.screens.comms import ConfirmScreen

    app = make_app(sample_dir, poll_journals=False, user="grace")  # grace is the IC
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "5", "p")
        await settle(pilot)  # the component prompt is up before anything is typed into it
        await pilot.press("ctrl+u", *"Payments API", "enter")
        await settle(pilot)  # and the state picker
        await pilot.press("down", "down", "enter")  # partial outage
        await settle(pilot)
        assert app.current.components["Payments API"] is ComponentState.PARTIAL_OUTAGE

        await pilot.press("t")
        await settle(pilot)
        await pilot.press("enter")  # monitoring → resolved is the highlighted next step
        assert app.screen.summary.lines == ["Status: monitoring → resolved"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert set(app.current.components.values()) == {ComponentState.OPERATIONAL}
        assert app.query_one(HeaderBar).cadence_text == ""  # paused once resolved


def test_snapshot_comms_pane_and_overdue_header(snap_compare, make_app, sample_dir, clock):
    async def overdue_and_focus_comms(pilot) -> None:
        await settle(pilot)
        clock.advance(minutes=8)
        pilot.app._tick()
        await pilot.press("escape", "5")
        await pilot.pause()

    assert snap_compare(_snapshot_app(make_app, sample_dir), terminal_size=(120, 40), run_before=overdue_and_focus_comms)


async def test_todo_promoted_then_action_item_edited_and_closed_from_the_keyboard(make_app, sample_dir):
    from warroom.domain.models import ActionStatus
    from warroom.ui.screens.followup import ActionItemForm, ActionItemsScreen

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_line(pilot, "/todo Add an alert on checkout retry rate")
        await pilot.press("escape", "p")  # the cursor follows the newest entry: our todo
        await settle(pilot)
        items = list(app.current.action_items.values())
        assert [i.text for i in items] == ["Add an alert on checkout retry rate"]
        assert items[0].from_entry == app.current.timeline[-2].id  # linked to the todo entry

        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, ActionItemsScreen)
        await pilot.press("enter")
        await settle(pilot)  # the list's choice bubbles to its screen, which opens the form
        assert isinstance(app.screen, ActionItemForm)
        await pilot.press("tab", *"frank", "tab", *"2026-11-25", "enter")
        await settle(pilot)
        item = next(iter(app.current.action_items.values()))
        assert item.owner == "frank" and str(item.due) == "2026-11-25"
        await pilot.press("space", "space")  # todo → in progress → done
        await settle(pilot)
        assert next(iter(app.current.action_items.values())).status is ActionStatus.DONE
        assert app.current.timeline[-1].text == "Action item done: Add an alert on checkout retry rate"


async def test_status_key_pressed_twice_while_the_first_change_is_written_steps_twice(make_app, sample_dir, clock):
    """Two quick presses of space are todo → in progress → done, even when the disk is slow:
    the second press must not step again from the state the first one is still replacing."""
    import threading

    from warroom.domain import commands
    from warroom.domain.models import ActionStatus
    from warroom.ui.screens.followup import ActionItemsScreen

    ws = Workspace(sample_dir, "alice", clock)
    ws.load()
    incident = ws.incidents()[0]
    ws.record([commands.add_action_item(ws.factory, incident, "Page the payments on-call on checkout retries")])

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.select_incident(incident.id)
        await pilot.press("escape", "f")
        await settle(pilot)
        assert isinstance(app.screen, ActionItemsScreen)

        disk_answers = threading.Event()  # the journal's write waits until both keys are in
        record = app.desk.record

        def slow_record(events):
            assert disk_answers.wait(30)
            return record(events)

        app.desk.record = slow_record
        await pilot.press("space", "space")
        disk_answers.set()
        await settle(pilot)

        item = next(iter(app.desk.get(incident.id).action_items.values()))
        assert item.status is ActionStatus.DONE
        changes = [e.text for e in app.desk.get(incident.id).timeline if e.text.startswith("Action item")]
        assert changes[-2:] == [
            "Action item in progress: Page the payments on-call on checkout retries",
            "Action item done: Page the payments on-call on checkout retries",
        ]


async def test_milestones_are_editable_and_checked_for_order(make_app, sample_dir):
    from warroom.domain.models import Milestone
    from warroom.ui.screens.followup import MetricsScreen

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "m")
        assert isinstance(app.screen, MetricsScreen)
        milestones = app.screen.query_one("#milestones")
        milestones.highlighted = list(Milestone).index(Milestone.ACKNOWLEDGED)
        await pilot.press("enter", "ctrl+u")
        await type_line(pilot, "14:33")
        assert app.current.milestones[Milestone.ACKNOWLEDGED].strftime("%H:%M") == "14:33"

        milestones.highlighted = list(Milestone).index(Milestone.MITIGATED)
        await pilot.press("enter", "ctrl+u")
        await type_line(pilot, "14:20")  # before detection (14:31): refused
        assert app.current.milestones[Milestone.MITIGATED].strftime("%H:%M") == "14:54"
        assert any("mitigated cannot precede detected" in n.message for n in app._notifications)


async def test_postmortem_sections_are_saved(make_app, sample_dir):
    from warroom.ui.screens.followup import POSTMORTEM_FIELDS, PostmortemScreen

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_postmortem()
        await pilot.pause()
        assert isinstance(app.screen, PostmortemScreen)
        sections = app.screen.query_one("#sections")
        sections.highlighted = list(POSTMORTEM_FIELDS).index("root_cause")
        await pilot.pause()
        await pilot.press("enter", *"Token normalisation threw on stored cards without expiry.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.current.postmortem["root_cause"] == "Token normalisation threw on stored cards without expiry."


async def test_postmortem_export_from_the_console(make_app, sample_dir, tmp_path):
    from warroom.export.markdown import to_markdown

    app = make_app(sample_dir, poll_journals=False)
    target = tmp_path / "pm.md"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_export_markdown()
        await pilot.pause()
        await pilot.press("ctrl+u")
        await type_line(pilot, str(target))
        expected = to_markdown(app.current, app.clock.now())
    assert target.read_text() == expected
    assert expected.startswith("# Postmortem: Checkout payments failing for all customers")


async def test_search_filters_highlights_and_escape_returns_to_the_entry_in_context(make_app, sample_dir):
    from warroom.ui.widgets.search import SearchBar

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        timeline = app.query_one(TimelineView)
        total = len(timeline.entries)
        await pilot.press("escape", "slash", *"rollback actor:bob")
        await pilot.pause()
        assert [e.text.split(":")[0] for e in timeline.entries] == ["Rollback started", "Rollback half done; error rate 38% → 21%", "Rollback complete"]
        assert "3 of" in timeline.border_subtitle
        await pilot.press("enter", "up")  # browse the matches: the middle one
        chosen = timeline.selected
        await pilot.press("escape")
        await pilot.pause()
        assert len(timeline.entries) == total
        assert timeline.selected is chosen  # back in context, on the same entry
        assert not app.query_one(SearchBar).has_class("-shown")

        await pilot.press("slash", *"kind:bogus")
        await pilot.pause()
        assert app.query_one(SearchBar).has_class("-invalid")
        assert len(timeline.entries) == total  # a bad filter changes nothing


async def test_one_key_tick_next_step_and_status_update_draft(make_app, sample_dir):
    from warroom.ui.screens.comms import DraftEditor

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        ic = app.current.checklists["ic-first-five-minutes"]
        first_open = ic.next_open()
        await pilot.press("escape", "full_stop")
        await settle(pilot)
        assert app.current.checklists["ic-first-five-minutes"].step(first_open.id).done
        await pilot.press("U")
        assert isinstance(app.screen, DraftEditor) and app.screen.template_id == "status-update"


@pytest.mark.parametrize("pane", ["1", "2", "3", "4", "5"])
def test_snapshot_each_pane_focused_at_80x24(snap_compare, make_app, sample_dir, pane):
    """Every pane stays usable over SSH at 80x24: focused, with its keys in the footer."""

    async def focus_pane(pilot) -> None:
        await settle(pilot)
        await pilot.press("escape", pane)
        await pilot.pause()

    assert snap_compare(_snapshot_app(make_app, sample_dir), terminal_size=(80, 24), run_before=focus_pane)


def test_snapshot_search_at_80x24(snap_compare, make_app, sample_dir):
    async def search(pilot) -> None:
        await settle(pilot)
        await pilot.press("escape", "slash", *"rollback kind:note")
        await pilot.pause()

    assert snap_compare(_snapshot_app(make_app, sample_dir), terminal_size=(80, 24), run_before=search)
