"""The brief, hypothesis verdicts, running a step's command and real delivery, driven from the
keyboard with Pilot (fixed size, frozen clock, fixed theme)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from textual.widgets import Log

from warroom.domain import commands
from warroom.domain.models import CommsChannel, EntryKind
from warroom.domain.records import RunOutcome, Verdict
from warroom.store.config import Config
from warroom.store.deliveries import DeliveryOutbox, DeliveryState
from warroom.store.workspace import Workspace
from warroom.ui.screens.run import RunConfirmScreen, RunScreen
from warroom.ui.widgets.scribe import ScribeInput
from warroom.ui.screens.verdict import VerdictPicker
from warroom.ui.screens.viewer import DeliveryViewer, TextViewer
from warroom.ui.widgets.comms import CommsPane

try:
    from settling import settle
except ImportError:  # tests/ collected as a package
    from tests.ui.settling import settle

try:
    from serverproc import free_port, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import free_port, wait_until

PAYMENTS = "01a1ef15-4518-7ea6-bef4-99bbf4dca4f2"
RECEIVER = Path(__file__).resolve().parents[1] / "webhook_receiver.py"
STEPS = [
    {"id": "check/recent-deploys", "text": "Check recent deploys", "section": "Check", "code": ["printf 'rev 41 v2.14.2\\nrev 42 v2.14.3\\n'"]},
    {"id": "check/watch", "text": "Watch the error rate", "section": "Check", "code": ["echo watching; sleep 60; echo never"]},
]


async def until(pilot, predicate, what: str, tries: int = 400) -> None:
    """Let the app run until ``predicate()`` holds (threads deliver, commands finish)."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def attach_checks(data_dir: Path, clock) -> None:
    """Someone else (carol) attached a small runbook with harmless commands."""
    ws = Workspace(data_dir, "carol", clock)
    ws.load()
    ws.record([commands.attach_runbook(ws.factory, ws.get(PAYMENTS), runbook_id="deploy-checks", title="Deploy checks", steps=STEPS, source="deploy-checks.md")])


def fresh(data_dir: Path, clock) -> Workspace:
    ws = Workspace(data_dir, "checker", clock)
    ws.load()
    return ws


# --- the brief --------------------------------------------------------------------------------


async def test_b_shows_the_brief_and_c_copies_it(make_app, sample_dir):
    app = make_app(sample_dir, poll_journals=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "b")
        await pilot.pause()
        viewer = app.screen
        assert isinstance(viewer, TextViewer)
        assert viewer.text == app.desk.brief(PAYMENTS)
        assert viewer.text.startswith("SEV1 Critical · Checkout payments failing for all customers")
        await pilot.press("c")
        assert app.clipboard == viewer.text
        await pilot.press("escape")
        assert not isinstance(app.screen, TextViewer)


def test_snapshot_brief_at_80x24(snap_compare, make_app, sample_dir):
    async def open_brief(pilot) -> None:
        await settle(pilot)
        await pilot.press("escape", "b")
        await pilot.pause()

    assert snap_compare(make_app(sample_dir, poll_journals=False), terminal_size=(80, 24), run_before=open_brief)


async def test_handing_over_ic_opens_the_brief_for_the_new_ic(make_app, sample_dir):
    app = make_app(sample_dir, user="grace", poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "r")
        await pilot.pause()
        await pilot.press("enter")  # Incident Commander is the first role
        await pilot.press(*"heidi", "enter", "enter")  # the name, then Enter on grace → heidi
        await settle(pilot)
        assert app.desk.get(PAYMENTS).commander == "heidi"
        viewer = app.screen
        assert isinstance(viewer, TextViewer)
        assert "Hand-over brief for heidi" in str(viewer.query_one("#viewer-hint").render())
        assert "Roles: IC heidi" in viewer.text
        await pilot.press("c")
        assert app.clipboard == viewer.text


# --- hypotheses -------------------------------------------------------------------------------


