"""Who may push what: the server's checks on an event before the incident rules.

* **Time is bounded.** ``at``, ``logged_at`` and the HLC may not run ahead of the server's
  clock by more than ``max_skew`` (default five minutes): one event stamped in the year 2100
  would otherwise win every last-writer-wins field for ever, and one at the HLC format's end
  used to make every client's next write invalid.
* **Authorship travels with the event.** A signed event is checked against the public keys
  registered with its author's token: then anyone may deliver it (a client relaying its
  colleagues' events to a server restored from a backup). An unsigned event is taken only
  from its own author's token — admins included, so nobody can push words under another
  name — and only while that author has no registered key (once they sign, an unsigned
  event in their name is not theirs).
* **Text is data.** No control characters or bidi overrides in any string, no invisible or
  look-alike characters in names (users, roles).
* **Alert incidents cannot be squatted.** People's clients make UUIDv7 incident ids; alert
  intake derives UUIDv5 ids from the alert group. Only intake (and admins) may declare an
  incident whose id is not a UUIDv7, so nobody can declare the id an alert will use first.
* **Repairs are for admins.** ``event.voided`` and ``entry.purged`` need an admin author.

The incident rules (one declaration, IC-only changes) stay in the ledger; they ask
``acting_as`` who the event speaks for.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.domain.events import Event
from warroom.domain.hlc import MAX_CLOCK_SKEW, ahead_by
from warroom.domain.models import canonical_role
from warroom.domain.signing import KeyRing, signature_key_id
from warroom.domain.text import name_problem, safe_name, unsafe_in
from warroom.server.auth import Principal
from warroom.wire import RejectionCode

ADMIN_ONLY_KINDS = {"event.voided": "void an event", "entry.purged": "purge an entry"}


@dataclass(frozen=True)
class Author:
    """Who an accepted event speaks for, as far as the incident rules are concerned."""

    name: str | None
    admin: bool


Refusal = tuple[RejectionCode, str]


class Unchecked:
    """No verdict on an event's signature yet: ``author`` checks it itself."""


UNCHECKED = Unchecked()


def is_uuid7(text: str) -> bool:
    return len(text) == 36 and text[14] == "7"


