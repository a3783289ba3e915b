"""A loaded incident opens each entry's sealed text when it is first read (drawn, searched,
exported): what people see is the same as if every text had been opened at load, and a purge
still leaves nothing to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.desk import Desk, Library
from warroom.domain.models import EntryKind, Severity
from warroom.domain.timeline_filter import parse_filter
from warroom.store.config import Config
from warroom.store.workspace import Workspace

SECRET = "db password=hunter2-prod"


def open_desk(data_dir: Path, clock, user: str = "alice") -> Desk:
    workspace = Workspace(data_dir, user, clock)
    workspace.load()
    return Desk(workspace, Library(Config()))


def written(data_dir: Path, clock) -> str:
    """An incident with plain, amended and redacted entries, journalled (Markdown entries:
    see the fold's tests)."""
    desk = open_desk(data_dir, clock)
    events = desk.declare(title="Checkout failing", severity=Severity.SEV2)
    desk.record(events)
    incident_id = events[0].incident_id
    for text, kind in [
        ("checkout p99 at 4s since 09:12", EntryKind.NOTE),
        (SECRET, EntryKind.NOTE),
        ("fail over to the replica", EntryKind.DECISION),
        ("connection pool exhausted?", EntryKind.HYPOTHESIS),
    ]:
        desk.record(desk.log(incident_id, text, kind))
    entries = {e.text: e.id for e in desk.get(incident_id).timeline}
    desk.record(desk.amend(incident_id, entries["fail over to the replica"], "fail over to replica db-2"))
    desk.record(desk.redact(incident_id, entries["connection pool exhausted?"], "wrong guess"))
    return incident_id


def texts(incident) -> list[tuple[str, str, list[str]]]:
    return [(e.id, e.text, [r.text for r in e.revisions]) for e in incident.timeline]


def test_a_loaded_timeline_reads_as_it_did_when_written(empty_dir, clock):
    incident_id = written(empty_dir, clock)
    as_written = texts(open_desk(empty_dir, clock).get(incident_id))
    assert [t for _, t, _ in as_written][-4:] == [
        "checkout p99 at 4s since 09:12", SECRET, "fail over to replica db-2", "",
    ]
    assert texts(open_desk(empty_dir, clock).get(incident_id)) == as_written


def test_search_and_export_find_texts_that_were_never_drawn(empty_dir, clock):
    incident_id = written(empty_dir, clock)
    desk = open_desk(empty_dir, clock)
    timeline = desk.get(incident_id).timeline
    found = parse_filter("replica", clock.now()).apply(timeline)
    assert [e.text for e in found] == ["fail over to replica db-2"]
    markdown = open_desk(empty_dir, clock).postmortem(incident_id)
    assert "checkout p99 at 4s since 09:12" in markdown and "fail over to replica db-2" in markdown
    assert "connection pool exhausted?" not in markdown


@pytest.mark.parametrize("drawn_before", [True, False])
def test_a_purge_leaves_nothing_to_read_whether_or_not_the_text_was_drawn(empty_dir, clock, drawn_before):
    incident_id = written(empty_dir, clock)
    secret_id = next(e.id for e in open_desk(empty_dir, clock).get(incident_id).timeline if e.text == SECRET)
    desk = open_desk(empty_dir, clock)
    before = next(e for e in desk.get(incident_id).timeline if e.id == secret_id)
    if drawn_before:
        assert before.text == SECRET
    desk.record(desk.redact(incident_id, secret_id, "pasted a password"))
    desk.record(desk.purge(incident_id, secret_id, "pasted a password"))

    purged = next(e for e in desk.get(incident_id).timeline if e.id == secret_id)
    assert purged.redacted and purged.text == ""
    assert all(SECRET not in r.text for r in purged.revisions)
    assert SECRET not in before.text  # the entry object a view held before the purge, too
    reloaded = next(e for e in open_desk(empty_dir, clock).get(incident_id).timeline if e.id == secret_id)
    assert reloaded.text == "" and all(SECRET not in r.text for r in reloaded.revisions)
