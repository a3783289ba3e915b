"""Runbook checklists: attach, tick, skip, untick; concurrent ticks from two people."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.commands import DomainError, EventFactory
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import EntryKind, Severity
from warroom.runbooks.library import attach_fields, load_library, runbooks_for_declare

T0 = datetime(2026, 11, 18, 14, 0, tzinfo=timezone.utc)


class Person:
    def __init__(self, name: str, node: str, clock: FixedClock, seed: int) -> None:
        rng = random.Random(seed)
        self.factory = EventFactory(name, clock, HybridClock(clock, node), new_id=lambda now: uuid7(now, rng.randbytes(10)))

    def sees(self, events) -> None:
        for event in events:
            self.factory.hlc.observe(event.hlc)


@pytest.fixture
def room():
    clock = FixedClock(T0)
    alice, bob = Person("alice", "aaaa0001", clock, 1), Person("bob", "bbbb0002", clock, 2)
    events = commands.declare(alice.factory, title="Payments failing", severity=Severity.SEV1)
    incident = fold_incident(events[0].incident_id, events)
    runbooks, errors = load_library()
    assert errors == []
    payments = next(r for r in runbooks if r.id == "payment-high-error-rate")
    events.append(commands.attach_runbook(alice.factory, incident, **attach_fields(payments)))
    bob.sees(events)
    return clock, alice, bob, events, payments


def state(events):
    return fold_incident(events[0].incident_id, events)


def test_attach_snapshots_the_runbook_steps(room):
    _, _, _, events, payments = room
    checklist = state(events).checklists["payment-high-error-rate"]
    assert checklist.title == payments.title
    assert [s.id for s in checklist.steps] == [s.id for s in payments.iter_steps()]
    assert checklist.progress == (0, payments.step_count)
    assert any(s.command for s in checklist.steps)  # commands travel with the steps
    assert state(events).timeline[-1].kind is EntryKind.RUNBOOK


def test_tick_skip_untick_are_attributed_and_logged(room):
    clock, alice, bob, events, _ = room
    steps = state(events).checklists["payment-high-error-rate"].steps
    events.append(commands.tick_step(alice.factory, state(events), "payment-high-error-rate", steps[0].id))
    clock.advance(minutes=1)
    events.append(commands.tick_step(bob.factory, state(events), "payment-high-error-rate", steps[1].id, skipped_reason="dashboard down"))
    current = state(events)
    first, second = current.checklists["payment-high-error-rate"].steps[:2]
    assert first.done and not first.skipped and first.last_tick.actor == "alice"
    assert second.done and second.skipped and second.last_tick.skipped_reason == "dashboard down"
    assert current.checklists["payment-high-error-rate"].progress[0] == 2
    texts = [e.text for e in current.timeline if e.kind is EntryKind.CHECKLIST]
    assert texts == [f"Done: {first.text}", f"Skipped: {second.text} (why: dashboard down)"]
    with pytest.raises(DomainError, match="already done"):
        commands.tick_step(alice.factory, current, "payment-high-error-rate", first.id)
    events.append(commands.untick_step(alice.factory, current, "payment-high-error-rate", first.id))
    assert not state(events).checklists["payment-high-error-rate"].steps[0].done


def test_concurrent_tick_survives_an_untick_that_did_not_see_it(room):
    """Add-wins: alice unticks what she saw while bob ticks the same step; bob's tick stays,
    in whichever order the events arrive."""
    _, alice, bob, events, _ = room
    step_id = state(events).checklists["payment-high-error-rate"].steps[0].id
    alice_tick = commands.tick_step(alice.factory, state(events), "payment-high-error-rate", step_id)
    seen_by_alice = events + [alice_tick]
    bob_tick = commands.tick_step(bob.factory, state(events), "payment-high-error-rate", step_id)
    alice_untick = commands.untick_step(alice.factory, state(seen_by_alice), "payment-high-error-rate", step_id)
    everything = events + [alice_tick, bob_tick, alice_untick]
    for _ in range(20):
        random.shuffle(everything)
        step = state(everything).checklists["payment-high-error-rate"].step(step_id)
        assert [t.actor for t in step.ticks.values()] == ["bob"]


def test_reattaching_keeps_ticks_of_steps_that_still_exist(room):
    _, alice, _, events, payments = room
    steps = state(events).checklists["payment-high-error-rate"].steps
    events.append(commands.tick_step(alice.factory, state(events), "payment-high-error-rate", steps[0].id))
    fields = attach_fields(payments)
    fields["steps"] = fields["steps"][:3]  # the runbook was edited: fewer steps
    events.append(commands.attach_runbook(alice.factory, state(events), **fields))
    checklist = state(events).checklists["payment-high-error-rate"]
    assert len(checklist.steps) == 3 and checklist.steps[0].done


def test_unknown_step_and_checklist_are_refused(room):
    _, alice, _, events, _ = room
    with pytest.raises(DomainError, match="no checklist"):
        commands.tick_step(alice.factory, state(events), "nope", "x")
    with pytest.raises(DomainError, match="has no step"):
        commands.tick_step(alice.factory, state(events), "payment-high-error-rate", "nope/x")


def test_declare_starts_with_the_ic_checklist_and_the_runbooks_of_its_type():
    runbooks, _ = load_library()
    assert [r.id for r in runbooks_for_declare(runbooks, None)] == ["ic-first-five-minutes"]
    assert [r.id for r in runbooks_for_declare(runbooks, "Payments")] == ["ic-first-five-minutes", "payment-high-error-rate"]
