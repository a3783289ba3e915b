"""fold(events) must not depend on delivery order or duplication (ARCHITECTURE §2).

Two or three people act on one incident from their own clients: separate clocks (skewed, some
jumping backwards), separate HLCs and id generators. They sync only now and then, so many of
their changes are concurrent. Whatever order and however often the resulting events arrive,
every replica must fold the same state, and last-writer-wins fields must hold the value of the
write that is last in HLC order.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.commands import DomainError, EventFactory
from warroom.domain.events import Event
from warroom.domain.fold import IncidentFolder, fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import EntryKind, HUMAN_ENTRY_KINDS, Incident, Severity, Status
from warroom.domain.records import Verdict

T0 = datetime(2026, 3, 30, 14, 0, tzinfo=timezone.utc)
PEOPLE = ["alice", "bob", "carol"]
ROLES = ["ic", "tech", "comms", "scribe", "Customer Liaison"]
HUMAN_KINDS = sorted(HUMAN_ENTRY_KINDS, key=lambda k: k.value)


class SkewedClock:
    """A client's wall clock: the shared true time plus this laptop's own error."""

    def __init__(self, world: FixedClock, skew: timedelta) -> None:
        self.world = world
        self.skew = skew

    def now(self) -> datetime:
        return self.world.now() + self.skew


class Client:
    def __init__(self, index: int, world: FixedClock, skew_ms: int, seed: int) -> None:
        self.clock = SkewedClock(world, timedelta(milliseconds=skew_ms))
        rng = random.Random(seed)
        self.factory = EventFactory(
            PEOPLE[index],
            self.clock,
            HybridClock(self.clock, f"{index:02d}c1e7{index:02d}"),
            new_id=lambda now: uuid7(now, rng.randbytes(10)),
        )
        self.folder: IncidentFolder | None = None

    @property
    def state(self) -> Incident:
        assert self.folder is not None
        return self.folder.state

    def receive(self, events: list[Event]) -> None:
        if self.folder is None:
            self.folder = IncidentFolder(events[0].incident_id)
        self.folder.add_many(events)
        self.factory.hlc.observe(max(e.hlc for e in events))


@st.composite
def scenarios(draw) -> list[Event]:
    """A random but valid history of one incident, as the set of all events made."""
    world = FixedClock(T0)
    n_clients = draw(st.integers(2, 3))
    clients = [
        Client(i, world, draw(st.integers(-5_000, 5_000)), draw(st.integers(0, 2**32)))
        for i in range(n_clients)
    ]
    everything: list[Event] = commands.declare(
        clients[0].factory,
        title="Checkout failing",
        severity=draw(st.sampled_from(list(Severity))),
    )
    for client in clients:  # everyone starts from the declaration
        client.receive(everything)

    for _ in range(draw(st.integers(1, 25))):
        world.advance(milliseconds=draw(st.integers(0, 3_000)))
        client = clients[draw(st.integers(0, n_clients - 1))]
        action = draw(
            st.sampled_from(
                ["severity", "status", "title", "fields", "role", "log", "backdate", "amend", "redact", "judge", "sync", "jump"]
            )
        )
        made: list[Event] = []
        state = client.state
        try:
            if action == "severity":
                made = [commands.update(client.factory, state, severity=draw(st.sampled_from(list(Severity))))]
            elif action == "status":
                target = draw(st.sampled_from(sorted(Status)))
                made = [commands.update(client.factory, state, status=target)]
            elif action == "title":
                made = [commands.update(client.factory, state, title=draw(st.sampled_from(["A", "B", "C"])))]
            elif action == "fields":
                made = [
                    commands.update(
                        client.factory,
                        state,
                        severity=draw(st.sampled_from(list(Severity))),
                        summary=draw(st.sampled_from(["", "db pool", "bad deploy"])),
                        impact=draw(st.sampled_from(["all users", "EU only"])),
                    )
                ]
            elif action == "role":
                person = draw(st.sampled_from(PEOPLE + [None]))
                made = [commands.assign_role(client.factory, state, draw(st.sampled_from(ROLES)), person)]
            elif action in ("log", "backdate"):
                at = None
                if action == "backdate":
                    at = client.clock.now() - timedelta(seconds=draw(st.integers(0, 3_600)))
                text = draw(st.sampled_from(["pool at 92%", "rolled back", "p95 4s", "page acked"]))
                made = [commands.log_entry(client.factory, state, text, draw(st.sampled_from(HUMAN_KINDS)), at)]
            elif action in ("amend", "redact"):
                editable = [e for e in state.timeline if not e.kind.is_automatic]
                if editable:
                    entry = draw(st.sampled_from(editable))
                    if action == "amend":
                        text = draw(st.sampled_from(["fixed typo", "clarified", "pool at 95%"]))
                        made = [commands.amend_entry(client.factory, state, entry.id, text)]
                    else:
                        made = [commands.redact_entry(client.factory, state, entry.id, "pasted a secret")]
            elif action == "judge":
                hypotheses = [e for e in state.timeline if e.kind is EntryKind.HYPOTHESIS]
                if hypotheses:
                    entry = draw(st.sampled_from(hypotheses))
                    verdict = draw(st.sampled_from(list(Verdict)))
                    made = [commands.judge_hypothesis(client.factory, state, entry.id, verdict, draw(st.sampled_from(["", "logs say so"])))]
            elif action == "sync":
                # the client catches up with one other client (one-way, like a pull)
                source = clients[draw(st.integers(0, n_clients - 1))]
                client.receive(source.folder.events)
            elif action == "jump":
                client.clock.skew -= timedelta(seconds=draw(st.integers(1, 120)))
        except DomainError:
            made = []  # a refused command makes no event
        if made:
            client.receive(made)
            everything.extend(made)
    return everything


def _dump(state: Incident) -> dict:
    return state.model_dump()


def _last_write(events: list[Event], field: str):
    """The oracle for LWW: the value of the last write to ``field`` in (hlc, actor, id) order."""
    value = None
    for event in sorted(events, key=Event.order_key):
        if event.kind in ("incident.declared", "incident.updated") and event.payload.get(field) is not None:
            value = event.payload[field]
    return value


@settings(max_examples=150, deadline=None)
@given(events=scenarios(), data=st.data())
def test_fold_ignores_order_and_duplicates(events, data):
    incident_id = events[0].incident_id
    reference = fold_incident(incident_id, events)
    expected = _dump(reference)

    shuffled = data.draw(st.permutations(events), label="permutation")
    dupes = data.draw(st.lists(st.sampled_from(events), max_size=len(events)), label="duplicates")
    mixed = list(shuffled) + dupes
    random.Random(data.draw(st.integers(0, 2**16))).shuffle(mixed)
    assert _dump(fold_incident(incident_id, shuffled)) == expected
    assert _dump(fold_incident(incident_id, mixed)) == expected

    one_by_one = IncidentFolder(incident_id)
    for event in mixed:
        one_by_one.add(event)
    assert _dump(one_by_one.state) == expected

    chunked = IncidentFolder(incident_id)
    pos = 0
    while pos < len(mixed):
        size = data.draw(st.integers(1, 6), label="chunk")
        chunked.add_many(mixed[pos : pos + size])
        pos += size
    assert _dump(chunked.state) == expected
    assert [e.id for e in chunked.events] == [e.id for e in one_by_one.events]

    # what the state says is backed by the events, independently of the fold's own logic
    assert reference.event_count == len({e.id for e in events})
    assert reference.problems == []
    assert reference.last_hlc == max(e.hlc for e in events)
    assert reference.title == _last_write(events, "title")
    assert reference.severity.value == _last_write(events, "severity")
    assert reference.status.value == _last_write(events, "status")
    for role, person in reference.roles.items():
        writes = [e for e in sorted(events, key=Event.order_key) if e.kind == "role.assigned" and e.payload["role"] == role]
        assert person == writes[-1].payload["person"]
    for entry_id, verdict in reference.verdicts.items():
        judged = [e for e in sorted(events, key=Event.order_key) if e.kind == "hypothesis.judged" and e.payload["entry_id"] == entry_id]
        assert (verdict.verdict.value, verdict.event_id) == (judged[-1].payload["verdict"], judged[-1].id)
    logged = {e.id for e in events if e.kind == "entry.logged"}
    assert logged <= {entry.id for entry in reference.timeline}
    keys = [(entry.at, entry.hlc) for entry in reference.timeline]
    assert keys == sorted(keys)


def _two_clients(skew_a_ms: int, skew_b_ms: int):
    world = FixedClock(T0)
    a = Client(0, world, skew_a_ms, 1)
    b = Client(1, world, skew_b_ms, 2)
    declared = commands.declare(a.factory, title="Checkout failing", severity=Severity.SEV3)
    a.receive(declared)
    b.receive(declared)
    return world, a, b, declared


def test_lww_later_hlc_wins_for_concurrent_severity_changes():
    # bob acts later in real time, but alice's laptop runs 5 s fast: her HLC is later, she wins
    world, alice, bob, declared = _two_clients(5_000, 0)
    world.advance(seconds=1)
    from_alice = commands.update(alice.factory, alice.state, severity=Severity.SEV1)
    world.advance(seconds=2)
    from_bob = commands.update(bob.factory, bob.state, severity=Severity.SEV2)
    assert from_alice.hlc > from_bob.hlc
    for order in ([from_alice, from_bob], [from_bob, from_alice]):
        folder = IncidentFolder(declared[0].incident_id)
        folder.add_many(declared)
        for event in order:
            folder.add(event)
        assert folder.state.severity is Severity.SEV1
        # both changes are in the timeline, by their (clock) time; old → new follows HLC order
        severity_entries = [e for e in folder.state.timeline if e.kind is EntryKind.SEVERITY]
        assert [e.id for e in severity_entries] == [from_bob.id, from_alice.id]
        assert "SEV3 → SEV2" in severity_entries[0].text
        assert "SEV2 → SEV1" in severity_entries[1].text


def test_lww_after_observing_the_other_write_wins():
    # once bob has seen alice's change, his next change orders after it even though his
    # clock is behind
    world, alice, bob, declared = _two_clients(5_000, 0)
    world.advance(seconds=1)
    from_alice = commands.update(alice.factory, alice.state, severity=Severity.SEV1)
    bob.receive([from_alice])
    from_bob = commands.update(bob.factory, bob.state, severity=Severity.SEV2)
    assert from_bob.hlc > from_alice.hlc
    for order in ([from_alice, from_bob], [from_bob, from_alice]):
        assert fold_incident(declared[0].incident_id, declared + order).severity is Severity.SEV2


def test_concurrent_same_value_is_logged_once():
    world, alice, bob, declared = _two_clients(0, 100)
    world.advance(seconds=1)
    a = commands.update(alice.factory, alice.state, status=Status.IDENTIFIED)
    b = commands.update(bob.factory, bob.state, status=Status.IDENTIFIED)
    state = fold_incident(declared[0].incident_id, [b, *declared, a])
    assert state.status is Status.IDENTIFIED
    assert len([e for e in state.timeline if e.kind is EntryKind.STATUS]) == 1
