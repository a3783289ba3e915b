"""Folding sealed entries: the text each entry shows is opened from its key, and the state is
the one the event would give with its text in the clear, however the events arrive."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from warroom.domain import commands
from warroom.domain.apply import apply_event
from warroom.domain.clock import FixedClock
from warroom.domain.commands import EventFactory
from warroom.domain.fold import IncidentFolder, fold_incident, voided_ids
from warroom.domain.hlc import HybridClock
from warroom.domain.models import EntryKind, Incident, Severity
from warroom.domain.sealing import UNAVAILABLE_TEXT, TextSealer, opened, seal


def sealed_incident(all_keys: bool = False):
    clock = FixedClock(datetime(2026, 11, 18, 15, 0, tzinfo=timezone.utc))
    sealer = TextSealer()
    factory = EventFactory("alice", clock, HybridClock(clock, "n1"), sealer=sealer)
    events = commands.declare(factory, title="Card payments failing", severity=Severity.SEV1)
    state = fold_incident(events[0].incident_id, events)
    logged = []
    for n, (text, kind) in enumerate([
        ("auth service 5xx since 14:58", EntryKind.NOTE),
        ("roll back **auth** 2.31", EntryKind.DECISION),
        ("cert rotated at 14:55?", EntryKind.HYPOTHESIS),
        ("paged the DBA on call", EntryKind.ACTION),
    ]):
        clock.advance(seconds=30)
        logged.append(commands.log_entry(factory, state, text, kind, markdown=n == 1))
    events += logged
    state = fold_incident(events[0].incident_id, events, sealer._new)
    clock.advance(seconds=30)
    events.append(commands.amend_entry(factory, state, logged[3].id, "paged the DBA on call (Priya)"))
    clock.advance(seconds=30)
    events.append(commands.redact_entry(factory, state, logged[2].id, "guesswork"))
    keys = dict(sealer._new)
    if not all_keys:
        del keys[logged[0].id]  # one key never reached this machine
    return events, keys


def clear_fold(incident_id, events, keys) -> Incident:
    """The fold done the plain way: each event opened into a copy, then applied."""
    state = Incident(id=incident_id)
    voided = voided_ids(events)
    for event in sorted(events, key=lambda e: e.order_key()):
        if event.id not in voided:
            apply_event(state, opened(event, keys))
    return state


def test_sealed_entries_fold_to_the_state_of_their_clear_texts():
    events, keys = sealed_incident()
    incident_id = events[0].incident_id
    expected = clear_fold(incident_id, events, keys)
    typed = [e for e in expected.timeline if not e.kind.is_automatic]
    assert [e.text for e in typed] == [UNAVAILABLE_TEXT, "roll back **auth** 2.31", "", "paged the DBA on call (Priya)"]
    assert [e.markdown for e in typed] == [False, True, False, False]

    assert fold_incident(incident_id, events, keys) == expected
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    one_by_one = IncidentFolder(incident_id, keys)
    for event in shuffled:
        one_by_one.add(event)
    assert one_by_one.state == expected
    batch = IncidentFolder(incident_id, keys)
    batch.add_many(events)
    assert batch.state == expected
    batch.refold()
    assert batch.state == expected


def test_texts_opened_when_read_equal_what_opening_at_fold_time_gave():
    """Entries keep their sealed text until it is read: every entry, revision and flag then
    reads as the fold that opened each event up front, and the state serializes the same."""
    events, keys = sealed_incident()
    incident_id = events[0].incident_id
    expected = clear_fold(incident_id, events, keys)
    for lazily in (fold_incident(incident_id, events, keys), _folded(incident_id, events, keys)):
        assert len(lazily.timeline) == len(expected.timeline)
        for entry, want in zip(lazily.timeline, expected.timeline):
            assert (entry.id, entry.kind, entry.text, entry.markdown, entry.redacted) == (
                want.id, want.kind, want.text, want.markdown, want.redacted
            )
            assert [(r.text, r.event_id, r.redaction) for r in entry.revisions] == [
                (r.text, r.event_id, r.redaction) for r in want.revisions
            ]
    assert _folded(incident_id, events, keys).model_dump_json() == expected.model_dump_json()


def _folded(incident_id, events, keys) -> Incident:
    folder = IncidentFolder(incident_id, keys)
    folder.add_many(events)
    return folder.state


def test_a_text_read_after_its_key_is_destroyed_does_not_open():
    events, keys = sealed_incident()
    incident_id = events[0].incident_id
    folder = IncidentFolder(incident_id, keys)
    folder.add_many(events)
    decision = next(e for e in folder.state.timeline if e.kind is EntryKind.DECISION)
    del keys[decision.id]  # destroyed before anyone drew the entry
    assert decision.text == UNAVAILABLE_TEXT
    folder.reopen([decision.id])
    assert next(e for e in folder.state.timeline if e.id == decision.id).text == UNAVAILABLE_TEXT


def test_a_text_read_before_its_key_arrived_opens_once_it_has():
    events, all_keys = sealed_incident(all_keys=True)
    incident_id = events[0].incident_id
    missing = next(e for e in events if e.kind == "entry.logged")
    keys = {i: k for i, k in all_keys.items() if i != missing.id}
    folder = IncidentFolder(incident_id, keys)
    folder.add_many(events)
    assert next(e for e in folder.state.timeline if e.id == missing.id).text == UNAVAILABLE_TEXT
    keys[missing.id] = all_keys[missing.id]
    folder.reopen([missing.id])
    assert next(e for e in folder.state.timeline if e.id == missing.id).text == "auth service 5xx since 14:58"


def test_a_sealed_text_from_an_older_writer_is_opened_with_its_escapes_made_visible():
    events, keys = sealed_incident()
    logged = next(e for e in events if e.kind == "entry.logged" and e.id in keys)
    payload = {**logged.payload, "sealed": seal(logged.id, "\x1b[2Jscreen wiped", keys[logged.id])}
    events = [e.model_copy(update={"payload": payload}) if e.id == logged.id else e for e in events]
    for state in (fold_incident(events[0].incident_id, events, keys), _folded(events[0].incident_id, events, keys)):
        assert next(e for e in state.timeline if e.id == logged.id).text == "␛[2Jscreen wiped"
