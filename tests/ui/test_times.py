"""Backdating in the console under several time zones (east of UTC, with DST): ``14:32`` means
14:32 in the zone the timeline shows, echoed in it and in UTC, and a time on another day
waits for a yes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from warroom.domain import commands
from warroom.domain.models import Severity
from warroom.store.localzone import local_zone
from warroom.store.workspace import Workspace
from warroom.ui.widgets.scribe import ScribeInput
from warroom.ui.widgets.scribe_desk import LineState, ScribeDesk
from warroom.ui.widgets.timeline import TimelineView


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# --- the console ----------------------------------------------------------------------------------


@pytest.fixture
def in_zone(monkeypatch):
    """Run with the machine's zone set to ``name`` (TZ, as a person's shell would)."""

    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.delenv("TZ", raising=False)
    time.tzset()


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    desk = pilot.app.query_one(ScribeDesk)
    for _ in range(200):
        if not desk.pending:
            break
        await pilot.pause(0.05)
    await pilot.pause()


def _declared(data_dir, clock) -> str:
    workspace = Workspace(data_dir, "alice", clock)
    workspace.load()
    events = commands.declare(workspace.factory, title="Checkout failing", severity=Severity.SEV1)
    workspace.record(events)
    return events[0].incident_id


@pytest.mark.parametrize(
    "zone, now, typed, expected, shown",
    [
        ("Asia/Tokyo", utc(2026, 3, 30, 4, 30), "13:24", utc(2026, 3, 30, 4, 24), "13:24 JST (04:24Z)"),
        ("America/New_York", utc(2026, 3, 9, 14, 0), "09:45", utc(2026, 3, 9, 13, 45), "09:45 EDT (13:45Z)"),
        ("Europe/Berlin", utc(2026, 10, 26, 9, 0), "09:15", utc(2026, 10, 26, 8, 15), "09:15 CET (08:15Z)"),
        ("Australia/Adelaide", utc(2026, 1, 10, 2, 0), "12:00", utc(2026, 1, 10, 1, 30), "12:00 ACDT (01:30Z)"),
    ],
)
async def test_backdating_with_local_time_on_uses_the_local_zone(make_app, empty_dir, clock, in_zone, zone, now, typed, expected, shown):
    in_zone(zone)
    clock.set(now)
    incident_id = _declared(empty_dir, clock)
    app = make_app(empty_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "u", "i")  # local time on, back to the box
        assert app.query_one(TimelineView).local_time
        await pilot.press(*f"{typed} - alert fired", "enter")
        await settle(pilot)
        entry = next(e for e in app.current.timeline if e.text == "alert fired")
        assert entry.at == expected
        assert app.query_one(ScribeInput).border_subtitle == f"saved ✓ {shown}"
        assert app.query_one(TimelineView)._time_text(entry.at).startswith(typed)  # shown as typed
    reader = Workspace(empty_dir, "reader", clock)
    reader.load()
    assert next(e for e in reader.get(incident_id).timeline if e.text == "alert fired").at == expected


async def test_a_time_that_lands_yesterday_waits_for_a_yes(make_app, empty_dir, clock, in_zone):
    in_zone("Asia/Tokyo")
    clock.set(utc(2026, 3, 30, 15, 5))  # 00:05 JST on the 31st
    _declared(empty_dir, clock)
    app = make_app(empty_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "u", "i", *"23:50 - alert fired", "enter", *"next line", "enter")
        await settle(pilot)
        desk = app.query_one(ScribeDesk)
        [held] = desk.unsaved
        assert held.state is LineState.ASKING
        assert "yesterday" in held.reason and "23:50 JST" in held.reason and "14:50Z" in held.reason
        texts = [e.text for e in app.current.timeline]
        assert "next line" in texts and "alert fired" not in texts  # the next line did not wait
        await pilot.press("tab", "enter")  # yes
        await settle(pilot)
        entry = next(e for e in app.current.timeline if e.text == "alert fired")
        assert entry.at == utc(2026, 3, 30, 14, 50) and desk.unsaved == []


def test_local_zone_follows_tz(in_zone):
    in_zone("Asia/Tokyo")
    assert local_zone().utcoffset(utc(2026, 3, 30)) == timedelta(hours=9)
    in_zone("America/New_York")
    assert local_zone().tzname(datetime(2026, 7, 1)) == "EDT"

async def test_a_twelve_hour_time_is_shown_as_read_and_waits_for_a_yes(make_app, empty_dir, clock, in_zone):
    in_zone("America/New_York")
    clock.set(utc(2026, 3, 9, 20, 0))  # 16:00 EDT
    _declared(empty_dir, clock)
    app = make_app(empty_dir, poll_journals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "u", "i", *"2:32 pm - alert fired", "enter")
        await settle(pilot)
        desk = app.query_one(ScribeDesk)
        [held] = desk.unsaved
        assert held.state is LineState.ASKING
        assert "12-hour time, read as 14:32" in held.reason and "14:32 EDT (18:32Z)" in held.reason
        assert "alert fired" not in [e.text for e in app.current.timeline]
        await pilot.press("tab", "enter")  # yes
        await settle(pilot)
        entry = next(e for e in app.current.timeline if e.text == "alert fired")
        assert entry.at == utc(2026, 3, 9, 18, 32) and desk.unsaved == []
