"""The keys of sealed entry texts on the server: which to take, which to destroy.

A client pushes an event's key beside it (``text_keys`` in the push body); the server keeps
it in a table of its own, serves it with the event in the feed, and deletes it when an admin
purges the entry — after which no client that syncs can read the text, and those that had it
delete their copy when the purge reaches them (see ``warroom.domain.sealing``).

Pure: decides from the events and keys it is given.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from warroom.domain.events import TEXT_MAX, Event
from warroom.domain.sealing import KEY_BYTES, entry_of, is_sealed, unseal
from warroom.domain.text import unsafe_in


def decode_key(text: str) -> bytes | None:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_BYTES else None


def key_problem(event: Event, key_text: str) -> str | None:
    """Why ``key_text`` cannot be the key of ``event``'s sealed text (None when it opens it
    and the text is acceptable): a key that opens nothing is refused, and the server checks
    the opened text as it checks text in the clear."""
    if not is_sealed(event):
        return "the event has no sealed text"
    key = decode_key(key_text)
    if key is None:
        return "the key is not 32 bytes of base64"
    try:
        text = unseal(event.id, event.payload["sealed"], key)
    except ValueError:
        return "the key does not open the event's sealed text"
    if not text.strip() or len(text) > TEXT_MAX:
        return f"the sealed text is empty or longer than {TEXT_MAX} characters"
    return unsafe_in(text, "the sealed text")


def purged_key_ids(purged_entry: str, events: Iterable[Event]) -> list[str]:
    """The events whose keys a purge of ``purged_entry`` destroys: the entry itself and every
    amendment of it."""
    return [e.id for e in events if entry_of(e) == purged_entry]
