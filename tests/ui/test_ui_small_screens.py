"""A laptop over SSH (80×24) and smaller: what a newcomer must read without hunting, and the
status update flow after an update went out. Pilot and snapshots, frozen clock, fixed theme."""

from __future__ import annotations

import random

import pytest

from warroom.domain import commands
from warroom.domain.ids import uuid7
from warroom.domain.models import EntryKind, Severity
from warroom.store.workspace import Workspace
from warroom.ui.widgets.header import HeaderBar
from warroom.ui.widgets.panes import PaneTabs
from warroom.ui.widgets.roster import abbreviate_role, role_labels
from warroom.ui.widgets.timeline import TimelineView

try:
    from settling import settle
except ImportError:  # tests/ collected as a package
    from tests.ui.settling import settle

LONG_TITLE = "EU card payments declined at checkout after a tokens rollout"  # 60 characters
LIAISON = "Customer Support Liaison"
RUNBOOK_STEP = (
    "Roll back payments-api",
    "kubectl -n payments rollout undo deployment/payments-api --to-revision=41",
)


@pytest.fixture
def long_title_dir(empty_dir, clock):
    """One SEV1 with a 60-character title, a custom role beside the core ones, and a runbook
    whose steps carry commands."""
    assert len(LONG_TITLE) == 60
    ws = Workspace(empty_dir, "alice", clock)
    rng = random.Random(4321)  # short ids show on screen: make them repeatable
    ws.factory.new_id = lambda now: uuid7(now, rng.randbytes(10))
    ws.load()
    declared = commands.declare(ws.factory, title=LONG_TITLE, severity=Severity.SEV1)
    ws.record(declared)
    incident_id = declared[0].incident_id
    for role, person in (("tech", "bob"), ("comms", "carol"), ("scribe", "dave"), (LIAISON, "erin")):
        ws.record([commands.assign_role(ws.factory, ws.get(incident_id), role, person)])
    steps = [
        {"id": "check/dashboard", "text": "Open the payments dashboard and compare error rate with volume", "section": "Check", "depth": 0, "code": []},
        {"id": "check/tokenizer", "text": "Look for NullPointerException in the tokenizer logs", "section": "Check",
         "depth": 0, "code": ["kubectl -n payments logs deploy/payments-api --since=30m | grep -c NullPointerException"]},
        {"id": "fix/rollback", "text": RUNBOOK_STEP[0], "section": "Fix", "depth": 0, "code": [RUNBOOK_STEP[1]]},
        {"id": "fix/verify", "text": "Watch the error rate fall below 1% for ten minutes", "section": "Fix", "depth": 0, "code": []},
    ]
    ws.record([commands.attach_runbook(ws.factory, ws.get(incident_id), runbook_id="payments-rollback",
                                       title="Payments: roll back a bad deploy", steps=steps, source="payments-rollback.md")])
    ws.record([commands.log_entry(ws.factory, ws.get(incident_id),
                                  "Error rate 38% on payments-api since the 14:15 deploy; stored cards only, new cards go through")])
    return empty_dir


# --- pure helpers ------------------------------------------------------------------------------


def test_roles_abbreviate_before_the_holder_loses_a_letter():
    assert abbreviate_role(LIAISON, 30) == LIAISON
    assert abbreviate_role(LIAISON, 10) == "CSL"
    assert abbreviate_role("Incident Commander", 10) == "IC"
    assert abbreviate_role("Coordinator", 6) == "Coord…"
    labels = role_labels(["Incident Commander", "Tech Lead", LIAISON], longest_holder=len("— unassigned"), width=26)
    assert labels == {"Incident Commander": "IC", "Tech Lead": "Tech Lead", LIAISON: "CSL"}


# --- Pilot: the small screen -------------------------------------------------------------------


