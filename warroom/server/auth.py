"""Per-user bearer tokens.

A token is ``secrets.token_urlsafe(32)`` (256 random bits). The server keeps only its SHA-256:
a copy of the database does not let anyone push as you. A fast hash is enough because the
token is random, not a password someone chose. Presented tokens are compared against every
stored digest with ``hmac.compare_digest``, so timing does not reveal how close a guess was.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from warroom.domain.models import PERSON_MAX
from warroom.server.storage import EventStore, TokenRecord


@dataclass(frozen=True)
class Principal:
    """Who is calling. With auth off, ``name`` is None and nobody is admin."""

    name: str | None
    admin: bool
    authenticated: bool


ANONYMOUS = Principal(name=None, admin=False, authenticated=False)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def clean_user_name(name: str) -> str:
    """A token's user name is the ``actor`` its events must carry: same rules as an actor."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("a user name cannot be empty")
    if len(cleaned) > PERSON_MAX:
        raise ValueError(f"user names are at most {PERSON_MAX} characters")
    return cleaned


def create_token(store: EventStore, name: str, *, admin: bool = False) -> str:
    """Store a new token for ``name``; returns the token (the only time it is visible)."""
    token = secrets.token_urlsafe(32)
    store.add_token(
        TokenRecord(
            name=clean_user_name(name),
            sha256=hash_token(token),
            admin=admin,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
    )
    return token


def verify_token(store: EventStore, presented: str) -> Principal | None:
    """The principal a presented token belongs to, or None."""
    digest = hash_token(presented)
    found: Principal | None = None
    for record in store.tokens():
        # No early exit: every comparison is made, whichever token matches.
        if hmac.compare_digest(record.sha256, digest):
            found = Principal(name=record.name, admin=record.admin, authenticated=True)
    return found
