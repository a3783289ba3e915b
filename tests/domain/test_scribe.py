"""What the scribe types, and times given on the command line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from warroom.domain.models import EntryKind
from warroom.domain.scribe import ScribeError, backdate_question, parse_scribe_line, parse_when

NOW = datetime(2026, 3, 30, 15, 0, 30, tzinfo=timezone.utc)


def at(hour: int, minute: int, second: int = 0, day: int = 30) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=timezone.utc)


# --- parse_scribe_line ----------------------------------------------------------------------


def test_plain_text_is_a_note_logged_now():
    line = parse_scribe_line("  Error rate 38% and climbing  ", NOW)
    assert (line.kind, line.text, line.at) == (EntryKind.NOTE, "Error rate 38% and climbing", None)


@pytest.mark.parametrize(
    "typed, when, text",
    [
        ("14:32 Alert fired", at(14, 32), "Alert fired"),
        ("14:32 - Alert fired", at(14, 32), "Alert fired"),
        ("14:32 – Alert fired", at(14, 32), "Alert fired"),
        ("14:32: Alert fired", at(14, 32), "Alert fired"),
        ("14:32 | Alert fired", at(14, 32), "Alert fired"),
        ("14:32:07 Alert fired", at(14, 32, 7), "Alert fired"),
        ("14:32:07 - Alert fired", at(14, 32, 7), "Alert fired"),
        ("9:05 page acked", at(9, 5), "page acked"),
        ("09:05 UTC page acked", at(9, 5), "page acked"),
        ("14:32 - rollback - step 2", at(14, 32), "rollback - step 2"),
        ("9:05 amazon checkout down", at(9, 5), "amazon checkout down"),  # "am" starts a word
    ],
)
def test_leading_time_backdates(typed, when, text):
    line = parse_scribe_line(typed, NOW)
    assert line.at == when
    assert line.text == text
    assert line.kind is EntryKind.NOTE


@pytest.mark.parametrize(
    "typed",
    [
        "/decision 14:32 Roll back",
        "14:32 /decision Roll back",
        "14:32 - /decision Roll back",
        "/DECISION   14:32 - Roll back",
    ],
)
def test_kind_before_or_after_time(typed):
    line = parse_scribe_line(typed, NOW)
    assert (line.kind, line.at, line.text) == (EntryKind.DECISION, at(14, 32), "Roll back")


@pytest.mark.parametrize(
    "prefix, kind",
    [
        ("/d", EntryKind.DECISION),
        ("/dec", EntryKind.DECISION),
        ("/a", EntryKind.ACTION),
        ("/act", EntryKind.ACTION),
        ("/action", EntryKind.ACTION),
        ("/h", EntryKind.HYPOTHESIS),
        ("/hyp", EntryKind.HYPOTHESIS),
        ("/t", EntryKind.TODO),
        ("/todo", EntryKind.TODO),
        ("/n", EntryKind.NOTE),
        ("/note", EntryKind.NOTE),
    ],
)
def test_kind_aliases(prefix, kind):
    line = parse_scribe_line(f"{prefix} check the canary", NOW)
    assert (line.kind, line.text, line.at) == (kind, "check the canary", None)


def test_unknown_kind_is_an_error_listing_the_known_ones():
    with pytest.raises(ScribeError) as info:
        parse_scribe_line("/deploy v2.14.2", NOW)
    message = str(info.value)
    assert "/deploy" in message
    assert "/decision" in message and "/todo" in message


@pytest.mark.parametrize("typed", ["", "   ", "14:32", "14:32 - ", "/todo", "/d 14:32 -", "14:32 /a"])
def test_empty_text_is_an_error(typed):
    with pytest.raises(ScribeError, match="nothing to log"):
        parse_scribe_line(typed, NOW)


def test_time_after_now_means_yesterday_just_after_midnight():
    just_after_midnight = datetime(2026, 3, 31, 0, 4, tzinfo=timezone.utc)
    line = parse_scribe_line("23:58 - db failover started", just_after_midnight)
    assert line.at == datetime(2026, 3, 30, 23, 58, tzinfo=timezone.utc)
    line = parse_scribe_line("00:02 - page sent", just_after_midnight)
    assert line.at == datetime(2026, 3, 31, 0, 2, tzinfo=timezone.utc)


def test_time_a_few_seconds_ahead_stays_today():
    # A clock slightly ahead of ours must not turn "now" into yesterday.
    line = parse_scribe_line("15:01 ok", NOW)
    assert line.at == at(15, 1)


@pytest.mark.parametrize(
    "typed",
    [
        "Rollback at 14:32 done",
        "Deploy 14:15 introduced the bug",
        "v2:14 release",
        "/usr/bin is full on web-3",
        "1432 errors since 14:16",
        "24:00 is not a time",
        "14:3 is not a time",
    ],
)
def test_text_that_merely_contains_a_time_stays_intact(typed):
    line = parse_scribe_line(typed, NOW)
    assert (line.kind, line.text, line.at) == (EntryKind.NOTE, typed, None)


@pytest.mark.parametrize(
    "typed, when, text",
    [
        ("2:32 pm - alert fired", at(14, 32), "alert fired"),
        ("2:32pm alert fired", at(14, 32), "alert fired"),
        ("2:32 PM: alert fired", at(14, 32), "alert fired"),
        ("11:05 a.m. paged", at(11, 5), "paged"),
        ("12:10 pm lunch deploy", at(12, 10), "lunch deploy"),
        ("12:10 am db failover", at(0, 10), "db failover"),
        ("9:00 PM UTC restart", at(21, 0, day=29), "restart"),
    ],
)
def test_twelve_hour_times_are_read_and_always_asked_about(typed, when, text):
    line = parse_scribe_line(typed, NOW)
    assert (line.at, line.text) == (when, text)
    question = backdate_question(line.clock_time, line.at, NOW, timezone.utc)
    assert question is not None and f"a 12-hour time, read as {when:%H:%M}" in question
    assert "DST" not in question  # the reading is not mistaken for a skipped wall time


@pytest.mark.parametrize("typed", ["14:32am is not a time", "0:10 am paged", "13:00 pm restart"])
def test_a_twelve_hour_time_with_an_impossible_hour_is_refused(typed):
    with pytest.raises(ScribeError, match="not a 12-hour time"):
        parse_scribe_line(typed, NOW)


def test_a_24_hour_time_is_not_asked_about():
    line = parse_scribe_line("14:32 alert fired", NOW)
    assert backdate_question(line.clock_time, line.at, NOW, timezone.utc) is None


def test_time_inside_text_after_kind_stays_intact():
    line = parse_scribe_line("/d roll back at 14:32 sharp", NOW)
    assert (line.kind, line.text, line.at) == (EntryKind.DECISION, "roll back at 14:32 sharp", None)


def test_only_first_time_is_taken():
    line = parse_scribe_line("14:32 14:40 restarted", NOW)
    assert line.at == at(14, 32) and line.text == "14:40 restarted"


def test_now_in_other_timezone_is_normalised():
    now = datetime(2026, 3, 30, 17, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 15:00:30 UTC
    assert parse_scribe_line("14:32 x", now).at == at(14, 32)


# --- parse_when -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("14:32", at(14, 32)),
        (" 14:32:09 ", at(14, 32, 9)),
        ("16:00", at(16, 0, day=29)),  # later than now today: yesterday
        ("2026-03-28T14:32:00Z", at(14, 32, day=28)),
        ("2026-03-28T14:32:00+00:00", at(14, 32, day=28)),
        ("2026-03-28T16:32:00+02:00", at(14, 32, day=28)),
        ("2026-03-28T09:32:00-05:00", at(14, 32, day=28)),
        ("2026-03-28T14:32:00", at(14, 32, day=28)),
        ("2026-03-28 14:32", at(14, 32, day=28)),
        ("2026-03-28 14:32 UTC", at(14, 32, day=28)),
    ],
)
def test_parse_when(text, expected):
    result = parse_when(text, NOW)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["", "yesterday", "25:00", "14:32 - x", "2026-13-01T00:00:00Z", "14h32"])
def test_parse_when_garbage(text):
    with pytest.raises(ScribeError, match="cannot read the time"):
        parse_when(text, NOW)


def test_scribe_error_is_a_value_error():
    assert issubclass(ScribeError, ValueError)