async def test_v_on_a_hypothesis_rules_it_out_with_a_reason(make_app, sample_dir, clock):
    app = make_app(sample_dir, user="bob", poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        timeline = app.query_one("#timeline")
        hypothesis = next(i for i, e in enumerate(timeline.entries) if e.kind is EntryKind.HYPOTHESIS)
        await pilot.press("escape")
        timeline.focus()
        timeline.cursor = hypothesis
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, VerdictPicker)
        await pilot.press("down", "tab", *"canary was clean", "enter")  # ruled out, with why
        await settle(pilot)
        entry = timeline.entries[hypothesis]
        judged = fresh(sample_dir, clock).get(PAYMENTS).verdicts[entry.id]
        assert (judged.verdict, judged.actor, judged.reason) == (Verdict.RULED_OUT, "bob", "canary was clean")
        note = next(i for i, e in enumerate(timeline.entries) if e.kind is EntryKind.NOTE)
        timeline.cursor = note
        await pilot.press("v")
        await pilot.pause()
        assert not isinstance(app.screen, VerdictPicker)  # only hypotheses have a verdict


# --- running a step's command -----------------------------------------------------------------


async def test_bang_shows_the_command_and_n_runs_nothing(make_app, sample_dir, clock):
    attach_checks(sample_dir, clock)
    app = make_app(sample_dir, user="bob", poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "exclamation_mark")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, RunConfirmScreen)
        shown = "\n".join(str(w.render()) for w in confirm.query("Static"))
        # the payments runbook's kubectl step comes first: the next open step with a command
        assert confirm.plan.command in shown and "kubectl" in confirm.plan.command
        assert "attached by alice" in shown and "Someone else's runbook (alice)" in shown
        await pilot.press("escape")
        await settle(pilot)
        assert fresh(sample_dir, clock).get(PAYMENTS).command_runs == {}


async def test_bang_then_typing_runs_nothing_and_the_keys_reach_the_scribe_box(make_app, sample_dir, clock):
    attach_checks(sample_dir, clock)
    app = make_app(sample_dir, user="bob", poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "2")  # the timeline has focus; the scribe box does not
        await pilot.press(*"!yes")  # what "down!yes" sends when the box is not focused
        await settle(pilot)
        assert not isinstance(app.screen, (RunConfirmScreen, RunScreen))
        assert app.query_one(ScribeInput).value == "!yes"
        assert fresh(sample_dir, clock).get(PAYMENTS).command_runs == {}


async def test_a_confirmed_run_streams_its_output_and_is_logged(make_app, sample_dir, clock):
    attach_checks(sample_dir, clock)
    app = make_app(sample_dir, user="bob", poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        checklist = app.query_one("#checklist")
        checklist.focus()
        checklist.highlighted = next(i for i in range(checklist.option_count) if (checklist.get_option_at_index(i).id or "").endswith("check/recent-deploys"))
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(app.screen, RunConfirmScreen) and app.screen.plan.step_id == "check/recent-deploys"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.result is not None, "the run to finish")
        screen = app.screen
        assert "rev 42 v2.14.3" in "\n".join(screen.query_one(Log).lines)
        assert screen.outcome_text.startswith("exit 0 in ")
        (run,) = fresh(sample_dir, clock).get(PAYMENTS).command_runs.values()
        assert (run.outcome, run.exit_code, run.actor, run.attached_by) == (RunOutcome.EXITED, 0, "bob", "carol")
        assert run.output == "rev 41 v2.14.2\nrev 42 v2.14.3\n"
        await pilot.press("escape")
        await settle(pilot)
        # enter on its timeline entry shows the whole output
        timeline = app.query_one("#timeline")
        timeline.focus()
        timeline.cursor = next(i for i, e in enumerate(timeline.entries) if e.id == run.id)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TextViewer) and app.screen.text.endswith(run.output)