async def test_at_80x24_title_ic_and_the_next_command_are_readable(make_app, long_title_dir):
    app = make_app(long_title_dir, poll_journals=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        header = app.query_one(HeaderBar)
        assert LONG_TITLE in " ".join(header.render().plain.split())  # whole (wrapped), not cut to a stub
        assert app.screen.has_class("-single")  # below 100 columns: one pane at a time
        await pilot.press("escape", "3")
        await settle(pilot)
        roster = app.query_one("#roster")
        assert roster.region.width == 80
        lines = [roster.get_option_at_index(i).prompt.plain for i in range(roster.option_count)]
        assert any(line.startswith(("IC", "Incident Commander")) and "alice" in line for line in lines), lines
        assert any(line.startswith(("Customer Support Liaison", "CSL")) and "erin" in line for line in lines)
        await pilot.press("4")
        await settle(pilot)
        checklist = app.query_one("#checklist")
        assert app.query_one(PaneTabs).active == "checklist" and checklist.region.height >= 15
        prompts = [checklist.get_option_at_index(i).prompt.plain for i in range(checklist.option_count)]
        assert any(RUNBOOK_STEP[1] in prompt for prompt in prompts)  # the command itself, not a glyph
        assert " Check" in prompts and " Fix" in prompts  # section headings


async def test_zoom_shows_the_focused_pane_full_screen_and_back(make_app, long_title_dir):
    app = make_app(long_title_dir, poll_journals=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert not app.screen.has_class("-single")
        await pilot.press("escape", "4")
        await settle(pilot)
        narrow = app.query_one("#checklist").region
        await pilot.press("z")
        await settle(pilot)
        zoomed = app.query_one("#checklist").region
        assert app.screen.has_class("-single") and zoomed.width == 140 and zoomed.height > narrow.height
        assert not app.query_one("#timeline").display or app.query_one("#main").display is False
        await pilot.press("z")
        await settle(pilot)
        assert not app.screen.has_class("-single")
        assert app.query_one("#checklist").region == narrow


async def test_the_entry_under_the_cursor_is_shown_whole(make_app, long_title_dir):
    app = make_app(long_title_dir, poll_journals=False)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "2")
        await settle(pilot)
        timeline = app.query_one(TimelineView)
        entry = timeline.selected
        assert entry.text.startswith("Error rate 38%")
        rows = [timeline.render_line(y).text for y in range(timeline.scrollable_content_region.height)]
        joined = " ".join(" ".join(row.split()) for row in rows)
        assert "stored cards only, new cards go through" in joined
        await pilot.press("up")
        rows = [timeline.render_line(y).text for y in range(timeline.scrollable_content_region.height)]
        assert not any("new cards go through" in row for row in rows)  # one row again, cut


async def test_amend_shows_in_the_detail_line_at_once_and_redact_names_the_entry(make_app, long_title_dir):
    from textual.widgets import Label, Static

    from warroom.ui.screens.confirm import ConfirmChange
    from warroom.ui.screens.pickers import TextPrompt

    app = make_app(long_title_dir, poll_journals=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "2", "x")
        dialog = app.screen
        assert isinstance(dialog, TextPrompt)
        context = dialog.query_one(".context", Label).render().plain
        assert "alice" in context and "Error rate 38%" in context
        await pilot.press("escape", "e")
        assert isinstance(app.screen, TextPrompt)
        app.screen.query_one("Input").value = "Error rate 41% on payments-api"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmChange)  # old -> new, before anything is written
        await pilot.press("enter")
        await settle(pilot)
        detail = app.query_one("#detail", Static)
        assert "Error rate 41% on payments-api" in detail.render().plain


# --- Pilot: status updates ---------------------------------------------------------------------


async def test_U_after_an_update_was_sent_opens_a_fresh_draft(make_app, sample_dir, clock):
    from warroom.ui.screens.comms import DraftEditor

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        incident = app.current
        sent = [u for u in incident.sent_updates if u.template_id == "status-update"][-1]
        assert incident.draft_heads("status-update")[-1].text == sent.text  # what went out at 15:04
        app.workspace.record([commands.log_entry(app.workspace.factory, incident, "keep the freeze", EntryKind.DECISION)])
        await pilot.press("escape", "U")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, DraftEditor)
        assert editor.text != sent.text
        assert editor.text.startswith("INCIDENT UPDATE, 15:12 UTC")  # now, not 15:04
        assert "keep the freeze" in editor.text  # live state
        assert "the last one went out at 15:04Z" in editor.query_one("#draft-title").render().plain
        assert editor.query_one("#draft-cadence").render().plain == "update due 15:19Z (in 6m)"


async def test_overdue_shows_in_the_draft_editor_and_the_refill_knows_it(make_app, sample_dir, clock):
    from warroom.ui.screens.comms import DraftEditor

    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "U")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, DraftEditor)
        said: list[str] = []
        notify = app.notify
        app.notify = lambda message, **kw: (said.append(message), notify(message, **kw))[1]
        cadence = editor.query_one("#draft-cadence")
        assert not cadence.has_class("-overdue")
        clock.advance(minutes=10)  # 15:22:30: the update due 15:19 is late, while typing
        app._tick()
        await pilot.pause()
        assert cadence.has_class("-overdue")
        assert cadence.render().plain == "UPDATE OVERDUE 15:19Z (3m late)"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "Next update by 15:37 UTC" in editor.text  # from now, never the past 15:19
        assert "INCIDENT UPDATE, 15:22 UTC" in editor.text
        assert any("The update is overdue" in message for message in said)


# --- snapshots ---------------------------------------------------------------------------------


def _app(make_app, data_dir):
    return make_app(data_dir, poll_journals=False)


def test_snapshot_long_title_and_custom_role_80x24(snap_compare, make_app, long_title_dir):
    async def roster(pilot):
        await settle(pilot)
        await pilot.press("escape", "3")
        await settle(pilot)

    assert snap_compare(_app(make_app, long_title_dir), terminal_size=(80, 24), run_before=roster)


def test_snapshot_long_title_timeline_60x20(snap_compare, make_app, long_title_dir):
    async def timeline(pilot):
        await settle(pilot)
        await pilot.press("escape", "2")
        await settle(pilot)

    assert snap_compare(_app(make_app, long_title_dir), terminal_size=(60, 20), run_before=timeline)


