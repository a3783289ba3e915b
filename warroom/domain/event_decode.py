"""Reading events back from warroom's own journal lines, at load speed.

Every journal line was written by ``Event.model_dump_json`` after the event had been validated
(by the factory, the server or the importer), and its checksum proves the bytes are the ones
written. Opening a 100,000-entry incident therefore need not run the full validation of the
envelope again (its Python model validator was most of the cost of a load); it only has to
be sure that what it accepts is exactly what full validation would have given.

``decode_trusted`` does that with a strict fast path: a line in the canonical shape (the
envelope's nine keys, times as ``...Z`` with none or six fraction digits, strings that need no
stripping, a payload valid for its kind) becomes the same ``Event`` that
``parse_canonical_event_json`` would build, with the values pydantic-core parsed from the JSON.
Anything else — an older shape, an edit by hand, a line that is not an event at all — goes
through ``parse_canonical_event_json`` itself, so it is accepted or refused (with the same
message) exactly as before. The payload is always validated by its kind's model: the fold
reads its fields without further checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError
from pydantic_core import from_json

from warroom.domain.events import (
    ACTOR_MAX,
    HLC_PATTERN,
    PAYLOAD_MODELS,
    SIG_PATTERN,
    UUID_PATTERN,
    _SHARED_FIELD_SETS,
    Event,
    parse_canonical_event_json,
)

_is_uuid = re.compile(UUID_PATTERN).fullmatch
_TIME_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?Z"
_is_time = re.compile(_TIME_PATTERN).fullmatch


def _all_match(*patterns: str) -> Callable[[str], re.Match | None]:
    """One regex call for several values joined by newlines: a newline fits none of the
    patterns, so the joined text matches only when each value matches its own pattern
    (a call per value cost more than the matching itself)."""
    parts = (f"(?:{pattern.removeprefix('^').removesuffix('$')})" for pattern in patterns)
    return re.compile("\n".join(parts)).fullmatch


_signed_fields_match = _all_match(UUID_PATTERN, HLC_PATTERN, _TIME_PATTERN, SIG_PATTERN)
_unsigned_fields_match = _all_match(UUID_PATTERN, HLC_PATTERN, _TIME_PATTERN)

_SIGNED = ("id", "incident_id", "kind", "actor", "at", "logged_at", "hlc", "payload", "sig")
_UNSIGNED = _SIGNED[:-1]

_new_event = object.__new__
_set = object.__setattr__
_fromisoformat = datetime.fromisoformat
_validators = {kind: model.__pydantic_validator__.validate_python for kind, model in PAYLOAD_MODELS.items()}


_checked_incidents: set[str] = set()


def _valid_incident(incident_id: str) -> bool:
    """Checked once per journal, not once per line."""
    if incident_id in _checked_incidents:
        return True
    if not _is_uuid(incident_id):
        return False
    _checked_incidents.add(incident_id)
    return True


def _utc(text: object) -> datetime | None:
    if type(text) is not str or not _is_time(text):
        return None
    try:
        return _fromisoformat(text)  # "Z": aware, in UTC, as pydantic makes it
    except ValueError:  # 2026-02-30 and the like: pydantic words the error
        return None


def decode_trusted(raw: bytes, incident_id: str) -> Event:
    """The event of one checksummed journal line of ``incident_id``'s journal. Raises
    ``ValueError`` (worded as pydantic words it) for anything that is not a valid event;
    an event of another incident is returned as it is, for the caller to refuse."""
    try:
        data = from_json(raw)
    except ValueError:
        data = None
    event = _fast(data, incident_id) if type(data) is dict else None
    return event if event is not None else parse_canonical_event_json(raw)


def _fast(data: dict, incident_id: str) -> Event | None:
    """The event, when ``data`` is in the canonical shape and valid; None to let full
    validation decide (and word the error)."""
    signed = len(data) == 9
    if tuple(data) != (_SIGNED if signed else _UNSIGNED):
        return None
    event_id, kind, actor, at_text, hlc, payload = (
        data["id"], data["kind"], data["actor"], data["at"], data["hlc"], data["payload"]
    )
    if data["incident_id"] != incident_id or not _valid_incident(incident_id):
        return None
    validate = _validators.get(kind) if type(kind) is str else None
    if validate is None or type(payload) is not dict:
        return None
    if type(actor) is not str or not 0 < len(actor) <= ACTOR_MAX or actor.strip() != actor:
        return None
    if type(event_id) is not str or type(hlc) is not str or type(at_text) is not str:
        return None
    if signed:
        sig = data["sig"]
        if type(sig) is not str or not _signed_fields_match(f"{event_id}\n{hlc}\n{at_text}\n{sig}"):
            return None
    elif not _unsigned_fields_match(f"{event_id}\n{hlc}\n{at_text}"):
        return None
    logged_text = data["logged_at"]
    try:
        at = _fromisoformat(at_text)  # "Z": aware, in UTC, as pydantic makes it
    except ValueError:  # 2026-02-30 and the like: pydantic words the error
        return None
    logged_at = at if logged_text == at_text else _utc(logged_text)
    if logged_at is None:
        return None
    try:
        validate(payload)
    except ValidationError:
        return None
    # One object per value the whole journal shares (and one time when both are equal).
    data["incident_id"], data["at"], data["logged_at"] = incident_id, at, logged_at
    if not signed:
        data["sig"] = None
    event = _new_event(Event)
    _set(event, "__dict__", data)
    _set(event, "__pydantic_fields_set__", _SHARED_FIELD_SETS[signed])
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event
