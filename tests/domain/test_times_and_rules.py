"""Times typed as ``HH:MM`` are read in the zone the person sees, echoed in it and in UTC,
and asked about when they land on another day or more than 12 hours back; and the rules a
sync server enforces, as the pure functions clients apply before writing."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from warroom.domain import changes
from warroom.domain.authority import commander_only_action, refusal
from warroom.domain.models import Severity, Status
from warroom.domain.scribe import UTC, backdate_question, describe_time, parse_scribe_line, parse_when, time_today
from warroom.store.workspace import Workspace

TOKYO = ZoneInfo("Asia/Tokyo")  # east of UTC, no DST
NEW_YORK = ZoneInfo("America/New_York")  # DST: 2026-03-08 02:00 EST -> 03:00 EDT
BERLIN = ZoneInfo("Europe/Berlin")  # DST ends 2026-10-25 03:00 CEST -> 02:00 CET


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def payments(workspace: Workspace):
    """The sample SEV1 (payments, monitoring, grace is the IC)."""
    return next(i for i in workspace.incidents() if i.severity is Severity.SEV1)


# --- the domain ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, now, typed, expected",
    [
        (UTC, utc(2026, 3, 30, 15, 0), "14:32", utc(2026, 3, 30, 14, 32)),
        (TOKYO, utc(2026, 3, 30, 15, 0), "23:50", utc(2026, 3, 30, 14, 50)),  # 00:00 JST now
        (TOKYO, utc(2026, 3, 30, 15, 30), "00:20", utc(2026, 3, 30, 15, 20)),  # just after midnight there
        (NEW_YORK, utc(2026, 3, 8, 12, 0), "07:30", utc(2026, 3, 8, 11, 30)),  # EDT, UTC-4
        (NEW_YORK, utc(2026, 3, 8, 12, 0), "01:30", utc(2026, 3, 8, 6, 30)),  # still EST, UTC-5
        (BERLIN, utc(2026, 10, 25, 12, 0), "10:00", utc(2026, 10, 25, 9, 0)),  # CET, UTC+1
        (BERLIN, utc(2026, 10, 25, 12, 0), "01:30", utc(2026, 10, 24, 23, 30)),  # CEST, UTC+2
    ],
)
def test_a_clock_time_is_read_in_the_zone_shown(zone, now, typed, expected):
    hour, minute = map(int, typed.split(":"))
    assert time_today(hour, minute, 0, now, zone) == expected
    line = parse_scribe_line(f"{typed} - alert fired", now, zone)
    assert (line.at, line.text, line.clock_time) == (expected, "alert fired", typed)


def test_an_explicit_utc_suffix_wins_over_the_zone():
    now = utc(2026, 3, 30, 15, 0)
    assert parse_scribe_line("14:32Z alert", now, TOKYO).at == utc(2026, 3, 30, 14, 32)
    assert parse_when("14:32 UTC", now, TOKYO) == utc(2026, 3, 30, 14, 32)
    assert parse_when("2026-03-30 14:32", now, TOKYO) == utc(2026, 3, 30, 5, 32)  # no offset: the zone


def test_the_report_that_started_it_tokyo_local_time_is_not_15_hours_off():
    """With local time on in Tokyo at 13:30 JST, ``13:24 - alert fired`` is six minutes ago,
    not 13:24 UTC (which was the previous evening there, 15 hours off)."""
    now = utc(2026, 3, 30, 4, 30)  # 13:30 JST
    line = parse_scribe_line("13:24 - alert fired", now, TOKYO)
    assert line.at == utc(2026, 3, 30, 4, 24)
    assert backdate_question(line.clock_time, line.at, now, TOKYO) is None


def test_yesterday_and_long_ago_are_asked_about_with_both_times():
    now = utc(2026, 3, 30, 4, 16)  # 04:16Z: "14:32" today would be in the future
    at = time_today(14, 32, 0, now, UTC)
    assert at == utc(2026, 3, 29, 14, 32)
    question = backdate_question("14:32", at, now, UTC)
    assert question == "14:32 is yesterday, 13 h ago: Sun 29 Mar 14:32Z"

    question = backdate_question("23:50", time_today(23, 50, 0, utc(2026, 3, 30, 15, 30), TOKYO), utc(2026, 3, 30, 15, 30), TOKYO)
    assert question is not None and "yesterday" in question
    assert "23:50 JST" in question and "14:50Z" in question

    morning = utc(2026, 3, 30, 20, 0)
    assert "12 h ago" in backdate_question("07:30", time_today(7, 30, 0, morning, UTC), morning, UTC)
    assert backdate_question("09:00", time_today(9, 0, 0, morning, UTC), morning, UTC) is None  # 11 h


def test_dst_gaps_and_repeats_are_asked_about():
    spring = utc(2026, 3, 8, 12, 0)  # 02:30 does not exist in New York that day
    assert "skipped" in backdate_question("02:30", time_today(2, 30, 0, spring, NEW_YORK), spring, NEW_YORK)
    autumn = utc(2026, 10, 25, 12, 0)  # 02:30 happens twice in Berlin that day
    assert "twice" in backdate_question("02:30", time_today(2, 30, 0, autumn, BERLIN), autumn, BERLIN)


def test_times_are_echoed_in_the_zone_shown_and_in_utc():
    now = utc(2026, 3, 30, 15, 0)
    assert describe_time(utc(2026, 3, 30, 14, 32), UTC, now) == "14:32Z"
    # 15:00Z is midnight in Tokyo: 14:32Z was yesterday there, 15:10Z today (but not in UTC).
    assert describe_time(utc(2026, 3, 30, 14, 32), TOKYO, now) == "Mon 30 Mar 23:32 JST (14:32Z)"
    assert describe_time(utc(2026, 3, 30, 15, 10), TOKYO, now) == "00:10 JST (Mon 30 Mar 15:10Z)"
    assert describe_time(utc(2026, 3, 29, 14, 32, 7), UTC, now) == "Sun 29 Mar 14:32:07Z"


# --- the rules, pure -------------------------------------------------------------------------------


def test_only_the_ic_may_resolve_or_hand_over_ic(sample_dir, clock):
    from warroom.domain import commands

    workspace = Workspace(sample_dir, "bob", clock)
    workspace.load()
    incident = payments(workspace)
    assert incident.commander == "grace"
    resolve = commands.update(workspace.factory, incident, status=Status.RESOLVED)
    handover = commands.assign_role(workspace.factory, incident, "ic", "bob")
    note = commands.log_entry(workspace.factory, incident, "anyone may log")
    assert commander_only_action(resolve) == "resolve the incident"
    assert commander_only_action(handover) == "assign the Incident Commander role"
    assert commander_only_action(note) is None
    assert "only the incident commander (grace)" in refusal(incident, "bob", [resolve])
    assert "only the incident commander (grace)" in refusal(incident, "bob", [handover])
    assert refusal(incident, "grace", [resolve, handover]) is None
    assert refusal(incident, "bob", [resolve], admin=True) is None
    assert refusal(incident, "bob", [note]) is None


def test_change_summaries_say_old_to_new_and_warn_about_resolving_early(sample_dir, clock):
    workspace = Workspace(sample_dir, "grace", clock)
    workspace.load()
    incident = payments(workspace)
    assert changes.severity_change(incident, Severity.SEV2).lines == ["Severity: SEV1 → SEV2 (High)"]
    resolve = changes.status_change(incident, Status.RESOLVED)
    assert resolve.title == "Resolve the incident"
    assert resolve.lines == ["Status: monitoring → resolved"]
    steps = next(w for w in resolve.warnings if "checklist step" in w)
    count, unfinished = changes.open_steps(incident)
    assert count > 0 and all(name in steps for name in unfinished)
    assert changes.role_change(incident, "ic", "bob").lines == ["Incident Commander: grace → bob"]
    assert changes.role_change(incident, "ic", "bob").title == "Hand over Incident Commander"
