"""Crypto-shredding of timeline text: each entry's text sealed under a key of its own.

The journals and the server's events table are append-only, and must stay so: they are the
audit log, and "never delete an acknowledged byte" is what keeps people's typing safe. Yet a
secret pasted into the timeline (``password=hunter2``) must be removable for good. The usual
event-sourcing answer, and ours: the text of ``entry.logged`` and ``entry.amended`` events is
encrypted (AES-256-GCM, the event id as associated data) with a random key per event. The
event carries only the ciphertext; the key lives beside the log — in a small key file on each
client and a key table on the server — and travels with the event when it is pushed or
served. Purging an entry destroys its keys everywhere: the server stops serving them, and
every client that syncs the purge deletes its copy, so the bytes left in every journal and
backup become unreadable while the logs stay intact.

Only timeline text is sealed: it is what people type in a hurry. Titles, role names and the
rest stay in the clear (they are short, chosen, and needed by the server's rules).

Pure: keys are made here (``os.urandom``) and kept by the caller; nothing is written.
"""

from __future__ import annotations

import binascii
import os
from collections import deque
from collections.abc import Iterable, Mapping

from warroom.domain.events import Event
from warroom.domain.signing import b64encode
from warroom.domain.text import safe

SEALABLE_KINDS = frozenset({"entry.logged", "entry.amended"})
_VERSION = "v1."
_NONCE_BYTES = 12
KEY_BYTES = 32

UNAVAILABLE_TEXT = "[text unavailable: purged, or its key has not reached this machine]"


_CRYPTO: tuple | None = None


def _crypto():
    """``(AESGCM, InvalidTag)``, imported on first use (commands that never open sealed
    text do not pay for the import)."""
    global _CRYPTO
    if _CRYPTO is None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        _CRYPTO = (AESGCM, InvalidTag)
    return _CRYPTO


def _aead(key: bytes):
    return _crypto()[0](key)


def seal(event_id: str, text: str, key: bytes) -> str:
    """``text`` sealed for the event ``event_id`` under ``key``."""
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = _aead(key).encrypt(nonce, text.encode("utf-8"), event_id.encode("ascii"))
    return _VERSION + b64encode(nonce + ciphertext)


_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADDING = ("", "===", "==", "=")


def _sealed_bytes(text: str) -> bytes:
    """The bytes of the base64url part of sealed text. (``base64.urlsafe_b64decode`` does the
    same through three layers of Python; a 100,000-entry incident opens every entry.)"""
    return binascii.a2b_base64(
        (text + _PADDING[len(text) % 4]).encode("ascii").translate(_URLSAFE_TO_STANDARD), strict_mode=True
    )


def unseal(event_id: str, sealed: str, key: bytes) -> str:
    """The text; ``ValueError`` when the key does not open it (wrong key or altered bytes)."""
    aesgcm, invalid_tag = _crypto()
    if not sealed.startswith(_VERSION) or len(key) != KEY_BYTES:
        raise ValueError("not sealed text of a version this warroom reads")
    try:
        raw = _sealed_bytes(sealed[len(_VERSION):])
        plain = aesgcm(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], event_id.encode("ascii"))
        return plain.decode("utf-8")
    except (invalid_tag, ValueError, UnicodeDecodeError):
        raise ValueError("the key does not open this text") from None


def is_sealed(event: Event) -> bool:
    return event.kind in SEALABLE_KINDS and "sealed" in event.payload


def entry_of(event: Event) -> str | None:
    """The timeline entry a sealable event writes (itself, or the entry it amends)."""
    if event.kind == "entry.logged":
        return event.id
    if event.kind == "entry.amended":
        return event.payload.get("entry_id")
    return None


class OpenedEvent:
    """A sealed event as the fold reads it: the same fields, its text in the clear. A plain
    slotted object, not a model copy: a 100,000-entry incident opens every entry."""

    __slots__ = ("id", "incident_id", "kind", "actor", "at", "logged_at", "hlc", "payload", "sig")

    def __init__(self, event: Event, payload: dict) -> None:
        self.id, self.incident_id, self.kind = event.id, event.incident_id, event.kind
        self.actor, self.at, self.logged_at = event.actor, event.at, event.logged_at
        self.hlc, self.sig, self.payload = event.hlc, event.sig, payload


def open_text(event: Event, keys: Mapping[str, bytes] | None) -> str:
    """The clear text of a sealed event; ``UNAVAILABLE_TEXT`` without its key (purged, or
    not arrived) or when the key does not open it."""
    key = keys.get(event.id) if keys is not None else None
    if key is None:
        return UNAVAILABLE_TEXT
    try:
        return unseal(event.id, event.payload["sealed"], key)
    except ValueError:
        return UNAVAILABLE_TEXT


