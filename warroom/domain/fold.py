"""fold(events) -> state.

The fold sorts an incident's events by ``(hlc, actor, id)`` and applies them in that order,
after dropping duplicate ids. Because that order is a total order on the *set* of events, the
result is the same whatever order (or how many times) the events were delivered in:

* fields (title, severity, status, summary, impact) and role slots are last-writer-wins
  registers: the later write in HLC order is applied later, so it wins;
* the timeline only grows; amendments and redactions are events pointing at their entry, and
  every revision stays in the entry's history;
* state changes append an automatic timeline entry showing old → new.

Two kinds of event reach back: ``event.voided`` (an admin's repair) takes an accepted event
out of the fold, whatever order the two arrive in; ``entry.purged`` hides a redacted entry for
good (its sealed text can no longer be opened, see ``warroom.domain.sealing``).

Every text put into the state is passed through ``warroom.domain.text.safe``: events written
by older versions (or accepted by an older server) may carry terminal escapes, and whatever
reads the state — the TUI, the CLI, the exports — gets them as visible symbols only.

``IncidentFolder`` keeps the state incrementally: an event newer than everything applied is
applied directly (the live case: one more entry); an event that sorts earlier (a late arrival
from another client) triggers a re-fold of the incident from its event set.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from operator import attrgetter

from warroom.domain.apply import apply_event, apply_logged, apply_sealed_logged, register_handler
from warroom.domain.events import Event
from warroom.domain.models import Incident
from warroom.domain.sealing import EntryTexts, open_text, open_texts, with_text

__all__ = ["IncidentFolder", "bulk", "fold", "fold_incident", "register_handler", "voided_ids"]

_event_order = attrgetter("hlc", "actor", "id")  # same as Event.order_key, at C speed


VOID_KIND = "event.voided"

_BULK = 2000
_bulk_lock = threading.Lock()
_bulk_depth = 0


@contextmanager
def bulk(size: int = _BULK) -> Iterator[None]:
    """Pause the cyclic garbage collector while ``size`` events are decoded or folded.

    Each event leaves a few long-lived objects (the event, a timeline entry, its times) and
    none of them form reference cycles, yet every few hundred allocations the collector would
    walk the whole growing heap again: a third of the time of loading a 100,000-entry
    incident. Reference counting still frees everything as usual; the collector resumes
    afterwards (nesting and threads are counted, so it resumes only once all are done)."""
    global _bulk_depth
    if size < _BULK:
        yield
        return
    with _bulk_lock:
        if _bulk_depth == 0 and not gc.isenabled():
            paused = False  # someone else turned it off: leave it so
        else:
            paused = True
            _bulk_depth += 1
            gc.disable()
    try:
        yield
    finally:
        if paused:
            with _bulk_lock:
                _bulk_depth -= 1
                if _bulk_depth == 0:
                    gc.enable()


def voided_ids(events: Iterable[Event]) -> set[str]:
    """Ids taken out of the fold by ``event.voided`` events (a void of a void is ignored,
    so the answer does not depend on the order events arrive in)."""
    voids = {e.id: e.payload.get("event_id") for e in events if e.kind == VOID_KIND}
    return {target for target in voids.values() if target not in voids}


class IncidentFolder:
    """The events of one incident and the state folded from them.

    ``keys`` (event id → key) opens sealed entry text; it is read, never changed, here."""

    def __init__(self, incident_id: str, keys: Mapping[str, bytes] | None = None) -> None:
        self.incident_id = incident_id
        self.keys = keys
        self._events: dict[str, Event] = {}
        self._texts: dict[str, str] = {}  # sealed events' texts, once opened
        self._entry_texts = EntryTexts(self._events, keys, self._texts)
        self._voided: set[str] = set()
        self.state = Incident(id=incident_id)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._events

    @property
    def events(self) -> list[Event]:
        """All distinct events (as stored: sealed text stays sealed), in fold order."""
        return sorted(self._events.values(), key=_event_order)

    def know_texts(self, texts: Mapping[str, str]) -> None:
        """The clear texts of sealed events this machine just made (no need to open them)."""
        self._texts.update(texts)

    def _open_all(self, events: Iterable[Event]) -> None:
        """Open the sealed texts of many amendments in one go (a load, a big batch); logged
        entries' texts are opened when first read."""
        texts = self._texts
        closed = [e for e in events if "sealed" in e.payload and e.kind != "entry.logged" and e.id not in texts]
        if len(closed) > 1:
            texts.update(open_texts(closed, self.keys))

    def _apply(self, state: Incident, event: Event) -> None:
        """Apply one event, its sealed text opened (once: kept in ``_texts``)."""
        if "sealed" not in event.payload:
            apply_event(state, event)
            return
        text = self._texts.get(event.id)
        if event.kind == "entry.logged":
            if text is None:
                apply_sealed_logged(state, event, self._entry_texts)
            else:
                apply_logged(state, event, text)
            return
        if text is None:
            text = self._texts[event.id] = open_text(event, self.keys)
        apply_event(state, with_text(event, text))  # type: ignore[arg-type]

    def add(self, event: Event) -> bool:
        """Apply one event; returns False for a duplicate (already applied)."""
        if event.incident_id != self.incident_id:
            raise ValueError("event belongs to another incident")
        if event.id in self._events:
            return False
        self._events[event.id] = event
        if event.kind == VOID_KIND or event.id in self._voided:
            self.refold()
        elif event.hlc > self.state.last_hlc or not self.state.last_hlc:
            self._apply(self.state, event)
        else:
            self.refold()
        return True

    def add_many(self, events: Iterable[Event]) -> int:
        """Apply a batch; re-folds at most once. Returns how many were new."""
        if type(events) is list and len(events) == 1:
            return int(self.add(events[0]))  # the scribe's Enter: no batch machinery
        fresh: dict[str, Event] = {}
        for event in events:
            if event.incident_id != self.incident_id:
                raise ValueError("event belongs to another incident")
            if event.id not in self._events:
                fresh[event.id] = event
        if not fresh:
            return 0
        self._events.update(fresh)
        with bulk(len(fresh)):
            self._open_all(fresh.values())
            new = sorted(fresh.values(), key=_event_order)
            reaches_back = any(e.kind == VOID_KIND or e.id in self._voided for e in new)
            if not reaches_back and (not self.state.last_hlc or new[0].hlc > self.state.last_hlc):
                state, apply = self.state, self._apply
                for event in new:
                    apply(state, event)
            else:
                self.refold()
        return len(new)

    def discard(self, event_ids: set[str]) -> bool:
        """Take events out (the server refused them); re-folds if any was here."""
        present = event_ids & self._events.keys()
        for event_id in present:
            del self._events[event_id]
            self._texts.pop(event_id, None)
        if present:
            self.refold()
        return bool(present)

    def reopen(self, event_ids: Iterable[str]) -> bool:
        """Keys changed for these events (arrived, or purged): open their text again."""
        changed = False
        for event_id in event_ids:
            changed |= self._texts.pop(event_id, None) is not None or event_id in self._events
        if changed:
            self.refold()
        return changed

    def refold(self) -> None:
        with bulk(len(self._events)):
            self._open_all(self._events.values())
            self._voided = voided_ids(self._events.values())
            state = Incident(id=self.incident_id)
            voided, apply = self._voided, self._apply
            for event in sorted(self._events.values(), key=_event_order):
                if event.id not in voided:
                    apply(state, event)
            self.state = state


