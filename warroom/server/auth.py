"""Per-user bearer tokens.

A token is ``secrets.token_urlsafe(32)`` (256 random bits). The server keeps only its SHA-256:
a copy of the database does not let anyone push as you. A fast hash is enough because the
token is random, not a password someone chose. The running server looks presented tokens up
by their digest (``tokens.TokenCache``): timing can only tell how close a guess's *digest*
came, which says nothing about the token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from warroom.domain.models import canonical_person
from warroom.server.storage import EventStore, TokenRecord


ROLES = ("user", "admin", "intake")
"""What a token may do: a person; a person who may also override the incident rules, void
and purge; alert intake only (post notifications; no feed, no pushing as a person)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling. With auth off, ``name`` is None and nobody is admin."""

    name: str | None
    admin: bool
    authenticated: bool
    role: str = "user"

    @property
    def is_person(self) -> bool:
        """A user or an admin (not alert intake): may read the feed and push events."""
        return self.role in ("user", "admin")


ANONYMOUS = Principal(name=None, admin=False, authenticated=False)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def clean_user_name(name: str) -> str:
    """A token's user name is the ``actor`` its events must carry: same rules as an actor
    (NFKC; no invisible or look-alike letters, so nobody gets a token that reads as bob)."""
    return canonical_person(name)


def create_token(store: EventStore, name: str, *, admin: bool = False, role: str | None = None) -> str:
    """Store a new token for ``name``; returns the token (the only time it is visible)."""
    role = role or ("admin" if admin else "user")
    if role not in ROLES:
        raise ValueError(f"unknown token role {role!r}: use {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)
    store.add_token(
        TokenRecord(
            name=clean_user_name(name),
            sha256=hash_token(token),
            admin=role == "admin",
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            role=role,
        )
    )
    return token


def principal_of(record: TokenRecord) -> Principal:
    """Who a stored token speaks for."""
    return Principal(name=record.name, admin=record.scope == "admin", authenticated=True, role=record.scope)