async def test_x_cancels_a_running_command_and_the_run_is_still_logged(make_app, sample_dir, clock):
    attach_checks(sample_dir, clock)
    app = make_app(sample_dir, user="bob", poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        checklist = app.query_one("#checklist")
        checklist.focus()
        checklist.highlighted = next(i for i in range(checklist.option_count) if (checklist.get_option_at_index(i).id or "").endswith("check/watch"))
        await pilot.press("exclamation_mark")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen) and "watching" in "\n".join(app.screen.query_one(Log).lines), "the output")
        await pilot.press("escape")  # still running: escape does not leave it behind
        assert isinstance(app.screen, RunScreen) and app.screen.result is None
        await pilot.press("x")
        await until(pilot, lambda: app.screen.result is not None, "the cancelled run")
        assert app.screen.result.outcome is RunOutcome.CANCELLED
        await until(pilot, lambda: fresh(sample_dir, clock).get(PAYMENTS).command_runs, "the run to be logged")
        (run,) = fresh(sample_dir, clock).get(PAYMENTS).command_runs.values()
        assert run.outcome is RunOutcome.CANCELLED and run.output.startswith("watching\n")


async def test_no_exec_refuses_before_showing_anything(make_app, sample_dir, clock):
    attach_checks(sample_dir, clock)
    app = make_app(sample_dir, poll_journals=False, config=Config(no_exec=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "exclamation_mark")
        await pilot.pause()
        assert not isinstance(app.screen, RunConfirmScreen)
        assert any("turned off" in str(n.message) for n in app._notifications)


# --- updates that really go out ---------------------------------------------------------------


async def test_mark_as_sent_delivers_and_a_failed_delivery_can_be_sent_again(make_app, sample_dir, clock, tmp_path):
    port = free_port()
    log = tmp_path / "received.jsonl"
    config = Config.model_validate({"channels": {"internal": {"type": "slack", "url": f"http://127.0.0.1:{port}/hook", "max_attempts": 1}}})
    app = make_app(sample_dir, user="carol", poll_journals=False, config=config)
    receiver = None
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            sent_before = len(app.desk.get(PAYMENTS).sent_updates)
            await pilot.press("escape", "U")  # the status update, filled from live state
            await pilot.pause()
            await pilot.press("ctrl+e")
            await pilot.pause()
            await pilot.press("enter")  # the template's channel (internal) is highlighted
            outbox = DeliveryOutbox(sample_dir)
            await until(pilot, lambda: [d.state for d in outbox.all()[0]] == [DeliveryState.FAILED], "the failed attempt")
            assert len(app.desk.get(PAYMENTS).sent_updates) == sent_before  # failed is not sent
            await pilot.press("escape")  # back from the draft
            await until(pilot, lambda: any("FAILED" in str(app.query_one(CommsPane).get_option_at_index(i).prompt) for i in range(app.query_one(CommsPane).option_count)), "the failed row")
            pane = app.query_one(CommsPane)
            pane.focus()
            pane.highlighted = next(i for i in range(pane.option_count) if "FAILED" in str(pane.get_option_at_index(i).prompt))
            await pilot.press("enter")
            await pilot.pause()
            viewer = app.screen
            assert isinstance(viewer, DeliveryViewer) and "cannot reach the receiver" in viewer.text
            receiver = subprocess.Popen([sys.executable, str(RECEIVER), "--port", str(port), "--log", str(log)])
            wait_until(lambda: _listening(port), 20, "the receiver")
            await pilot.press("s")  # send it again
            await until(pilot, lambda: [d.state for d in outbox.all()[0]] == [DeliveryState.DELIVERED], "the delivery", tries=600)
            await until(pilot, lambda: len(app.desk.get(PAYMENTS).sent_updates) == sent_before + 1, "the delivered update")
            last = app.desk.get(PAYMENTS).sent_updates[-1]
            assert (last.channel, last.destination, last.actor) == (CommsChannel.INTERNAL, "slack", "carol")
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait(10)
    (request,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert json.loads(request["body"])["text"].startswith("INCIDENT UPDATE")


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
