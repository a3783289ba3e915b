"""Lossless JSON export and import of one incident: its events, not its folded state.

The document is::

    {"format": "warroom-incident", "version": 1, "incident_id": "…", "events": [event, …]}

with every event as ``Event.model_dump(mode="json")``, in fold order (``(hlc, actor, id)``),
keys sorted inside each event, two-space indentation and a trailing newline. Because the
events are the source of truth, importing the document into an empty data dir and exporting
again gives byte-identical JSON, and the folded state is identical too. When some entry
texts are sealed, ``"text_keys"`` (event id → base64 key) carries the keys of those not
purged, so the export stays lossless; an export holds them only when there are any.

Signed events keep their signatures: whoever imports the file can check who wrote each one
(``warroom import`` does, and refuses events that claim an author they cannot prove).

Pure: text in, events out; reading and writing files is the CLI's job.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from warroom.domain.events import Event, parse_event
from warroom.domain.ids import is_uuid
from warroom.domain.text import unsafe_in

FORMAT = "warroom-incident"
VERSION = 1
_DOCUMENT_KEYS = ("format", "version", "incident_id", "events", "text_keys")


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def export_document(
    incident_id: str, events: Iterable[Event], keys: Mapping[str, bytes] | None = None
) -> dict[str, Any]:
    """The export as a JSON-ready dict (see ``export_json``)."""
    unique: dict[str, Event] = {}
    for event in events:
        if event.incident_id != incident_id:
            raise ValueError(f"event {event.id} belongs to incident {event.incident_id}, not {incident_id}")
        unique[event.id] = event
    ordered = sorted(unique.values(), key=Event.order_key)
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "incident_id": incident_id,
        "events": [_sorted_keys(event.model_dump(mode="json")) for event in ordered],
    }
    sealed_keys = {
        e.id: base64.b64encode(keys[e.id]).decode("ascii")
        for e in ordered
        if keys is not None and "sealed" in e.payload and e.id in keys
    }
    if sealed_keys:
        document["text_keys"] = sealed_keys
    return document


def export_json(incident_id: str, events: Iterable[Event], keys: Mapping[str, bytes] | None = None) -> str:
    """Every event of the incident as a versioned JSON document (stable bytes)."""
    document = export_document(incident_id, events, keys)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def import_json(text: str, progress: Callable[[int, int], None] | None = None) -> list[Event]:
    """The events of an export (see ``import_document``)."""
    return import_document(text, progress)[0]


def import_document(text: str, progress: Callable[[int, int], None] | None = None) -> tuple[list[Event], dict[str, bytes]]:
    """The events of an export, fully validated, in fold order, and the keys of their sealed
    texts. ``progress(events_done, events_total)`` is called now and then.

    Raises ``ValueError`` with a sentence naming what is wrong: not JSON, not a warroom
    incident export, an unsupported version, an invalid event (with its index), events of
    another incident, or one id used for two different events."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"not a warroom incident export: expected a JSON object with \"format\": \"{FORMAT}\"")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError("the export has no valid \"version\" number")
    if version != VERSION:
        if version > VERSION:
            raise ValueError(f"the export is format version {version}; this warroom reads version {VERSION}: upgrade warroom")
        raise ValueError(f"unsupported export version {version}; this warroom reads version {VERSION}")
    unknown = sorted(set(document) - set(_DOCUMENT_KEYS))
    if unknown:
        raise ValueError(f"unknown field(s) in the export: {', '.join(unknown)}")
    incident_id = document.get("incident_id")
    if not isinstance(incident_id, str) or not is_uuid(incident_id):
        raise ValueError("the export's \"incident_id\" is missing or not a UUID")
    raw_events = document.get("events")
    if not isinstance(raw_events, list):
        raise ValueError("the export's \"events\" is missing or not a list")
    if not raw_events:
        raise ValueError("the export holds no events")
    events: dict[str, Event] = {}
    for index, raw in enumerate(raw_events):
        if progress is not None and not index % 2000:
            progress(index, len(raw_events))
        if not isinstance(raw, dict):
            raise ValueError(f"event {index}: expected a JSON object")
        try:
            event = parse_event(raw)
        except (ValueError, OverflowError) as exc:  # OverflowError: a time out of range
            raise ValueError(f"event {index}: {exc}") from None
        if event.incident_id != incident_id:
            raise ValueError(
                f"event {index} belongs to incident {event.incident_id}, not {incident_id}: "
                "an export holds one incident"
            )
        previous = events.get(event.id)
        if previous is not None and previous != event:
            raise ValueError(f"event {index} reuses the id {event.id} of a different event")
        events[event.id] = event
    if not any(event.kind == "incident.declared" for event in events.values()):
        raise ValueError("the export has no incident.declared event")
    problem = unsafe_in([e.model_dump(mode="json") for e in events.values()], "events")
    if problem:
        raise ValueError(problem)
    keys: dict[str, bytes] = {}
    raw_keys = document.get("text_keys", {})
    if not isinstance(raw_keys, dict):
        raise ValueError('the export\'s "text_keys" is not an object')
    for event_id, value in raw_keys.items():
        try:
            keys[event_id] = base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ValueError(f"text key of event {event_id} is not base64") from None
    return sorted(events.values(), key=Event.order_key), keys


__all__ = ["FORMAT", "VERSION", "export_document", "export_json", "import_document", "import_json"]
