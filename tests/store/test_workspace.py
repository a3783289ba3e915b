"""A data directory shared by several processes: record, reload, follow, refuse corruption."""

from __future__ import annotations

import gc
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.commands import DomainError, EventFactory
from warroom.domain.fold import IncidentFolder
from warroom.domain.hlc import HlcValue, HybridClock
from warroom.domain.ids import short_id, uuid7
from warroom.domain.models import EntryKind, Severity, Status
from warroom.store import paths
from warroom.store.journal import Journal
from warroom.store.workspace import UnknownIncidentError, Workspace

T0 = datetime(2026, 3, 30, 14, 0, tzinfo=timezone.utc)


def open_ws(data_dir: Path, actor: str = "alice", clock: FixedClock | None = None) -> Workspace:
    ws = Workspace(data_dir, actor, clock or FixedClock(T0))
    ws.load()
    return ws


def declare(ws: Workspace, title: str = "Checkout failing", severity: Severity = Severity.SEV2) -> str:
    events = commands.declare(ws.factory, title=title, severity=severity)
    ws.record(events)
    return events[0].incident_id


def journal_path(data_dir: Path, incident_id: str) -> Path:
    return paths.incidents_dir(data_dir) / f"{incident_id}.jsonl"


def test_second_workspace_sees_the_same_state(tmp_path):
    clock = FixedClock(T0)
    ws = open_ws(tmp_path, clock=clock)
    incident_id = declare(ws)
    clock.advance(minutes=2)
    ws.record([commands.log_entry(ws.factory, ws.get(incident_id), "pool at 92%", EntryKind.ACTION)])
    ws.record([commands.update(ws.factory, ws.get(incident_id), severity=Severity.SEV1)])
    ws.record([commands.assign_role(ws.factory, ws.get(incident_id), "tech", "bob")])

    other = Workspace(tmp_path, "bob", FixedClock(T0))
    report = other.load()
    assert report.errors == [] and report.warnings == []
    assert other.get(incident_id).model_dump() == ws.get(incident_id).model_dump()
    assert other.get(incident_id).severity is Severity.SEV1
    assert [i.id for i in other.incidents()] == [incident_id]
    assert [e.id for e in other.events(incident_id)] == [e.id for e in ws.events(incident_id)]


def test_record_is_on_disk_before_it_returns(tmp_path):
    ws = open_ws(tmp_path)
    incident_id = declare(ws)
    on_disk = Journal(journal_path(tmp_path, incident_id), incident_id).open_readonly()
    assert [e.id for e in on_disk] == [e.id for e in ws.events(incident_id)]


def test_reloaded_workspace_continues_the_hlc(tmp_path):
    # a later session whose wall clock is behind must still order its writes after the journal
    ws = open_ws(tmp_path, clock=FixedClock(T0 + timedelta(hours=1)))
    incident_id = declare(ws, severity=Severity.SEV3)
    behind = open_ws(tmp_path, clock=FixedClock(T0))
    event = commands.update(behind.factory, behind.get(incident_id), severity=Severity.SEV1)
    assert event.hlc > behind.get(incident_id).last_hlc
    behind.record([event])
    assert open_ws(tmp_path).get(incident_id).severity is Severity.SEV1


def test_poll_picks_up_events_from_another_workspace(tmp_path):
    clock = FixedClock(T0)
    mine = open_ws(tmp_path, clock=clock)
    theirs = open_ws(tmp_path, "bob", clock)
    assert mine.poll() == {}

    first = declare(theirs, "Search slow", Severity.SEV3)  # a brand-new journal
    changed = mine.poll()
    assert list(changed) == [first]
    assert [e.id for e in changed[first]] == [e.id for e in theirs.events(first)]
    assert mine.get(first).title == "Search slow"

    clock.advance(minutes=1)
    note = commands.log_entry(theirs.factory, theirs.get(first), "merge throttled")
    theirs.record([note])
    changed = mine.poll()
    assert [e.id for e in changed[first]] == [note.id]
    assert mine.get(first).timeline[-1].text == "merge throttled"
    assert mine.poll() == {}

    # my own writes are not reported back to me as news
    mine.record([commands.log_entry(mine.factory, mine.get(first), "ack")])
    assert mine.poll() == {}
    assert theirs.poll()[first][0].actor == "alice"
    assert mine.get(first).model_dump() == theirs.get(first).model_dump()


