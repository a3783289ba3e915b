"""Who the server knows: token holders and the public signing keys registered with their
tokens.

A person's warroom registers its public key (``POST /v1/keys``) with that person's token, so
the key is theirs by the token's authority. From then on the server checks every event in
their name against their keys, whoever delivers it (``warroom.server.authority``), and hands
the keys to anyone who wants to check an import or the log itself (``GET /v1/keys``).
"""

from __future__ import annotations

from datetime import datetime, timezone

from warroom.domain.signing import KeyRing, key_id, parse_public_key
from warroom.server.auth import Principal
from warroom.server.storage import EventStore, KeyTaken, PublicKeyRecord

__all__ = ["Identities", "KeyTaken"]


class Identities:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def keyring(self) -> KeyRing:
        ring = KeyRing()
        for record in self.store.public_keys():
            try:
                ring.add(record.user, parse_public_key(record.public_key))
            except ValueError:
                continue
        return ring

    def admins(self) -> set[str]:
        return {t.name for t in self.store.tokens() if t.scope == "admin"}

    def people(self) -> list[str]:
        """Every user name with a person's token (user or admin), sorted."""
        return sorted({t.name for t in self.store.tokens() if t.scope in ("user", "admin")})

    def key_ids(self, user: str | None) -> list[str]:
        return [r.key_id for r in self.store.public_keys() if r.user == user]

    def register(self, who: Principal, public_key: str) -> bool:
        """Register ``public_key`` for the token's user; True when it is new. Raises
        ``ValueError`` for a malformed key and ``KeyTaken`` for someone else's."""
        raw = parse_public_key(public_key)
        record = PublicKeyRecord(
            user=who.name or "",
            key_id=key_id(raw),
            public_key=public_key,
            registered_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        return self.store.add_public_key(record)

    def records(self) -> list[PublicKeyRecord]:
        return self.store.public_keys()


