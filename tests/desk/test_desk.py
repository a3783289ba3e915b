"""The desk: every use-case the CLI and the TUI share, tested without either (no Textual,
no argparse, no subprocess), against a real data dir with a frozen clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from warroom.desk import Desk, Library, LibraryProblem, StepRef
from warroom.domain.commands import DomainError
from warroom.domain.models import CommsChannel, ComponentState, EntryKind, Milestone, Severity, Status
from warroom.domain.timeline_filter import parse_filter
from warroom.store.config import Config
from warroom.store.workspace import Workspace

PAYMENTS = "f4dca4f2"  # the sample SEV1, monitoring, IC grace


def open_desk(data_dir: Path, clock, user: str = "alice", config: Config | None = None) -> Desk:
    workspace = Workspace(data_dir, user, clock)
    workspace.load()
    return Desk(workspace, Library(config or Config()))


@pytest.fixture
def desk(empty_dir, clock) -> Desk:
    return open_desk(empty_dir, clock)


@pytest.fixture
def sample_desk(sample_dir, clock) -> Desk:
    return open_desk(sample_dir, clock, user="grace")


def declared(desk: Desk, **fields) -> str:
    events = desk.declare(**{"title": "Checkout failing", "severity": Severity.SEV2, **fields})
    desk.record(events)
    return events[0].incident_id


# --- declaring -------------------------------------------------------------------------------


def test_a_new_incident_starts_with_the_ic_checklist_and_its_declarer_as_ic(desk):
    incident = desk.get(declared(desk))
    assert incident.commander == "alice"
    assert list(incident.checklists) == ["ic-first-five-minutes"]


def test_a_typed_incident_takes_its_severity_runbooks_and_roles(desk):
    incident = desk.get(declared(desk, severity=None, incident_type="payments"))
    assert incident.severity is Severity.SEV1
    assert list(incident.checklists) == ["ic-first-five-minutes", "payment-high-error-rate"]
    assert incident.roles["Payments liaison"] is None


def test_declaring_without_severity_or_typed_default_is_refused_and_writes_nothing(desk, empty_dir):
    with pytest.raises(DomainError, match="give a severity"):
        desk.declare(title="x", severity=None)
    assert desk.incidents() == []
    assert not list((empty_dir / "incidents").glob("*.jsonl"))


def test_deciding_writes_nothing_until_recorded(desk, empty_dir, clock):
    events = desk.declare(title="Checkout failing", severity=Severity.SEV2)
    assert desk.incidents() == []
    desk.record(events)
    assert open_desk(empty_dir, clock).get(events[0].incident_id).title == "Checkout failing"


# --- the timeline ----------------------------------------------------------------------------


def test_a_scribe_line_is_backdated_and_typed(desk, clock):
    incident_id = declared(desk)
    [event] = desk.log_line(incident_id, "/decision 15:01 roll back the deploy")
    desk.record([event])
    entry = desk.get(incident_id).entry(event.id)
    assert entry.kind is EntryKind.DECISION and entry.text == "roll back the deploy"
    assert entry.at == clock.now().replace(hour=15, minute=1, second=0, microsecond=0)


def test_a_bad_scribe_line_is_a_refusal(desk):
    incident_id = declared(desk)
    with pytest.raises(DomainError, match="unknown entry kind /bogus"):
        desk.log_line(incident_id, "/bogus something")
    with pytest.raises(DomainError, match="unknown kind 'rumour'"):
        desk.entry_kind("rumour")
    with pytest.raises(DomainError):
        desk.when("yesterday-ish")


def test_amend_and_redact_keep_history(desk):
    incident_id = declared(desk)
    [entry] = desk.log(incident_id, "customer jane@example.com reports 500s")
    desk.record([entry])
    desk.record(desk.amend(incident_id, entry.id, "a customer reports 500s"))
    desk.record(desk.redact(incident_id, entry.id, "contained an email address"))
    found = desk.get(incident_id).entry(entry.id)
    assert found.redacted and len(found.revisions) == 3


# --- status and components -------------------------------------------------------------------


def test_resolving_names_the_components_to_restore_and_restoring_them_clears_it(sample_desk):
    sample_desk.record(sample_desk.set_component(PAYMENTS, "Payments API", ComponentState.PARTIAL_OUTAGE))
    assert sample_desk.components_to_restore(PAYMENTS) == []  # still monitoring
    sample_desk.record(sample_desk.update(PAYMENTS, status=Status.RESOLVED))
    affected = sample_desk.components_to_restore(PAYMENTS)
    assert "Payments API" in affected
    sample_desk.record(sample_desk.restore_components(PAYMENTS, affected))
    assert set(sample_desk.get(PAYMENTS).components.values()) == {ComponentState.OPERATIONAL}
    assert sample_desk.components_to_restore(PAYMENTS) == []


def test_a_disallowed_or_empty_change_is_refused(desk):
    incident_id = declared(desk)
    with pytest.raises(DomainError, match="nothing to change"):
        desk.update(incident_id, severity=Severity.SEV2)
    with pytest.raises(DomainError, match="already alice"):
        desk.assign(incident_id, "ic", "alice")


# --- checklists ------------------------------------------------------------------------------


def test_toggle_ticks_an_open_step_and_unticks_a_done_one(desk):
    incident_id = declared(desk)
    step = desk.next_step(incident_id)
    desk.record(desk.toggle_step(incident_id, step))
    checklist = desk.get(incident_id).checklists[step.runbook_id]
    assert checklist.step(step.step_id).done
    desk.record(desk.toggle_step(incident_id, step))
    assert not desk.get(incident_id).checklists[step.runbook_id].step(step.step_id).done


def test_next_step_prefers_the_open_step_under_the_cursor(desk):
    incident_id = declared(desk)
    steps = desk.get(incident_id).checklists["ic-first-five-minutes"].steps
    first, third = (StepRef("ic-first-five-minutes", s.id) for s in (steps[0], steps[2]))
    assert desk.next_step(incident_id) == first
    assert desk.next_step(incident_id, third) == third
    desk.record(desk.toggle_step(incident_id, third))
    assert desk.next_step(incident_id, third) == first  # done: the first open one instead


def test_skipping_needs_an_open_step_and_says_why(desk):
    incident_id = declared(desk)
    step = desk.next_step(incident_id)
    desk.record(desk.skip_step(incident_id, step, "the bridge is already open"))
    found = desk.get(incident_id).checklists[step.runbook_id].step(step.step_id)
    assert found.skipped
    with pytest.raises(DomainError, match="already done"):
        desk.skip_step(incident_id, step, "again")
    with pytest.raises(DomainError, match="no step"):
        desk.toggle_step(incident_id, StepRef(step.runbook_id, "no-such-step"))


# --- comms -----------------------------------------------------------------------------------


def test_saving_an_unchanged_draft_is_refused_but_sending_it_is_recorded(sample_desk):
    text = sample_desk.render(PAYMENTS, "status-update")
    earlier = [h.id for h in sample_desk.get(PAYMENTS).draft_heads("status-update")]
    sample_desk.record(sample_desk.save_draft(PAYMENTS, "status-update", text, earlier))
    heads = sample_desk.get(PAYMENTS).draft_heads("status-update")
    assert [h.text for h in heads] == [text]
    with pytest.raises(DomainError, match="no changes"):
        sample_desk.save_draft(PAYMENTS, "status-update", text, [h.id for h in heads])
    sent = sample_desk.save_draft(PAYMENTS, "status-update", text, [h.id for h in heads], send_to=CommsChannel.STATUS_PAGE)
    assert [e.kind for e in sent] == ["comms.sent"]  # the saved version is what went out
    sample_desk.record(sent)
    incident = sample_desk.get(PAYMENTS)
    assert incident.sent_updates[-1].channel is CommsChannel.STATUS_PAGE
    cadence = sample_desk.cadence(incident)
    assert cadence.due_at == sample_desk.now() + timedelta(minutes=15)  # restarted (payments: 15)


def test_an_unknown_template_is_refused_naming_the_ones_there_are(sample_desk):
    with pytest.raises(DomainError, match="no template 'tweet'; available: .*status-update"):
        sample_desk.render(PAYMENTS, "tweet")


def test_the_config_and_the_incident_type_set_the_cadence(empty_dir, clock):
    desk = open_desk(empty_dir, clock, config=Config(cadence_minutes={"SEV2": 10}))
    plain = desk.get(declared(desk))
    assert desk.cadence(plain).remaining_seconds == 10 * 60
    typed = desk.get(declared(desk, severity=Severity.SEV2, incident_type="database"))
    assert desk.cadence(typed).remaining_seconds == 30 * 60  # the type's cadence wins


# --- follow-up and postmortem ----------------------------------------------------------------


def test_a_todo_becomes_an_action_item_once(desk):
    incident_id = declared(desk)
    [todo] = desk.log_line(incident_id, "/todo alert on card auth latency")
    desk.record([todo])
    desk.record(desk.promote_todo(incident_id, todo.id))
    [item] = desk.get(incident_id).action_items.values()
    assert item.from_entry == todo.id
    with pytest.raises(DomainError, match="already an action item"):
        desk.promote_todo(incident_id, todo.id)


def test_milestones_are_parsed_and_checked_for_order(desk):
    incident_id = declared(desk)
    with pytest.raises(DomainError):
        desk.set_milestone(incident_id, Milestone.ACKNOWLEDGED, "not a time")
    with pytest.raises(DomainError, match="mitigated cannot precede"):
        desk.set_milestone(incident_id, Milestone.MITIGATED, "14:00")  # before the declaration
    desk.record(desk.set_milestone(incident_id, Milestone.DETECTED, "14:50"))
    assert desk.get(incident_id).milestones[Milestone.DETECTED].hour == 14


def test_the_postmortem_timeline_follows_a_filter(sample_desk, tmp_path):
    whole = sample_desk.postmortem(PAYMENTS)
    only_decisions = sample_desk.postmortem(PAYMENTS, timeline_filter=parse_filter("kind:decision", sample_desk.now()))
    decision = "Roll back payments-api to v2.14.2 rather than hotfix forward"
    note = "Gateway provider status is green"
    assert decision in whole and note in whole
    assert decision in only_decisions and note not in only_decisions
    assert only_decisions.splitlines()[0] == whole.splitlines()[0] == "# Postmortem: Checkout payments failing for all customers"
    target = sample_desk.write_file(tmp_path / "pm.md", only_decisions)
    assert target.read_text() == only_decisions


# --- the library -----------------------------------------------------------------------------


def test_the_library_reads_only_the_parts_asked_for_and_reports_each_bad_file_once(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "broken.md").write_text("Hello {no_such_placeholder}\n")
    seen: list[LibraryProblem] = []
    library = Library(Config(template_dirs=[templates]), on_problem=seen.append)
    assert library.incident_type("PAYMENTS").severity is Severity.SEV1
    assert seen == []  # templates not read yet
    assert "status-update" in library.templates and "broken" not in library.templates
    library.templates  # noqa: B018 - read again: not reported again
    assert [(p.part, "broken.md" in p.message) for p in seen] == [("template", True)]
    _, problems = Library.load(Config(template_dirs=[templates]))
    assert [p.part for p in problems] == ["template"]