def test_poll_observes_remote_hlc_within_the_skew_bound(tmp_path):
    ahead = open_ws(tmp_path, "bob", FixedClock(T0 + timedelta(minutes=2)))
    behind = open_ws(tmp_path, "alice", FixedClock(T0))
    incident_id = declare(ahead)
    behind.poll()
    event = commands.log_entry(behind.factory, behind.get(incident_id), "late but ordered")
    assert event.hlc > behind.get(incident_id).last_hlc


def test_a_remote_hlc_far_ahead_is_never_adopted(tmp_path):
    ahead = open_ws(tmp_path, "bob", FixedClock(T0 + timedelta(hours=2)))
    behind = open_ws(tmp_path, "alice", FixedClock(T0))
    incident_id = declare(ahead)
    behind.poll()
    event = commands.log_entry(behind.factory, behind.get(incident_id), "my clock is right")
    assert HlcValue.decode(event.hlc).wall_ms == int(T0.timestamp() * 1000)


def _corrupt_middle(path: Path) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[0] = b"00000000 {\"broken\": true}"
    path.write_bytes(b"\n".join(lines))


def test_a_damaged_journal_is_flagged_and_the_rest_of_it_loads(tmp_path):
    ws = open_ws(tmp_path)
    good = declare(ws, "Good one")
    bad = declare(ws, "Bad one")
    ws.record([commands.log_entry(ws.factory, ws.get(bad), "more")])
    _corrupt_middle(journal_path(tmp_path, bad))
    damaged = journal_path(tmp_path, bad).read_bytes()

    fresh = Workspace(tmp_path, "alice", FixedClock(T0))
    report = fresh.load()
    assert len(report.errors) == 1
    assert bad in report.errors[0] and "line 1" in report.errors[0]
    assert {i.id for i in fresh.incidents()} == {good, bad}
    assert [e.text for e in fresh.get(short_id(bad)).timeline][-1] == "more"
    assert set(fresh.flags()) == {bad}
    assert journal_path(tmp_path, bad).read_bytes() == damaged  # nothing cut
    # still writable: a new line after a damaged one is as safe as any other
    fresh.record([commands.log_entry(fresh.factory, fresh.get(bad), "written after")])
    assert journal_path(tmp_path, bad).read_bytes().startswith(damaged)


def test_an_unusable_journal_is_set_aside_and_others_keep_receiving(tmp_path):
    ws = open_ws(tmp_path)
    good = declare(ws, "Good one")
    bad = declare(ws, "Planted")
    target = tmp_path / "somebody-elses-file"
    target.write_bytes(b"precious")
    path = journal_path(tmp_path, bad)
    events = Journal(path, bad).open_readonly()
    path.unlink()
    path.symlink_to(target)

    fresh = Workspace(tmp_path, "alice", FixedClock(T0))
    report = fresh.load()
    assert "symbolic link" in report.errors[0]
    assert [i.id for i in fresh.incidents()] == [good]
    with pytest.raises(DomainError, match="warroom repair"):
        fresh.get(bad)
    other = commands.log_entry(fresh.factory, fresh.get(good), "still arriving")
    saved = fresh.ingest([*events, other])
    assert list(saved) == [good] and fresh.skipped == {bad: len(events)}
    assert target.read_bytes() == b"precious"
    # repair: the link is moved aside (its target untouched) and the journal rebuilt
    moved = fresh.rebuild(bad, events)
    assert moved.is_symlink() and target.read_bytes() == b"precious"
    assert fresh.get(bad).title == "Planted" and fresh.flags() == {}