def test_snapshot_zoomed_checklist_with_commands_80x24(snap_compare, make_app, long_title_dir):
    async def checklist(pilot):
        await settle(pilot)
        await pilot.press("escape", "4")
        await settle(pilot)

    assert snap_compare(_app(make_app, long_title_dir), terminal_size=(80, 24), run_before=checklist)


def test_snapshot_zoomed_checklist_140x40(snap_compare, make_app, long_title_dir):
    async def zoom(pilot):
        await settle(pilot)
        await pilot.press("escape", "4", "z")
        await settle(pilot)

    assert snap_compare(_app(make_app, long_title_dir), terminal_size=(140, 40), run_before=zoom)


def test_every_glyph_has_one_meaning_and_the_help_lists_it():
    from warroom.ui.styles import KIND_GLYPHS, STATUS_GLYPHS, glyph_legend

    assert not set(STATUS_GLYPHS.values()) & set(KIND_GLYPHS.values())
    assert len(set(STATUS_GLYPHS.values())) == len(STATUS_GLYPHS)
    legend = dict(glyph_legend())
    for glyph in [*STATUS_GLYPHS.values(), *KIND_GLYPHS.values()]:
        assert glyph in legend
    assert legend["?"] == "status: investigating" and legend["◇"] == "entry: hypothesis"


def _luminance(colour) -> float:
    def channel(value: int) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)


def _contrast(a, b) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_picker_highlight_reads_at_4_5_to_1_in_every_shipped_theme():
    """WCAG AA for the highlighted option of every picker (focused and not), each theme."""
    from textual.app import App
    from textual.color import Color

    from warroom.ui.themes import load_themes, shipped_theme_dir

    themes, failed = load_themes([shipped_theme_dir()])
    assert themes and not failed
    app = App()
    for theme in themes:
        app.register_theme(theme)
    for theme in themes:
        app.theme = theme.name
        variables = app.get_css_variables()
        surface = Color.parse(variables["surface"])
        for prefix in ("block-cursor", "block-cursor-blurred"):
            background = surface + Color.parse(variables[f"{prefix}-background"])
            text = variables[f"{prefix}-foreground"]
            if text.startswith("auto"):
                alpha = float(text.split()[1].rstrip("%")) / 100 if " " in text else 1.0
                foreground = background + background.get_contrast_text(alpha)
            else:
                foreground = background + Color.parse(text)
            ratio = _contrast(foreground, background)
            assert ratio >= 4.5, f"{theme.name} {prefix}: {ratio:.2f}:1"


# --- postmortem and follow-ups from the console ------------------------------------------------


async def test_impact_authors_reviewers_and_a_ticket_are_written_in_the_console(make_app, long_title_dir, tmp_path):
    from textual.widgets import Input

    from warroom.ui.screens.followup import POSTMORTEM_FIELDS, ActionItemForm, ActionItemsScreen, PostmortemScreen

    app = make_app(long_title_dir, poll_journals=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_postmortem()
        await pilot.pause()
        assert isinstance(app.screen, PostmortemScreen)
        sections = app.screen.query_one("#sections")
        for key, text in (("impact", "All EU card payments declined for 40 minutes"), ("authors", "alice, bob"), ("reviewers", "carol"),
                          ("got_lucky", "It was not Black Friday.")):
            sections.highlighted = list(POSTMORTEM_FIELDS).index(key)
            await pilot.pause()
            await pilot.press("enter", *text, "ctrl+s")
            await settle(pilot)
            sections.focus()
        incident = app.current
        assert incident.impact == "All EU card payments declined for 40 minutes"
        assert (incident.postmortem["authors"], incident.postmortem["reviewers"], incident.postmortem["got_lucky"]) == (
            "alice, bob", "carol", "It was not Black Friday.")
        await pilot.press("escape")
        app.action_action_items()
        await pilot.pause()
        assert isinstance(app.screen, ActionItemsScreen)
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, ActionItemForm)
        form.query_one("#text", Input).value = "Canary stage for config pushes"
        form.query_one("#ticket", Input).value = "PAY-1432"
        form.action_save()
        await settle(pilot)
        [item] = app.current.action_items.values()
        assert item.ticket == "PAY-1432"

        await pilot.press("escape")
        app.action_export_markdown(timeline="key")
        await pilot.pause()
        target = tmp_path / "pm.md"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        text = target.read_text()
        assert "- **Authors:** alice, bob\n- **Reviewers:** carol\n" in text
        assert "| Canary stage for config pushes | _unassigned_ | — | medium | todo | corrective | PAY-1432 |" in text
        assert "Key entries only" in text and "It was not Black Friday." in text


async def test_the_incident_can_be_renamed_in_the_console(make_app, long_title_dir):
    from textual.widgets import Input

    app = make_app(long_title_dir, poll_journals=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_rename_incident()
        await pilot.pause()
        app.screen.query_one(Input).value = "EU card payments declined"
        await pilot.press("enter")
        await settle(pilot)
        assert app.current.title == "EU card payments declined"
        assert app.current.timeline[-1].kind is EntryKind.TITLE