def open_texts(events: Iterable[Event], keys: Mapping[str, bytes] | None) -> dict[str, str]:
    """``open_text`` of many sealed events at once, by event id: one tight loop, as a
    100,000-entry incident opens every entry when it loads (the decryption itself is under
    two microseconds; the calls around it were most of the cost)."""
    if keys is None:
        return {event.id: UNAVAILABLE_TEXT for event in events}
    aesgcm, invalid_tag = _crypto()
    a2b, translate, padding, get = binascii.a2b_base64, _URLSAFE_TO_STANDARD, _PADDING, keys.get
    skip, nonce_bytes = len(_VERSION), _NONCE_BYTES
    texts = {}
    for event in events:
        event_id = event.id
        key = get(event_id)
        text = UNAVAILABLE_TEXT
        if key is not None and len(key) == KEY_BYTES:
            sealed = event.payload["sealed"]
            if sealed.startswith(_VERSION):
                body = sealed[skip:]
                try:
                    raw = a2b((body + padding[len(body) % 4]).encode("ascii").translate(translate), strict_mode=True)
                    text = aesgcm(key).decrypt(raw[:nonce_bytes], raw[nonce_bytes:], event_id.encode("ascii")).decode("utf-8")
                except (invalid_tag, ValueError, UnicodeDecodeError):
                    pass
        texts[event_id] = text
    return texts


class EntryTexts:
    """Opens the sealed texts of entries when they are first read (``TimelineEntry.text``),
    by event id: ``events`` and ``opened`` are the caller's own dicts, read and filled here.

    Only texts that opened are remembered: a text read before its key arrived is tried again
    later. The key is looked up when the text is read, so after a purge destroys it the text
    no longer opens."""

    __slots__ = ("events", "keys", "opened")

    def __init__(self, events: Mapping[str, Event], keys: Mapping[str, bytes] | None, opened: dict[str, str]) -> None:
        self.events, self.keys, self.opened = events, keys, opened

    def __call__(self, event_id: str) -> str:
        text = self.opened.get(event_id)
        if text is None:
            event = self.events.get(event_id)
            text = UNAVAILABLE_TEXT if event is None else open_text(event, self.keys)
            if text is not UNAVAILABLE_TEXT:
                self.opened[event_id] = text
        return safe(text)


def with_text(event: Event, text: str) -> OpenedEvent:
    """The sealed event as the fold reads it, with ``text`` in place of its sealed text."""
    payload = event.payload.copy()
    del payload["sealed"]
    payload["text"] = text
    return OpenedEvent(event, payload)


def opened(event: Event, keys: Mapping[str, bytes] | None) -> "Event | OpenedEvent":
    """The event with its text in the clear, for the fold (the event itself is unchanged).
    Without its key (purged, or not arrived) the text reads ``UNAVAILABLE_TEXT``."""
    if "sealed" not in event.payload:
        return event
    return with_text(event, open_text(event, keys))


class TextSealer:
    """Seals entry text as events are made, and holds each new key until the caller has
    stored it (before the event is journalled, so no saved text is ever without its key).

    A caller that writes entries one by one as people type (the TUI) may also ``provide``
    keys it has already stored durably, under event ids chosen in advance: the next sealed
    events take those ids and keys, so saving an entry waits for one fsync (the journal's)
    instead of two."""

    def __init__(self) -> None:
        self._new: dict[str, bytes] = {}
        self._ready: deque[tuple[str, bytes]] = deque()  # stored already; append/pop are atomic
        self._chosen: dict[str, bytes] = {}
        self._texts: dict[str, str] = {}

    def provide(self, stored: Mapping[str, bytes]) -> None:
        """Keys already durably stored, each under the id of an event not made yet."""
        self._ready.extend(stored.items())

    def ready(self) -> int:
        """How many stored keys are waiting for an event."""
        return len(self._ready)

    def next_event_id(self) -> str | None:
        """The id for the next sealed event, whose key is stored already (None if none is)."""
        try:
            event_id, key = self._ready.popleft()
        except IndexError:
            return None
        self._chosen[event_id] = key
        return event_id

    def seal_payload(self, event_id: str, payload: dict) -> dict:
        text = payload.get("text")
        stored = self._chosen.pop(event_id, None)
        if not text:
            return payload
        if stored is not None:
            key = stored  # durable before this event existed: nothing to store
        else:
            key = self._new[event_id] = os.urandom(KEY_BYTES)
        sealed = dict(payload)
        del sealed["text"]
        sealed["sealed"] = seal(event_id, text, key)
        self._texts[event_id] = text
        return sealed

    def texts_of(self, event_ids) -> dict[str, str]:
        """The clear texts of these sealed events, as they were sealed (forgotten here once
        taken): the fold need not open what was sealed a moment ago."""
        return {i: self._texts.pop(i) for i in event_ids if i in self._texts}

    def take(self, event_ids) -> dict[str, bytes]:
        """The new keys of these events (forgotten here once taken)."""
        return {i: self._new.pop(i) for i in event_ids if i in self._new}