def fold_incident(
    incident_id: str, events: Iterable[Event], keys: Mapping[str, bytes] | None = None
) -> Incident:
    """The state of one incident from its events (duplicates and order do not matter)."""
    unique = {e.id: e for e in events if e.incident_id == incident_id}
    with bulk(len(unique)):
        texts = open_texts((e for e in unique.values() if "sealed" in e.payload and e.kind != "entry.logged"), keys)
        entry_texts = EntryTexts(unique, keys, {})
        voided = voided_ids(unique.values())
        state = Incident(id=incident_id)
        for event in sorted(unique.values(), key=_event_order):
            if event.id not in voided:
                text = texts.get(event.id)
                if event.kind == "entry.logged" and "sealed" in event.payload:
                    apply_sealed_logged(state, event, entry_texts)
                elif text is None:
                    apply_event(state, event)
                else:
                    apply_event(state, with_text(event, text))  # type: ignore[arg-type]
    return state


def fold(events: Iterable[Event], keys: Mapping[str, bytes] | None = None) -> dict[str, Incident]:
    """Every incident's state from a mixed stream of events."""
    by_incident: dict[str, list[Event]] = {}
    for event in events:
        by_incident.setdefault(event.incident_id, []).append(event)
    return {iid: fold_incident(iid, evs, keys) for iid, evs in by_incident.items()}
