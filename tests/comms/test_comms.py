"""Comms: templates filled from live state, drafts and conflicts, cadence, components."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from warroom.comms.render import render
from warroom.comms.templates import TemplateError, load_templates, parse_template
from warroom.domain import commands
from warroom.domain.cadence import Cadence, cadence, describe
from warroom.domain.models import CommsChannel, ComponentState, EntryKind, Severity, Status
from warroom.store.workspace import Workspace

PAYMENTS = "f4dca4f2"  # the SEV1 sample incident's short id


@pytest.fixture
def workspace(sample_dir, clock):
    ws = Workspace(sample_dir, "carol", clock)
    ws.load()
    return ws


@pytest.fixture(scope="module")
def templates():
    loaded, errors = load_templates()
    assert errors == []
    return loaded


@pytest.mark.parametrize("template_id", ["initial", "status-update", "resolution", "status-page", "exec-summary"])
def test_every_template_renders_the_sample_incident(template_id, templates, workspace, clock, snapshot):
    text = render(templates[template_id], workspace.get(PAYMENTS), clock.now())
    assert "{" not in text and "}" not in text
    assert text == snapshot


def test_status_update_carries_live_facts(templates, workspace, clock):
    text = render(templates["status-update"], workspace.get(PAYMENTS), clock.now())
    assert "SEV1 Checkout payments failing for all customers" in text
    assert "MONITORING" in text
    assert "Roll back payments-api to v2.14.2" in text  # latest decisions
    assert "Checkout: degraded performance" in text  # components
    # This draft is the update: sent now (15:12), the next is due 15 minutes later for SEV1.
    assert "Next update by 15:27 UTC" in text


def test_an_overdue_update_never_promises_a_time_already_past(templates, workspace, clock):
    clock.advance(minutes=30)  # 15:42: the update due at 15:19 is 23 minutes late
    assert cadence(workspace.get(PAYMENTS), clock.now()).overdue
    text = render(templates["status-update"], workspace.get(PAYMENTS), clock.now())
    assert "Next update by 15:57 UTC" in text


def test_unknown_placeholder_is_reported_with_file_and_line():
    with pytest.raises(TemplateError, match=r"x\.md, line 3: unknown placeholder \{severty\}"):
        parse_template("Title\n\nNow {severty}\n", template_id="x", source="x.md")
    with pytest.raises(TemplateError, match="unmatched brace"):
        parse_template("a { b\n", template_id="x", source="x.md")
    assert parse_template("literal {{braces}} {title}\n", template_id="x", source="x.md")


def test_a_bad_template_file_does_not_stop_the_others(tmp_path):
    (tmp_path / "good.md").write_text("---\nname: Good\nchannel: exec\n---\n{title}\n")
    (tmp_path / "typo.md").write_text("{titel}\n")
    (tmp_path / "binary.md").write_bytes(b"\xff\xfe\x00")
    loaded, errors = load_templates([tmp_path])
    assert list(loaded) == ["good"] and loaded["good"].channel is CommsChannel.EXEC
    messages = sorted(str(e) for e in errors)
    assert len(messages) == 2
    assert "binary.md: not UTF-8" in messages[0]
    assert "typo.md, line 1: unknown placeholder {titel}" in messages[1]


def test_cadence_due_overdue_reset_on_sent_and_paused_when_resolved(workspace, clock):
    incident = workspace.get(PAYMENTS)  # SEV1: every 15 minutes; last sent 15:04:03
    timing = cadence(incident, clock.now())
    assert not timing.paused and not timing.overdue
    assert timing.due_at == incident.sent_updates[-1].at + timedelta(minutes=15)
    assert describe(timing) == "update due 15:19Z (in 6m)"  # 15:19:03 due, 15:12:30 now
    clock.advance(minutes=10)
    assert cadence(workspace.get(PAYMENTS), clock.now()).overdue
    assert describe(cadence(workspace.get(PAYMENTS), clock.now())) == "UPDATE OVERDUE 15:19Z (3m late)"

    workspace.record([commands.mark_sent(workspace.factory, workspace.get(PAYMENTS), "status-update", CommsChannel.INTERNAL, "update")])
    timing = cadence(workspace.get(PAYMENTS), clock.now())
    assert not timing.overdue and timing.remaining_seconds == pytest.approx(15 * 60)

    assert cadence(workspace.get(PAYMENTS), clock.now(), {"SEV1": 5}).remaining_seconds == pytest.approx(5 * 60)
    workspace.record([commands.update(workspace.factory, workspace.get(PAYMENTS), status=Status.RESOLVED)])
    clock.advance(hours=3)
    assert cadence(workspace.get(PAYMENTS), clock.now()).paused
    workspace.record([commands.update(workspace.factory, workspace.get(PAYMENTS), status=Status.INVESTIGATING, severity=Severity.SEV4)])
    assert cadence(workspace.get(PAYMENTS), clock.now()).paused  # SEV4 has no cadence


@pytest.mark.parametrize(
    ("remaining", "words"),
    [(840, "update due 04:30Z (in 14m)"), (45, "update due 04:30Z (in 45s)"), (3900, "update due 04:30Z (in 1h 05m)"),
     (-200, "UPDATE OVERDUE 04:30Z (3m late)"), (-5, "UPDATE OVERDUE 04:30Z (5s late)")],
)
def test_cadence_in_words_names_a_clock_time_and_a_countdown(remaining, words):
    due = datetime(2026, 3, 30, 4, 30, tzinfo=timezone.utc)
    assert describe(Cadence(due_at=due, remaining_seconds=remaining, paused=False)) == words
    assert describe(Cadence(due_at=None, remaining_seconds=0, paused=True)) == ""


def test_concurrent_draft_saves_are_both_kept_as_a_conflict(workspace, sample_dir, clock):
    other = Workspace(sample_dir, "dave", clock)
    other.load()
    base = [v.id for v in workspace.get(PAYMENTS).draft_heads("exec-summary")]
    mine = commands.save_draft(workspace.factory, workspace.get(PAYMENTS), "exec-summary", "carol's words", base)
    theirs = commands.save_draft(other.factory, other.get(PAYMENTS), "exec-summary", "dave's words", base)
    workspace.record([mine])
    workspace.ingest([theirs])
    heads = workspace.get(PAYMENTS).draft_heads("exec-summary")
    assert sorted(h.text for h in heads) == ["carol's words", "dave's words"]
    merged = commands.save_draft(workspace.factory, workspace.get(PAYMENTS), "exec-summary", "agreed words", [h.id for h in heads])
    workspace.record([merged])
    assert [h.text for h in workspace.get(PAYMENTS).draft_heads("exec-summary")] == ["agreed words"]
    assert len(workspace.get(PAYMENTS).drafts["exec-summary"]) == 3  # every version kept


def test_components_are_logged_old_to_new(workspace):
    workspace.record([commands.set_component(workspace.factory, workspace.get(PAYMENTS), "Checkout", ComponentState.OPERATIONAL)])
    incident = workspace.get(PAYMENTS)
    assert incident.components["Checkout"] is ComponentState.OPERATIONAL
    assert incident.timeline[-1].kind is EntryKind.COMPONENT
    assert incident.timeline[-1].text == "Status page: Checkout degraded performance → operational"
    with pytest.raises(commands.DomainError, match="already operational"):
        commands.set_component(workspace.factory, incident, "Checkout", ComponentState.OPERATIONAL)
    assert ComponentState.parse("partial") is ComponentState.PARTIAL_OUTAGE


def run_cli(*args, data_dir):
    return subprocess.run([sys.executable, "-m", "warroom", "--data-dir", str(data_dir), *args], capture_output=True, text=True, timeout=60)


def test_comms_render_command(sample_dir):
    ok = run_cli("comms", "render", PAYMENTS, "status-page", data_dir=sample_dir)
    assert ok.returncode == 0 and "Checkout: degraded performance" in ok.stdout
    unknown_template = run_cli("comms", "render", PAYMENTS, "nope", data_dir=sample_dir)
    assert unknown_template.returncode == 1 and "no template 'nope'" in unknown_template.stderr
    unknown_incident = run_cli("comms", "render", "ffffffff", "status-page", data_dir=sample_dir)
    assert unknown_incident.returncode == 1 and "no incident 'ffffffff'" in unknown_incident.stderr