def test_corruption_found_while_polling_is_reported(tmp_path):
    mine = open_ws(tmp_path)
    incident_id = declare(mine)
    with open(journal_path(tmp_path, incident_id), "ab") as handle:
        handle.write(b"garbage line\n")
    assert mine.poll() == {}
    assert any(incident_id in e for e in mine.report.errors)
    assert incident_id in mine.flags()


def test_torn_tail_is_repaired_with_a_warning(tmp_path):
    ws = open_ws(tmp_path)
    incident_id = declare(ws)
    path = journal_path(tmp_path, incident_id)
    good = path.read_bytes()
    path.write_bytes(good + b"1234abcd {\"id\": \"half")
    fresh = Workspace(tmp_path, "alice", FixedClock(T0))
    report = fresh.load()
    assert report.errors == [] and len(report.warnings) == 1
    assert path.read_bytes() == good
    assert fresh.get(incident_id).title == "Checkout failing"


def _ids_with_tail(tail: str, count: int) -> list[str]:
    rng = random.Random(0)
    return [uuid7(T0, rng.randbytes(10))[:-len(tail)] + tail for _ in range(count)]


def test_resolve_id_full_short_ambiguous_unknown(tmp_path):
    clock = FixedClock(T0)
    ws = Workspace(tmp_path, "alice", clock)
    ws.load()
    a_id, b_id = _ids_with_tail("5c9a0e12", 1)[0], _ids_with_tail("7d9a0e12", 1)[0]
    # the incident id is the factory's first id; later ones come from a seeded generator
    for incident_id in (a_id, b_id):
        ids = iter([incident_id])
        rng = random.Random(incident_id)
        ws.factory.new_id = lambda now, ids=ids, rng=rng: next(ids, None) or uuid7(now, rng.randbytes(10))
        declare(ws)
    assert ws.resolve_id(a_id) == a_id
    assert ws.resolve_id(a_id.upper()) == a_id
    assert ws.resolve_id(" 5c9a0e12 ") == a_id
    assert ws.resolve_id(short_id(b_id)) == b_id
    assert ws.get("7d9a0e12").id == b_id
    with pytest.raises(UnknownIncidentError, match="several"):
        ws.resolve_id("9a0e12")
    with pytest.raises(UnknownIncidentError, match="no incident"):
        ws.resolve_id("ffffffff")
    with pytest.raises(UnknownIncidentError):
        ws.resolve_id("e12")  # too short to be a reference
    with pytest.raises(UnknownIncidentError):
        ws.get("deadbeef")


def test_ingest_skips_known_ids_and_journals_new_ones(tmp_path):
    clock = FixedClock(T0)
    ws = open_ws(tmp_path, clock=clock)
    incident_id = declare(ws)

    remote_clock = FixedClock(T0 + timedelta(minutes=3))  # ahead, within the skew bound
    rng = random.Random(9)
    remote = EventFactory("bob", remote_clock, HybridClock(remote_clock, "b0b0b0b0"), lambda now: uuid7(now, rng.randbytes(10)))
    state = ws.get(incident_id)
    new_note = commands.log_entry(remote, state, "from the server")
    new_sev = commands.update(remote, state, status=Status.IDENTIFIED)
    other_incident = commands.declare(remote, title="Another", severity=Severity.SEV4)
    known = ws.events(incident_id)
    size_before = journal_path(tmp_path, incident_id).stat().st_size

    fresh = ws.ingest(known + [new_note, new_note, new_sev] + other_incident + known[:1])
    assert {k: [e.id for e in v] for k, v in fresh.items()} == {
        incident_id: [new_note.id, new_sev.id],
        other_incident[0].incident_id: [e.id for e in other_incident],
    }
    assert ws.get(incident_id).status is Status.IDENTIFIED
    on_disk = Journal(journal_path(tmp_path, incident_id), incident_id).open_readonly()
    assert [e.id for e in on_disk] == [e.id for e in known] + [new_note.id, new_sev.id]
    assert journal_path(tmp_path, incident_id).stat().st_size > size_before
    assert journal_path(tmp_path, other_incident[0].incident_id).exists()

    # a second delivery of the same batch is a no-op
    size = journal_path(tmp_path, incident_id).stat().st_size
    assert ws.ingest([new_note, new_sev]) == {}
    assert journal_path(tmp_path, incident_id).stat().st_size == size
    # and our next write orders after what we ingested
    next_event = commands.log_entry(ws.factory, ws.get(incident_id), "after ingest")
    assert next_event.hlc > new_sev.hlc


