"""``warroom demo`` opens a time-shifted copy of the sample incidents; sample_data/ is never written."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from warroom.domain.clock import FixedClock
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HlcValue
from warroom.store import paths
from warroom.desk.demo import copy_sample_incidents, shift_clock_times
from warroom.store.journal import Journal
from warroom.store.workspace import Workspace

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
SOURCE = SAMPLES / "incidents"
NOW = datetime(2027, 2, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)


def tree_hash(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def read(directory: Path) -> dict[str, list]:
    return {p.stem: Journal(p, p.stem).open_readonly() for p in sorted(directory.glob("*.jsonl"))}


@pytest.fixture(scope="module")
def originals() -> dict[str, list]:
    found = read(SOURCE)
    assert len(found) >= 3, "the sample incidents are missing"
    return found


def test_copy_shifts_times_and_preserves_everything_else(tmp_path, originals):
    before = tree_hash(SAMPLES)
    count = copy_sample_incidents(SOURCE, tmp_path, NOW)
    assert tree_hash(SAMPLES) == before  # byte-identical, nothing added or removed

    copies = read(paths.incidents_dir(tmp_path))
    assert count == len(originals) == len(copies)
    assert set(copies) == set(originals)

    newest = max(e.logged_at for events in copies.values() for e in events)
    assert abs(newest - (NOW - timedelta(minutes=3))) <= timedelta(seconds=30)

    offset = newest - max(e.logged_at for events in originals.values() for e in events)
    assert offset > timedelta(days=30)  # the samples really were moved
    assert offset % timedelta(minutes=1) == timedelta(0)  # whole minutes: HH:MM in text moves exactly
    for incident_id, events in originals.items():
        copied = copies[incident_id]
        assert [e.id for e in copied] == [e.id for e in events]
        for old, new in zip(events, copied):
            assert (new.kind, new.actor, new.incident_id) == (old.kind, old.actor, old.incident_id)
            assert new.payload == {
                k: shift_clock_times(v, offset) if k in ("text", "reason", "title", "summary", "impact") and isinstance(v, str) else v
                for k, v in old.payload.items()
            }
            assert new.at - old.at == offset
            assert new.logged_at - old.logged_at == offset
            old_hlc, new_hlc = HlcValue.decode(old.hlc), HlcValue.decode(new.hlc)
            assert (new_hlc.counter, new_hlc.node) == (old_hlc.counter, old_hlc.node)
            assert abs((new_hlc.wall_ms - old_hlc.wall_ms) - offset / timedelta(milliseconds=1)) <= 1
        # HLC order (and so every last-writer-wins outcome) is unchanged
        assert sorted(copied, key=lambda e: e.order_key()) == [
            copied[i] for i in sorted(range(len(events)), key=lambda i: events[i].order_key())
        ]

        old_state = fold_incident(incident_id, events)
        new_state = fold_incident(incident_id, copied)
        assert [(e.id, e.kind, e.actor, e.text, e.redacted) for e in new_state.timeline] == [
            (e.id, e.kind, e.actor, shift_clock_times(e.text, offset), e.redacted) for e in old_state.timeline
        ]
        assert [e.text for e in new_state.timeline] and all(
            new.at - old.at == offset for old, new in zip(old_state.timeline, new_state.timeline)
        )
        for field in ("title", "severity", "status", "roles", "summary", "impact", "event_count", "problems"):
            assert getattr(new_state, field) == getattr(old_state, field), field
        if old_state.declared_at is not None:
            assert new_state.declared_at - old_state.declared_at == offset


def test_copy_opens_as_a_live_looking_workspace(tmp_path):
    copy_sample_incidents(SOURCE, tmp_path, NOW)
    clock = FixedClock(NOW)
    ws = Workspace(tmp_path, "demo-user", clock)
    report = ws.load()
    assert report.errors == [] and report.warnings == []
    incidents = ws.incidents()
    assert len(incidents) == len(list(SOURCE.glob("*.jsonl")))
    active = [i for i in incidents if i.is_active]
    assert active, "the demo should show a live incident"
    for incident in active:
        assert timedelta(0) < timedelta(seconds=incident.elapsed_seconds(NOW)) < timedelta(days=1)
    # a new write orders after every sample event despite the shift
    newest_hlc = max(i.last_hlc for i in incidents)
    assert ws.hlc.tick() > newest_hlc


def test_lead_is_configurable(tmp_path):
    copy_sample_incidents(SOURCE, tmp_path, NOW, lead=timedelta(minutes=10))
    newest = max(e.logged_at for events in read(paths.incidents_dir(tmp_path)).values() for e in events)
    assert abs(newest - (NOW - timedelta(minutes=10))) <= timedelta(seconds=30)


def test_clock_times_in_the_text_agree_with_the_shifted_timeline(tmp_path):
    copy_sample_incidents(SOURCE, tmp_path, NOW)
    ws = Workspace(tmp_path, "demo-user", FixedClock(NOW))
    ws.load()
    payments = next(i for i in ws.incidents() if i.title.startswith("Checkout payments"))
    # "payments-api v2.14.3 (deployed 14:15)" was written 20 minutes before declaring at 14:35.
    deployed = next(e for e in payments.timeline if "(deployed" in e.text)
    declared = payments.declared_at
    assert f"(deployed {declared - timedelta(minutes=20):%H:%M})" in deployed.text
    sent = payments.sent_updates[-1]
    assert sent.text.startswith(f"INCIDENT UPDATE, {sent.at:%H:%M} UTC")


@pytest.mark.parametrize(
    ("text", "minutes", "expected"),
    [("deployed 14:15", 30, "deployed 14:45"), ("14:15-14:52 UTC", -15, "14:00-14:37 UTC"),
     ("at 23:50:12", 20, "at 00:10:12"), ("v2.14.3 and 1:30 and 123:45 stay", 60, "v2.14.3 and 1:30 and 123:45 stay")],
)
def test_shift_clock_times(text, minutes, expected):
    assert shift_clock_times(text, timedelta(minutes=minutes)) == expected
