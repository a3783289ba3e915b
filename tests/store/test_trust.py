"""The pieces that make events trustworthy, one by one: bounded clocks, safe text and names,
signatures, sealed text and its keys, voids and purges in the fold, waiting refusals."""

from __future__ import annotations

import itertools
import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.commands import DomainError, EventFactory
from warroom.domain.events import parse_event
from warroom.domain.fold import IncidentFolder, fold_incident
from warroom.domain.hlc import WALL_MAX, HlcValue, HybridClock, is_hlc
from warroom.domain.ids import uuid7
from warroom.domain.models import INCIDENT_COMMANDER, Severity, canonical_person, canonical_role
from warroom.domain.sealing import UNAVAILABLE_TEXT, TextSealer, seal, unseal
from warroom.domain.signing import KeyRing, Signer
from warroom.domain.text import clean, normalize_name, safe, safe_line, safe_name, unsafe_in
from warroom.store.keys import KeyFileError, TextKeyStore, load_signer, signing_key_path
from warroom.store.outbox import Outbox

T0 = datetime(2026, 3, 30, 14, 0, tzinfo=timezone.utc)


def factory(actor: str = "alice", clock: FixedClock | None = None, **kwargs) -> EventFactory:
    clock = clock or FixedClock(T0)
    rng = random.Random(actor)
    return EventFactory(actor, clock, HybridClock(clock, "0a0b0c0d"), lambda now: uuid7(now, rng.randbytes(10)), **kwargs)


# --- bounded time ---------------------------------------------------------------------------


def test_the_hlc_never_adopts_a_value_beyond_the_skew_bound_and_never_overflows():
    clock = FixedClock(T0)
    hlc = HybridClock(clock, "mine")
    assert hlc.observe("999999999999999999-9999-zzzz") is False
    assert hlc.observe(HlcValue(int((T0 + timedelta(days=365 * 70)).timestamp() * 1000), 0, "x").encode()) is False
    assert hlc.observe("not an hlc") is False
    near = HlcValue(int((T0 + timedelta(minutes=4)).timestamp() * 1000), 7, "x").encode()
    assert hlc.observe(near) is True and hlc.tick() > near
    # resumed at the end of the format (our own history): it saturates, always valid
    end = HybridClock(clock, "mine")
    end.resume(f"{WALL_MAX:018d}-9998-mine")
    values = [end.tick() for _ in range(3)]
    assert all(is_hlc(v) and len(v.split("-")[0]) == 18 for v in values)
    assert values[0] > f"{WALL_MAX:018d}-9998-mine"


def test_one_poisoned_value_does_not_hide_the_acceptable_ones():
    clock = FixedClock(T0)
    hlc = HybridClock(clock, "mine")
    near = HlcValue(int(T0.timestamp() * 1000) + 60_000, 3, "x").encode()
    assert hlc.observe_many(["999999999999999999-9999-zzzz", near]) == 1
    assert hlc.tick() > near


# --- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, kept",
    [
        ("restarted \x1b]52;c;cm0gLXJmIH4=\x07the pods", "restarted the pods"),
        ("\x1b[31mred\x1b[0m alert", "red alert"),
        ("clear\x1b[2J\x1b[Hscreen", "clearscreen"),
        ("line one\r\nline two\rthree", "line one\nline two\nthree"),
        ("tab\tand bell\x07 and \x9b31m C1", "tab\tand bell and  C1"),
        ("txt\u202egpj.exe", "txtgpj.exe"),
        ("emoji 👩\u200d🚒 stays", "emoji 👩\u200d🚒 stays"),
    ],
)
def test_clean_takes_escapes_and_controls_out_of_typed_text(typed, kept):
    assert clean(typed) == kept
    assert unsafe_in({"text": clean(typed)}) is None


def test_safe_shows_what_slipped_through_as_symbols():
    assert safe("a\x1b]52;c;x\x07b") == "a␛]52;c;x␇b"
    assert safe("right\u202eleft") == "right<U+202E>left"
    assert safe("ok\nstill\tok") == "ok\nstill\tok"
    assert safe_line("two\nlines") == "two⏎ lines"
    assert safe_name("Incident Commander\u200b") == "Incident Commander<U+200B>"
    assert unsafe_in({"a": ["fine", {"b": "\x1b[2J"}]}) == "a.1.b contains U+001B ESCAPE (terminal control characters are not accepted)"


