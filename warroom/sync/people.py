"""Who the sync server knows, and the refusals it made: what both front ends need to show
one truth.

* ``hide_refused`` leaves events the server refused out of what is shown (they stay in the
  journal), so ``warroom list`` says what the TUI says instead of a resolve that never was.
* ``check_person`` warns before someone hands a role (the IC above all: only the IC may hand
  it on) to a name no token belongs to — ``Bob`` for ``bob`` would lock the incident for
  everyone but admins. The list of users is cached beside the sync state, so the check
  works offline with what was last seen.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from warroom.store.atomic import atomic_write
from warroom.store.outbox import Outbox
from warroom.store.sync_state import normalize_url, resolve_server, resolve_token, state_dir

USERS_FILE = "users.json"
KEYS_FILE = "public-keys.json"
CHECK_TIMEOUT_SECONDS = 3.0


def hide_refused(workspace: Any, server: str | None = None) -> int:
    """Exclude the configured server's refusals from ``workspace``'s state; returns how many
    events that hid. Reads local files only."""
    try:
        url = resolve_server(server)
    except Exception:
        return 0
    if url is None:
        return 0
    outbox = Outbox(workspace.journal_dir, state_dir(workspace.data_dir, url))
    refused = {r.event_id for r in outbox.rejections()}
    return len(refused) if refused and workspace.exclude(refused) else 0


def known_users(workspace: Any, server: str | None = None, client: Any = None) -> list[str] | None:
    """The server's user names (fetched now, else the cached list); None without a server
    or anything known about its users. ``client``: a ``SyncClient`` to ask (a running
    engine's), else one is made for the configured server."""
    from warroom.sync.client import SyncClient, SyncError

    url = client.base_url if client is not None else resolve_server(server)
    if url is None:
        return None
    cache = state_dir(workspace.data_dir, normalize_url(url)) / USERS_FILE
    try:
        if client is None:
            client = SyncClient(url, resolve_token(), timeout=CHECK_TIMEOUT_SECONDS, connect_timeout=CHECK_TIMEOUT_SECONDS)
        with client:
            users = client.users()
        atomic_write(cache, json.dumps(users).encode("utf-8"), mode=0o600)
        return users
    except (SyncError, OSError):
        pass
    try:
        cached = json.loads(cache.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return [u for u in cached if isinstance(u, str)] if isinstance(cached, list) else None


def check_person(person: str, users: list[str] | None) -> str | None:
    """A warning when ``person`` is not a user the server knows (None when fine or unknown)."""
    if users is None or person in users:
        return None
    close = [u for u in users if u.casefold() == person.casefold()]
    close += [u for u in difflib.get_close_matches(person, users, n=2, cutoff=0.75) if u not in close]
    hint = f" (did you mean {' or '.join(repr(u) for u in close)}?)" if close else ""
    return (
        f"the sync server knows no user {person!r}{hint}; only that person (or an admin) "
        "could then resolve the incident or hand the role on"
    )


def known_keys(workspace: Any, server: str | None = None):
    """A ``KeyRing`` of everyone's public signing keys: this person's own, plus those the
    server lists (fetched now, else the cached copy)."""
    from warroom.domain.signing import KeyRing, parse_public_key

    ring = KeyRing()
    signer = getattr(workspace, "signer", None)
    if signer is not None:
        ring.add(workspace.actor, signer.public_key)
    try:
        url = resolve_server(server)
    except Exception:
        url = None
    if url is None:
        return ring
    cache = state_dir(workspace.data_dir, url) / KEYS_FILE
    from warroom.sync.client import SyncClient, SyncError

    listed: list[dict] | None = None
    try:
        with SyncClient(url, resolve_token(), timeout=CHECK_TIMEOUT_SECONDS, connect_timeout=CHECK_TIMEOUT_SECONDS) as client:
            listed = [k.model_dump(mode="json") for k in client.public_keys()]
        atomic_write(cache, json.dumps(listed).encode("utf-8"), mode=0o600)
    except (SyncError, OSError):
        try:
            listed = json.loads(cache.read_text("utf-8"))
        except (OSError, ValueError):
            listed = None
    for item in listed or []:
        try:
            ring.add(item["user"], parse_public_key(item["public_key"]))
        except (KeyError, TypeError, ValueError):
            continue
    return ring