class Authority:
    """The checks, with the registered keys and token roles they need (reloaded from the
    store when a key is not found: another replica may have registered it)."""

    def __init__(
        self,
        load_keys: Callable[[], KeyRing],
        load_admins: Callable[[], set[str]],
        max_skew: timedelta = MAX_CLOCK_SKEW,
    ) -> None:
        self._load_keys = load_keys
        self._load_admins = load_admins
        self.max_skew = max_skew
        self._lock = threading.Lock()
        self._keys = load_keys()
        self._admins = load_admins()
        self._missed: dict[str, float] = {}

    def reload(self) -> None:
        with self._lock:
            self._keys = self._load_keys()
            self._admins = self._load_admins()

    def _may_reload(self, event: Event) -> bool:
        """Ask the store again for a key it lacked at most once a second per key: a batch
        of a hundred events signed with a key not yet registered is one look, not a hundred."""
        kid = signature_key_id(event) or ""
        now = time.monotonic()
        if now - self._missed.get(kid, -10.0) < 1.0:
            return False
        self._missed[kid] = now
        return True

    @property
    def keys(self) -> KeyRing:
        return self._keys

    def start_verifying(self, events: Iterable[tuple[int, Event]]) -> Callable[[], dict[int, str | None]]:
        """Start checking the signatures of a batch's ``(index, event)`` pairs, before the
        ledger's lock, on worker threads (the Ed25519 check releases the GIL): it is most of
        a push's cost, and the caller prepares the rest of the batch meanwhile. Returns a
        function that waits for the verdicts: batch index → why the signature does not
        prove the actor (None: it does). By index, not by event id: two events of one batch
        may carry the same id and signature and differ in content, and each is judged on
        its own bytes."""
        keys = self._keys
        signed = [(index, event) for index, event in events if event.sig is not None]
        if len(signed) < 8:
            verdicts = _verify_all(keys, signed)
            return lambda: verdicts
        pool, workers = _verifier_pool()
        share = -(-len(signed) // workers)  # one slice per thread: a trip each, not one per event
        futures = [pool.submit(_verify_all, keys, signed[start : start + share]) for start in range(0, len(signed), share)]

        def verdicts() -> dict[int, str | None]:
            found: dict[int, str | None] = {}
            for future in futures:
                found.update(future.result())
            return found

        return verdicts

    # --- the checks -------------------------------------------------------------------------

    def check_time(self, event: Event, now: datetime) -> Refusal | None:
        limit = now + self.max_skew
        ahead = None
        if event.at > limit:
            ahead = ("at", event.at - now)
        elif event.logged_at > limit:
            ahead = ("logged_at", event.logged_at - now)
        else:
            hlc_ahead = ahead_by(event.hlc, now)
            if hlc_ahead is not None and hlc_ahead > self.max_skew:
                ahead = ("hlc", hlc_ahead)
        if ahead is None:
            return None
        field, delta = ahead
        return (
            RejectionCode.CLOCK_SKEW,
            f"its {field} runs {_duration(delta)} ahead of the server's clock (at most "
            f"{_duration(self.max_skew)} is allowed); check the clock of the machine that "
            "wrote it, then send it again with `warroom sync --retry-rejected`",
        )

    @staticmethod
    def check_text(event: Event) -> Refusal | None:
        problem = unsafe_in(event.payload, "payload")
        if problem:
            return RejectionCode.INVALID, f"the event is not valid: {problem}"
        for what, name in _names(event):
            problem = _name_refusal(what, name)
            if problem:
                return RejectionCode.INVALID, f"the event is not valid: {problem}"
        return None

    def author(
        self, principal: Principal, event: Event, verdict: "str | None | Unchecked" = UNCHECKED
    ) -> tuple[Author | None, Refusal | None]:
        """Who the event speaks for, or why it cannot be taken from this principal
        (``verdict``: this event's signature as checked by ``start_verifying``)."""
        if not principal.authenticated:
            # No tokens at all (a throwaway drill): the event is taken at its word.
            return Author(event.actor, False), None
        if event.sig is not None:
            problem = self._keys.verify(event) if isinstance(verdict, Unchecked) else verdict
            if problem is not None and "not registered" in problem and self._may_reload(event):
                self.reload()  # another replica may have registered it just now
                problem = self._keys.verify(event)
            if problem is None:
                return Author(event.actor, event.actor in self._admins), None
            if "not registered" in problem and event.actor == principal.name:
                # Its author's own token delivers it: that proves it as an unsigned event
                # would be proved. (The key follows on the author's next contact; relays of
                # this event by others wait for it.)
                return Author(event.actor, principal.admin), None
            if "not registered" in problem:
                return None, (
                    RejectionCode.UNKNOWN_KEY,
                    f"{problem} (key {signature_key_id(event)}); its author's warroom "
                    "registers it on its next contact, then this event is taken",
                )
            return None, (RejectionCode.FORBIDDEN, f"this event is not {safe_name(event.actor)}'s: {problem}")
        if event.actor != principal.name:
            return None, (
                RejectionCode.FORBIDDEN,
                f"this event claims to be by {safe_name(event.actor)!r} but carries no "
                f"signature, and your token belongs to {principal.name!r}: an unsigned event "
                "is accepted only from its author's own token. Set your warroom user name to "
                "match your token (or use the right token)",
            )
        if event.actor in self._keys.owners():
            return None, (
                RejectionCode.FORBIDDEN,
                f"{safe_name(event.actor)} signs their events, and this one carries no "
                "signature: it was not made by their warroom (an edited journal or a "
                "crafted import?)",
            )
        return Author(event.actor, principal.admin), None

    @staticmethod
    def check_reserved(principal: Principal, author: Author, event: Event) -> Refusal | None:
        if event.kind == "incident.declared" and not is_uuid7(event.incident_id):
            if principal.role not in ("intake", "admin") and not author.admin:
                return (
                    RejectionCode.FORBIDDEN,
                    f"incident id {event.incident_id} is not one a person's warroom makes "
                    "(UUIDv7): ids of that form are reserved for alert intake",
                )
        action = ADMIN_ONLY_KINDS.get(event.kind)
        if action is not None and not author.admin:
            return RejectionCode.FORBIDDEN, f"only an admin may {action}"
        return None


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _verifier_pool() -> tuple[ThreadPoolExecutor, int]:
    """The signature checkers' threads, and how many there are."""
    global _POOL
    workers = max(2, os.cpu_count() or 2)
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="warroom-verify")
        return _POOL, workers


def _verify_all(keys: KeyRing, signed: list[tuple[int, Event]]) -> dict[int, str | None]:
    return {index: keys.verify(event) for index, event in signed}


@functools.lru_cache(maxsize=4096)
def _name_refusal(what: str, name: str) -> str | None:
    """Why ``name`` cannot be a user or role name (None: it can). Remembered: the same few
    names come with every event, and looking at each letter's script is most of the check."""
    problem = name_problem(name, what=what)
    if what == "role name" and problem is None:
        try:
            canonical_role(name)
        except ValueError as exc:
            problem = str(exc)
    return problem


def _names(event: Event):
    yield "user name", event.actor
    payload = event.payload
    if event.kind == "role.assigned":
        yield "role name", payload.get("role", "")
        if payload.get("person"):
            yield "user name", payload["person"]
    elif event.kind in ("action_item.added", "action_item.updated") and payload.get("owner"):
        yield "user name", payload["owner"]


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400 * 365:
        return f"{seconds // (86400 * 365)} year(s)"
    if seconds >= 86400:
        return f"{seconds // 86400} day(s)"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"