@given(st.text())
def test_nothing_unsafe_survives_clean_or_safe(text):
    assert unsafe_in(clean(text)) is None
    assert unsafe_in(safe(text)) is None
    assert "\n" not in safe_line(text)


def test_names_are_nfkc_and_look_alikes_are_refused():
    assert canonical_role("ＩＣ") == INCIDENT_COMMANDER
    assert canonical_person("ａｌｉｃｅ") == "alice"
    for role in ("Incident Commander\u200b", "Incident C\u043emmander", "\u0406\u0421", "Tech\u2060Lead"):
        with pytest.raises(ValueError):
            canonical_role(role)
    with pytest.raises(ValueError, match="mixes Latin and cyrillic"):
        canonical_person("b\u043eb")
    assert normalize_name("Дежурный") == "Дежурный"  # one alphabet is fine


def test_commands_clean_what_people_type_and_refuse_look_alike_names():
    f = factory()
    events = commands.declare(f, title="Checkout\x1b]52;c;x\x07 down", severity=Severity.SEV2)
    assert events[0].payload["title"] == "Checkout down"
    incident = fold_incident(events[0].incident_id, events)
    with pytest.raises(DomainError, match="invisible"):
        commands.assign_role(f, incident, "Incident Commander\u200b", "bob")
    with pytest.raises(DomainError, match="mixes"):
        commands.assign_role(f, incident, "Tech Lead", "b\u043eb")


# --- signatures -----------------------------------------------------------------------------


def test_a_signature_proves_the_author_and_nothing_else():
    alice, _ = Signer.generate()
    bob, _ = Signer.generate()
    ring = KeyRing()
    ring.add("alice", alice.public_key)
    ring.add("bob", bob.public_key)
    event = commands.declare(factory("alice", signer=alice), title="x", severity=Severity.SEV3)[0]
    assert ring.verify(event) is None
    again = commands.declare(factory("alice", signer=alice), title="x", severity=Severity.SEV3)[0]
    assert again.sig == event.sig  # deterministic: a re-push stays an exact duplicate
    assert parse_event(json.loads(event.model_dump_json())) == event
    raw = json.loads(event.model_dump_json())
    raw["payload"]["title"] = "y"
    assert "does not match" in ring.verify(parse_event(raw))
    claims_alice = factory("alice", signer=bob).make(event.incident_id, event.body())
    assert "bob's key but claims to be by alice" in ring.verify(claims_alice)
    assert ring.verify(factory("carol").make(event.incident_id, event.body())) == "the event is not signed"
    stranger, _ = Signer.generate()
    assert "not registered" in ring.verify(factory("alice", signer=stranger).make(event.incident_id, event.body()))


def test_an_unsigned_event_keeps_its_exact_bytes():
    event = commands.declare(factory(), title="x", severity=Severity.SEV3)[0]
    assert '"sig"' not in event.model_dump_json()


