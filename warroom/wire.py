"""The JSON shapes of the sync protocol, shared by the server and the client.

One set of pydantic models means the server's validation, its ``/openapi.json`` and the
client's parsing cannot drift apart. Only pydantic is imported here: the client side must stay
free of FastAPI, and both sides free of Textual.

Request models forbid unknown fields (a typo is an error, not silently ignored); response
models ignore unknown fields, so an older client keeps working against a newer server.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from typing import Annotated

MAX_BATCH_EVENTS = 500
"""At most this many events per ``POST /v1/events`` (more: HTTP 413)."""
MAX_BODY_BYTES = 1 << 20
"""Request bodies larger than 1 MiB are refused with HTTP 413."""
MAX_HOLD_SECONDS = 25.0
"""The longest a ``GET /v1/feed`` long-poll is held open."""
DEFAULT_HOLD_SECONDS = 20.0
FEED_PAGE_DEFAULT = 500
FEED_PAGE_MAX = 1000


class PushRequest(BaseModel):
    """Body of ``POST /v1/events``."""

    model_config = ConfigDict(extra="forbid")

    events: list[dict[str, Any]] = Field(
        description=(
            f"Up to {MAX_BATCH_EVENTS} event objects (the warroom event envelope: id, "
            "incident_id, kind, actor, at, logged_at, hlc, payload, and sig when signed). "
            "Each event is validated on its own: a bad event is rejected in the results "
            "without failing the others."
        )
    )
    text_keys: dict[str, Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=dict,
        max_length=MAX_BATCH_EVENTS,
        description=(
            "Keys of sealed entry texts, by event id (base64). Kept beside the log, served "
            "with the feed, destroyed by a purge."
        ),
    )


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class RejectionCode(StrEnum):
    """Why an event was rejected, for programs (``reason`` is the sentence for people)."""

    INVALID = "invalid"
    """The event does not validate (missing field, unknown kind, bad value...)."""
    UNKNOWN_INCIDENT = "unknown_incident"
    """No ``incident.declared`` event for its incident has reached the server."""
    FORBIDDEN = "forbidden"
    """The authenticated user may not make this change (actor mismatch, IC-only action)."""
    CONFLICT = "conflict"
    """Another event with the same id but different content is already stored."""
    UNKNOWN_KEY = "unknown_key"
    """Signed with a key not (yet) registered on this server: its owner's client registers
    it on its next contact, so the event is sent again automatically."""
    CLOCK_SKEW = "clock_skew"
    """Its time (``at``, ``logged_at`` or ``hlc``) runs ahead of the server's clock by more
    than the allowed skew."""


WAITING_CODES = frozenset({RejectionCode.UNKNOWN_INCIDENT, RejectionCode.UNKNOWN_KEY})
"""Refusals that wait on something still to arrive (a declaration, a key): clients keep the
events and send them again on their own, instead of holding them as rejected."""


class EventResult(BaseModel):
    """What happened to one event of a push, in request order."""

    index: int = Field(description="Position of the event in the request's list.")
    id: str | None = Field(description="The event's id, or null when it had no usable id.")
    status: Outcome
    position: int | None = Field(
        default=None, description="Feed position of the stored event (accepted and duplicate)."
    )
    code: RejectionCode | None = Field(default=None, description="Set when rejected.")
    reason: str | None = Field(default=None, description="Why it was rejected, as a sentence.")


class PushResponse(BaseModel):
    """Body of a ``POST /v1/events`` answer."""

    results: list[EventResult]
    accepted: int
    duplicate: int
    rejected: int
    receipt: str | None = Field(
        default=None,
        description=(
            "A feed cursor at the last event this push stored. Reading the feed from it later "
            "answers 410 if the server no longer has that event (restored from an older "
            "backup): then push everything again."
        ),
    )


class FeedItem(BaseModel):
    """One stored event in the feed."""

    position: int = Field(description="Order of arrival on this server (informational).")
    received_at: datetime = Field(description="When the server stored the event (UTC).")
    event: dict[str, Any] = Field(description="The event exactly as stored.")
    text_key: str | None = Field(
        default=None, description="The key of its sealed text (absent once purged)."
    )


class FeedResponse(BaseModel):
    """Body of a ``GET /v1/feed`` answer."""

    events: list[FeedItem]
    cursor: str = Field(description="Opaque: pass it back as ?cursor= to get what comes next.")
    more: bool = Field(description="True when more events are ready: ask again at once.")


class TokenRole(StrEnum):
    """What a token may do."""

    USER = "user"
    """Push and read events as one person."""
    ADMIN = "admin"
    """As a user, plus the IC-only changes of any incident, voids and purges."""
    INTAKE = "intake"
    """Alert intake only: post Alertmanager notifications; cannot read the feed or push
    events as a person."""


class WhoAmI(BaseModel):
    user: str | None = Field(description="The token's user name; null when auth is off.")
    admin: bool
    auth_required: bool
    role: TokenRole = Field(default=TokenRole.USER, description="What the token may do.")
    key_ids: list[str] = Field(
        default_factory=list, description="Signing keys registered for this user."
    )


class KeyRegistration(BaseModel):
    """Body of ``POST /v1/keys``: a public signing key for the token's user."""

    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(max_length=64, description="Ed25519 public key, 32 bytes, unpadded base64url.")


class PublicKey(BaseModel):
    user: str
    key_id: str
    public_key: str
    registered_at: datetime


class KeyList(BaseModel):
    keys: list[PublicKey]


class UserList(BaseModel):
    users: list[str] = Field(description="Every user name with a user or admin token.")


class IncidentSummary(BaseModel):
    id: str
    title: str
    severity: str
    status: str
    commander: str | None
    updated: datetime | None = Field(description="When the server last stored an event of it.")
    event_count: int


class IncidentList(BaseModel):
    incidents: list[IncidentSummary]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    auth_required: bool


class ErrorBody(BaseModel):
    """Every error answer: a sentence a person can act on, plus machine-readable detail."""

    error: str = Field(description="What went wrong and what to do about it.")
    detail: Any = Field(default=None, description="Extra structured information, if any.")
