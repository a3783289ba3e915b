"""The situation brief: golden text for the sample incidents and for one with settled
hypotheses, a command run and a delivered update; determinism; width; hostile text.

After a deliberate change to the brief, rewrite the golden files with
``WARROOM_UPDATE_GOLDEN=1 pytest tests/test_brief.py`` and read the diff before committing.
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from warroom.comms.brief import cell_width, situation_brief
from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.commands import DomainError
from warroom.domain.fold import fold_incident
from warroom.domain.models import ActionStatus, CommsChannel, ComponentState, EntryKind, Status
from warroom.domain.records import RunOutcome, Verdict
from warroom.store.workspace import Workspace

GOLDEN = Path(__file__).resolve().parent / "golden"  # tests/comms/golden
UPDATE_GOLDEN = os.environ.get("WARROOM_UPDATE_GOLDEN") == "1"
SAMPLES = {"b791f1d8": "brief-search-latency.txt", "f4dca4f2": "brief-checkout-payments.txt", "b797528b": "brief-eu-login.txt"}
PAYMENTS = "f4dca4f2"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}: run with WARROOM_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"brief differs from {path} (WARROOM_UPDATE_GOLDEN=1 rewrites it)"


@pytest.fixture
def workspace(sample_dir, clock):
    ws = Workspace(sample_dir, "grace", clock)
    ws.load()
    return ws


@pytest.mark.parametrize("short", sorted(SAMPLES))
def test_the_brief_of_each_sample_incident_matches_golden_and_fits_a_small_terminal(short, workspace, clock):
    text = situation_brief(workspace.get(short), clock.now())
    check_golden(SAMPLES[short], text)
    lines = text.splitlines()
    assert len(lines) <= 23  # 80×24 with a line to spare for the screen's key hints
    assert all(cell_width(line) <= 80 for line in lines)


def act(ws: Workspace, clock: FixedClock, actor: str, make) -> str:
    clock.advance(minutes=1)
    ws.set_actor(actor)
    event = make(ws.get(PAYMENTS))
    ws.record([event])
    return event.id


def settled_payments(ws: Workspace, clock: FixedClock) -> None:
    """The payments outage a little later: hypotheses settled, a command run from the
    runbook, an update delivered to Slack, a follow-up in progress."""
    f = ws.factory
    hypothesis = next(e for e in ws.get(PAYMENTS).timeline if e.kind is EntryKind.HYPOTHESIS)
    act(ws, clock, "bob", lambda i: commands.judge_hypothesis(f, i, hypothesis.id, Verdict.CONFIRMED, "token normalisation change"))
    upstream = act(ws, clock, "erin", lambda i: commands.log_entry(f, i, "Card network outage at the gateway provider", EntryKind.HYPOTHESIS))
    act(ws, clock, "erin", lambda i: commands.judge_hypothesis(f, i, upstream, Verdict.RULED_OUT, "provider status green"))
    act(ws, clock, "frank", lambda i: commands.log_entry(f, i, "Database pool exhaustion is a second cause", EntryKind.HYPOTHESIS))
    checklist = ws.get(PAYMENTS).checklists["payment-high-error-rate"]
    step = next(s for s in checklist.steps if s.code)
    act(
        ws,
        clock,
        "bob",
        lambda i: commands.record_command_run(
            f,
            i,
            checklist.runbook_id,
            step.id,
            started_at=clock.now(),
            command=step.code[0],
            outcome=RunOutcome.EXITED,
            exit_code=0,
            duration_ms=1840,
            output="REVISION  CHANGE-CAUSE\n41        v2.14.2\n42        v2.14.3\n43        rollback to v2.14.2\n",
            output_bytes=84,
            output_lines=4,
            output_sha256="0" * 64,
        ),
    )
    item = act(ws, clock, "grace", lambda i: commands.add_action_item(f, i, "Cap checkout retries for good", owner="frank", due=date(2026, 11, 25)))
    act(ws, clock, "frank", lambda i: commands.update_action_item(f, i, item, status=ActionStatus.IN_PROGRESS))
    act(ws, clock, "carol", lambda i: commands.set_component(f, i, "Checkout", ComponentState.OPERATIONAL))
    act(ws, clock, "carol", lambda i: commands.set_component(f, i, "Card payments API", ComponentState.PARTIAL_OUTAGE))
    clock.advance(minutes=1)
    ws.set_actor("carol")
    delivered = commands.record_delivery(
        f,
        ws.get(PAYMENTS),
        "01a1ef40-0000-7000-8000-00000000d311",
        template_id="status-update",
        channel=CommsChannel.INTERNAL,
        text="INCIDENT UPDATE: payments recovering",
        destination="slack",
        attempts=2,
        queued_at=clock.now() - timedelta(seconds=5),
    )
    ws.record([delivered])
    clock.advance(minutes=7)


def test_a_brief_with_settled_hypotheses_a_command_run_and_a_delivered_update(workspace, clock):
    settled_payments(workspace, clock)
    text = situation_brief(workspace.get(PAYMENTS), clock.now())
    check_golden("brief-checkout-payments-settled.txt", text)
    assert "  ✓ payments-api v2.14.3 (deployed 14:15) introduced the regression\n    — confirmed by bob 15:13: token normalisation change\n" in text
    assert "  ✗ Card network outage at the gateway provider\n    — ruled out by erin 15:15: provider status green\n" in text
    assert "? Database pool exhaustion is a second cause (frank" in text
    assert "Ran `" in text  # the command run is the latest action
    assert "in progress, frank: Cap checkout retries for good" in text
    assert "Not operational: Card payments API (partial outage)" in text
    assert "to internal (carol, via slack)" in text


def test_the_same_events_in_any_order_give_the_same_brief(workspace, clock):
    settled_payments(workspace, clock)
    incident = workspace.get(PAYMENTS)
    events = workspace.events(incident.id)
    expected = situation_brief(incident, clock.now())
    for seed in range(5):
        shuffled = list(events) + random.Random(seed).sample(events, 10)
        random.Random(seed + 100).shuffle(shuffled)
        assert situation_brief(fold_incident(incident.id, shuffled, workspace.text_keys), clock.now()) == expected


def test_an_overdue_update_and_a_status_held_for_a_while_are_spelled_out(workspace, clock):
    clock.advance(minutes=20)  # last update 15:04, SEV1 every 15 min: due 15:19
    text = situation_brief(workspace.get(PAYMENTS), clock.now())
    assert "\nNext update OVERDUE by 13m 27s (was due 15:19 UTC)\n" in text
    assert "Monitoring for 38m" in text and "(since 14:54 UTC)" in text


def test_hostile_and_wide_text_stays_on_its_line(workspace, clock):
    ws = workspace
    nasty = "\x1b]52;c;ZXZpbA==\x07rm -rf \u202e/ \x1b[2J" + "支付失败" * 40
    ws.record([commands.log_entry(ws.factory, ws.get(PAYMENTS), nasty, EntryKind.DECISION)])
    ws.record([commands.update(ws.factory, ws.get(PAYMENTS), impact="Every card payment fails. " * 60)])
    text = situation_brief(ws.get(PAYMENTS), clock.now())
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert all(cell_width(line) <= 80 for line in text.splitlines())
    lines = text.splitlines()
    impact = next(i for i, line in enumerate(lines) if line.startswith("Impact: "))
    assert lines[impact + 1].startswith(" " * 8) and lines[impact + 1].endswith("…")  # cut at two lines
    assert lines[impact + 2].startswith("Roles: ")
    assert text == situation_brief(ws.get(PAYMENTS), clock.now())


def test_a_verdict_needs_a_hypothesis_and_a_change(workspace):
    ws = workspace
    incident = ws.get(PAYMENTS)
    note = next(e for e in incident.timeline if e.kind is EntryKind.NOTE)
    with pytest.raises(DomainError, match="only /hypothesis"):
        commands.judge_hypothesis(ws.factory, incident, note.id, Verdict.CONFIRMED)
    hypothesis = next(e for e in incident.timeline if e.kind is EntryKind.HYPOTHESIS)
    with pytest.raises(DomainError, match="already open"):
        commands.judge_hypothesis(ws.factory, incident, hypothesis.id, Verdict.OPEN)
    ws.record([commands.judge_hypothesis(ws.factory, incident, hypothesis.id, Verdict.RULED_OUT)])
    judged = ws.get(PAYMENTS).verdicts[hypothesis.id]
    assert (judged.verdict, judged.actor) == (Verdict.RULED_OUT, "grace")
    assert ws.get(PAYMENTS).timeline[-1].text.startswith("Hypothesis ruled out: payments-api v2.14.3")
    with pytest.raises(DomainError, match="already ruled out"):
        commands.judge_hypothesis(ws.factory, ws.get(PAYMENTS), hypothesis.id, Verdict.RULED_OUT)


def test_a_resolved_incident_says_no_update_is_due(workspace, clock):
    ws = workspace
    ws.record([commands.update(ws.factory, ws.get(PAYMENTS), status=Status.RESOLVED)])
    text = situation_brief(ws.get(PAYMENTS), clock.now())
    assert "Resolved 15:12 UTC" in text and "· no update due (resolved)" in text


def test_the_can_report_drops_ruled_out_hypotheses_and_marks_confirmed_ones(workspace):
    from warroom.comms.templates import load_templates
    from warroom.comms.render import render

    ws = workspace
    templates, _ = load_templates()
    hypothesis = next(e for e in ws.get(PAYMENTS).timeline if e.kind is EntryKind.HYPOTHESIS)
    before = render(templates["can-report"], ws.get(PAYMENTS), ws.clock.now())
    assert f"Hypothesis ({hypothesis.at:%H:%M}): {hypothesis.text}" in before
    ws.record([commands.judge_hypothesis(ws.factory, ws.get(PAYMENTS), hypothesis.id, Verdict.CONFIRMED)])
    assert f"Confirmed ({hypothesis.at:%H:%M}): {hypothesis.text}" in render(templates["can-report"], ws.get(PAYMENTS), ws.clock.now())
    ws.record([commands.judge_hypothesis(ws.factory, ws.get(PAYMENTS), hypothesis.id, Verdict.RULED_OUT)])
    assert hypothesis.text not in render(templates["can-report"], ws.get(PAYMENTS), ws.clock.now())