def test_listeners_hear_recorded_batches(tmp_path):
    ws = open_ws(tmp_path)
    heard = []
    ws.add_listener(lambda incident_id, batch: heard.append((incident_id, [e.id for e in batch])))
    events = commands.declare(ws.factory, title="x", severity=Severity.SEV4)
    ws.record(events)
    assert heard == [(events[0].incident_id, [e.id for e in events])]


def test_node_id_persists_across_instances(tmp_path):
    first = Workspace(tmp_path, "alice", FixedClock(T0))
    node = (tmp_path / "node-id").read_text().strip()
    assert len(node) == 8 and int(node, 16) >= 0
    second = Workspace(tmp_path, "bob", FixedClock(T0))
    assert HlcValue.decode(first.hlc.tick()).node == node
    assert HlcValue.decode(second.hlc.tick()).node == node
    assert (tmp_path / "node-id").read_text().strip() == node
    elsewhere = Workspace(tmp_path / "other", "alice", FixedClock(T0))
    assert HlcValue.decode(elsewhere.hlc.tick()).node != node


def test_invalid_node_id_file_is_replaced(tmp_path):
    (tmp_path / "node-id").write_text("not hex!\n")
    ws = Workspace(tmp_path, "alice", FixedClock(T0))
    node = (tmp_path / "node-id").read_text().strip()
    assert node != "not hex!" and len(node) == 8
    assert HlcValue.decode(ws.hlc.tick()).node == node


def test_load_ignores_unrelated_files(tmp_path):
    ws = open_ws(tmp_path)
    incident_id = declare(ws)
    inc_dir = paths.incidents_dir(tmp_path)
    (inc_dir / "notes.txt").write_text("hello")
    (inc_dir / "NOT-A-UUID-0000-0000-000000000000.jsonl").write_text("junk\n")
    fresh = Workspace(tmp_path, "alice", FixedClock(T0))
    report = fresh.load()
    assert report.errors == []
    assert [i.id for i in fresh.incidents()] == [incident_id]
    assert fresh.poll() == {}


def test_a_big_load_keeps_the_collector_paused_from_first_parse_to_last_fold(tmp_path, monkeypatch):
    # Each pause of the garbage collector ends with a pass over every object made so far: a
    # load pauses it once, over all its journals (none big enough to pause it alone), and
    # leaves it running afterwards.
    ws = open_ws(tmp_path)
    for n in range(2):
        incident_id = declare(ws, title=f"Checkout failing {n}")
        state = ws.get(incident_id)
        ws.record([commands.log_entry(ws.factory, state, f"probe {k} of pool db-{n}") for k in range(300)])
    seen: list[bool] = []
    real_parse, real_add_many = Journal._parse_lines, IncidentFolder.add_many
    monkeypatch.setattr(Journal, "_parse_lines", lambda *a: seen.append(gc.isenabled()) or real_parse(*a))
    monkeypatch.setattr(IncidentFolder, "add_many", lambda *a: seen.append(gc.isenabled()) or real_add_many(*a))
    loaded = open_ws(tmp_path)
    assert seen == [False] * 4  # two parses, two folds
    assert gc.isenabled()
    assert sorted(len(i.timeline) for i in loaded.incidents()) == [302, 302]  # declared, commander assigned, 300 notes
