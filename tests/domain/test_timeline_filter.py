"""Timeline search: parsing the filter and which entries it keeps."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from warroom.domain.models import EntryKind
from warroom.domain.timeline_filter import FilterError, parse_filter
from warroom.store.workspace import Workspace

NOW = datetime(2026, 11, 18, 15, 12, tzinfo=timezone.utc)


@pytest.fixture
def payments(sample_dir, clock):
    ws = Workspace(sample_dir, "x", clock)
    ws.load()
    return ws.get("f4dca4f2")


def test_words_kinds_actors_and_time_range(payments):
    found = parse_filter("ROLLBACK actor:bob", NOW).apply(payments.timeline)
    assert [e.text for e in found] == [
        "Rollback started: deploy freeze, then kubectl rollout undo deployment/payments-api",
        "Rollback half done; error rate 38% → 21%",
        "Rollback complete: all pods on v2.14.2",
    ]
    decisions = parse_filter("kind:decision", NOW).apply(payments.timeline)
    assert decisions and all(e.kind is EntryKind.DECISION for e in decisions)
    window = parse_filter("since:14:50 until:14:55", NOW).apply(payments.timeline)
    assert window and all("14:50" <= f"{e.at:%H:%M}" <= "14:55" for e in window)
    assert parse_filter("kind:action_item,todo", NOW).kinds == {EntryKind.ACTION_ITEM, EntryKind.TODO}
    assert parse_filter("", NOW).apply(payments.timeline) is payments.timeline


def test_redacted_text_is_not_searchable(payments):
    assert parse_filter("jane.doe", NOW).apply(payments.timeline) == []


@pytest.mark.parametrize("text,message", [("kind:bogus", "unknown kind 'bogus'"), ("since:25:99", "not a time")])
def test_bad_filters_say_how_to_write_them(text, message):
    with pytest.raises(FilterError, match=message):
        parse_filter(text, NOW)