def test_the_signing_key_is_private_and_a_loose_one_refused(tmp_path):
    signer = load_signer("alice", tmp_path)
    path = signing_key_path("alice", tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert load_signer("alice", tmp_path).key_id == signer.key_id
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_signer("alice", tmp_path)


# --- sealed text ----------------------------------------------------------------------------


def test_sealed_text_opens_only_with_its_key_for_its_event():
    key = bytes(range(32))
    sealed = seal("event-1", "password=hunter2", key)
    assert "hunter2" not in sealed
    assert unseal("event-1", sealed, key) == "password=hunter2"
    with pytest.raises(ValueError):
        unseal("event-2", sealed, key)  # moved onto another event
    with pytest.raises(ValueError):
        unseal("event-1", sealed, bytes(32))


def test_the_fold_opens_sealed_text_and_a_purge_hides_it_for_good(tmp_path):
    sealer = TextSealer()
    f = factory(sealer=sealer)
    events = commands.declare(f, title="x", severity=Severity.SEV3)
    incident = fold_incident(events[0].incident_id, events)
    entry = commands.log_entry(f, incident, "password=hunter2")
    assert "hunter2" not in entry.model_dump_json()
    keys = TextKeyStore(tmp_path)
    keys.add(sealer.take([entry.id]))
    folder = IncidentFolder(incident.id, keys)
    folder.add_many([*events, entry])
    assert folder.state.timeline[-1].text == "password=hunter2"
    assert fold_incident(incident.id, [*events, entry]).timeline[-1].text == UNAVAILABLE_TEXT
    redacted = commands.redact_entry(f, folder.state, entry.id, "a password")
    folder.add(redacted)
    purge = commands.purge_entry(f, folder.state, entry.id, "pasted a password")
    folder.add(purge)
    assert keys.destroy([entry.id]) == [entry.id]
    folder.reopen([entry.id])
    assert all("hunter2" not in r.text for r in folder.state.timeline[-1].revisions)
    assert TextKeyStore(tmp_path).get(entry.id) is None
    assert b"hunter2" not in (tmp_path / "keys" / "text-keys").read_bytes()
    # a key arriving again later (an old export, a stale relay) is not taken back
    assert TextKeyStore(tmp_path).add({entry.id: bytes(32)}) == []


def test_keys_added_by_another_process_are_picked_up(tmp_path):
    mine, theirs = TextKeyStore(tmp_path), TextKeyStore(tmp_path)
    event_id = uuid7(T0)
    theirs.add({event_id: bytes(32)})
    assert mine.get(event_id) is None
    assert mine.refresh() == [event_id] and mine[event_id] == bytes(32)
    theirs.destroy([event_id])
    assert event_id in mine.refresh() and mine.get(event_id) is None


# --- void -----------------------------------------------------------------------------------


def test_a_void_takes_an_event_out_whatever_order_they_arrive_in():
    alice, admin = factory("alice"), factory("root")
    events = commands.declare(alice, title="x", severity=Severity.SEV3)
    incident = fold_incident(events[0].incident_id, events)
    future = FixedClock(T0 + timedelta(days=365 * 70))
    poisoned = EventFactory("mallory", future, HybridClock(future, "ffffffff")).make(
        incident.id, commands.update(alice, incident, severity=Severity.SEV4).body()
    )
    later = commands.update(alice, incident, severity=Severity.SEV1)
    assert fold_incident(incident.id, [*events, poisoned, later]).severity is Severity.SEV4
    void = commands.void_event(admin, incident, poisoned, "stamped in 2096")
    with pytest.raises(DomainError):
        commands.void_event(admin, incident, void, "no")
    wanted = fold_incident(incident.id, [*events, poisoned, later, void]).model_dump()
    assert wanted["severity"] == Severity.SEV1
    for order in itertools.permutations([poisoned, later, void]):
        folder = IncidentFolder(incident.id)
        folder.add_many(events)
        for event in order:
            folder.add(event)
        assert folder.state.model_dump() == wanted


# --- waiting refusals -----------------------------------------------------------------------


def test_refusals_that_wait_on_a_prerequisite_go_again_and_settle_when_the_server_has_them(tmp_path):
    from warroom.store.workspace import Workspace

    ws = Workspace(tmp_path / "data", "alice", FixedClock(T0))
    ws.load()
    events = commands.declare(ws.factory, title="x", severity=Severity.SEV3)
    ws.record(events)
    outbox = Outbox(ws.journal_dir, tmp_path / "state")
    outbox.scan()
    outbox.mark_rejected([(events[0], "unknown_key", "key not registered"), (events[1], "forbidden", "no")])
    assert outbox.waiting_count() == 1 and outbox.rejected_count() == 1 and outbox.pending_count() == 0
    # after a restart the waiting one is still waiting, not rejected
    again = Outbox(ws.journal_dir, tmp_path / "state")
    again.scan()
    assert again.waiting_count() == 1 and again.rejected_count() == 1
    assert again.requeue_waiting() == 1 and [e.id for e in again.pending()] == [events[0].id]
    # the feed shows the server has the rejected one after all: it stops counting
    again.mark_synced([events[1].id])
    assert again.rejected_count() == 0
    assert Outbox(ws.journal_dir, tmp_path / "state").rejected_count() == 0


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(6))))
def test_sealed_and_signed_events_fold_the_same_in_any_order(order):
    signer, _ = Signer.generate()
    sealer = TextSealer()
    f = factory("alice", signer=signer, sealer=sealer)
    events = commands.declare(f, title="x", severity=Severity.SEV3)
    incident = fold_incident(events[0].incident_id, events)
    more = [commands.log_entry(f, incident, f"note {i}") for i in range(4)]
    keys = sealer.take(e.id for e in more)
    every = [*events, *more]
    shuffled = [every[i] for i in order]
    assert fold_incident(incident.id, shuffled, keys).model_dump() == fold_incident(incident.id, every, keys).model_dump()
