"""Command-line entry points: ``warroom login``, ``warroom sync``, and ``try_push``.

Exit codes: 0 done; 1 the server is unreachable or refused us; 2 sync is not configured.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, TextIO

from warroom.domain.ids import short_id
from warroom.store.sync_state import (
    SyncConfigError,
    normalize_url,
    resolve_server,
    resolve_token,
    save_login,
    token_file,
)
from warroom.sync.client import SyncClient, SyncError, SyncUnavailable
from warroom.sync.engine import SyncEngine

TRY_PUSH_TIMEOUT_SECONDS = 3.0


def _local_user_name() -> str | None:
    """The name this machine records events as (for the token/actor mismatch warning)."""
    try:
        from warroom.store.config import load_config, login_name, resolve_user

        return resolve_user(None, load_config()) or login_name()
    except Exception:
        return None


def login_main(argv: list[str], *, stdin: TextIO | None = None) -> int:
    """``warroom login URL [--token T | --token -] [--no-check]``."""
    parser = argparse.ArgumentParser(
        prog="warroom login",
        description="Remember the sync server and your token (stored 0600 in the config dir).",
    )
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:8765")
    parser.add_argument(
        "--token",
        help="your token from `warroom server token add`; '-' reads it from stdin "
        "(keeps it out of shell history); omitted: asked for",
    )
    parser.add_argument("--no-check", action="store_true", help="save without contacting the server")
    args = parser.parse_args(argv)
    try:
        url = normalize_url(args.url)
    except SyncConfigError as exc:
        print(f"warroom login: {exc}", file=sys.stderr)
        return 2
    token = args.token
    if token == "-":
        token = (stdin or sys.stdin).readline().strip()
    elif token is None:
        if not sys.stdin.isatty():
            print("warroom login: pass --token TOKEN (or --token - to read it from stdin)", file=sys.stderr)
            return 2
        token = getpass.getpass("Token: ").strip()
    if not token:
        print("warroom login: the token is empty", file=sys.stderr)
        return 2
    who = None
    if not args.no_check:
        try:
            with SyncClient(url, token) as client:
                who = client.whoami()
        except SyncError as exc:
            print(f"warroom login: {exc}", file=sys.stderr)
            print("Nothing was saved. (Use --no-check to save anyway.)", file=sys.stderr)
            return 1
    save_login(url, token)
    if who is None:
        print(f"Saved {url} and your token ({token_file()}); not checked.")
        return 0
    if not who.auth_required:
        print(f"Logged in to {url}. Warning: that server runs WITHOUT authentication.")
        return 0
    role = " (admin)" if who.admin else (" (alert intake)" if who.role == "intake" else "")
    print(f"Logged in to {url} as {who.user}{role}. Token saved to {token_file()}.")
    if who.user and who.role != "intake":
        _register_signing_key(url, token, who.user, who.key_ids)
    local = _local_user_name()
    if local and who.user and local != who.user and not who.admin:
        print(
            f"Note: warroom records you as {local!r}, but the server only accepts your events "
            f"as {who.user!r}. Set your name to {who.user!r} (--as, WARROOM_USER or `user` "
            "in config.toml)."
        )
    return 0


def _register_signing_key(url: str, token: str, user: str, known: list[str]) -> None:
    """Make (once) and register this person's signing key, so the server can check that
    the events relayed in their name are theirs."""
    from warroom.store.keys import KeyFileError, load_signer

    try:
        signer = load_signer(user)
    except KeyFileError as exc:
        print(f"warning: {exc}")
        return
    if signer is None or signer.key_id in known:
        return
    try:
        with SyncClient(url, token) as client:
            client.register_key(signer.public_key_text)
    except SyncError as exc:
        print(f"warning: your signing key was not registered ({exc}); warroom tries again when it syncs")
        return
    print(f"Registered your signing key {signer.key_id}.")


def _engine_for(workspace: Any, server: str | None) -> SyncEngine:
    engine = SyncEngine.from_config(workspace, server)
    if engine is None:
        raise SyncConfigError(
            "no sync server configured: run `warroom login URL --token TOKEN` (or pass "
            "--server URL, or set WARROOM_SERVER)"
        )
    return engine


def sync_main(argv: list[str], workspace: Any, *, out: TextIO | None = None) -> int:
    """``warroom sync``: push the outbox and pull the feed once, then say what happened."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="warroom sync", description="Send pending events and fetch everyone else's, once."
    )
    parser.add_argument("--server", help="server URL (default: from `warroom login`)")
    parser.add_argument(
        "--retry-rejected",
        action="store_true",
        help="send events the server refused again (e.g. after you became IC)",
    )
    parser.add_argument(
        "--resend-all",
        action="store_true",
        help="send every local event again (after the server was restored from a backup)",
    )
    parser.add_argument(
        "--from-start", action="store_true", help="fetch the whole feed again"
    )
    args = parser.parse_args(argv)
    try:
        engine = _engine_for(workspace, args.server)
    except SyncConfigError as exc:
        print(f"warroom sync: {exc}", file=sys.stderr)
        return 2
    try:
        if args.retry_rejected:
            print(f"retrying {engine.retry_rejected()} rejected event(s)", file=out)
        if args.resend_all:
            print(f"re-sending {engine.resend_all()} event(s)", file=out)
        if args.from_start:
            engine.restart_feed()
        counts = engine.sync_once()
    except SyncUnavailable as exc:
        print(f"warroom sync: {exc}", file=sys.stderr)
        pending = engine.outbox.pending_count()
        print(f"{pending} event(s) wait in the outbox.", file=sys.stderr)
        return 1
    except SyncError as exc:
        print(f"warroom sync: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.client.close()
    push = counts.push
    print(
        f"sent {push.sent} ({push.accepted} accepted, {push.duplicate} already there), "
        f"received {counts.received}, rejected {push.rejected}",
        file=out,
    )
    for rejection in push.new_rejections or []:
        print(f"  rejected {rejection.kind} {short_id(rejection.event_id)}: {rejection.reason}", file=out)
    older = engine.outbox.rejected_count() - push.rejected
    if older > 0:
        print(
            f"{older} earlier rejected event(s) are kept locally (retry with "
            "`warroom sync --retry-rejected`)",
            file=out,
        )
    for problem in engine.outbox.problems:
        print(f"warning: {problem}", file=out)
    if engine.outbox.waiting_count():
        print(f"{engine.outbox.waiting_count()} event(s) wait for their declaration or author's key; sent again automatically", file=out)
    for incident_id, why in getattr(workspace, "flags", dict)().items():
        print(f"warning: incident {short_id(incident_id)} needs `warroom repair {short_id(incident_id)}`: {why}", file=out)
    return 0


def _server_events(client: SyncClient, incident_id: str) -> tuple[list, dict[str, bytes]]:
    """Every event of one incident the server has, with the keys of their sealed texts."""
    events, keys, cursor = [], {}, None
    while True:
        page = client.feed(cursor, timeout=0)
        mine = [e for e in page.events if e.incident_id == incident_id]
        events += mine
        keys.update({e.id: page.keys[e.id] for e in mine if e.id in page.keys})
        cursor = page.cursor
        if not page.more:
            return events, keys


def repair_main(argv: list[str], workspace: Any, *, out: TextIO | None = None) -> int:
    """``warroom repair INCIDENT``: rebuild a damaged incident's journal from its good local
    lines and the server's copy. The old journal is renamed aside, never deleted."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="warroom repair",
        description="Rebuild an incident whose journal is damaged (corrupt lines, a symlink, "
        "events that could not be saved) from its good lines and the sync server's copy.",
    )
    parser.add_argument("incident", help="incident id or short id")
    parser.add_argument("--server", help="server URL (default: from `warroom login`)")
    parser.add_argument("--local-only", action="store_true", help="rebuild from the local journal alone")
    args = parser.parse_args(argv)
    ref = args.incident.strip().lower()
    known = [i.id for i in workspace.incidents()] + list(workspace.flags())
    matches = sorted({i for i in known if i == ref or (len(ref) >= 4 and i.endswith(ref))})
    if len(matches) != 1:
        print(f"warroom repair: {'several incidents match' if matches else 'no incident'} {args.incident!r}", file=sys.stderr)
        return 1
    incident_id = matches[0]
    events: list = []
    if not args.local_only:
        try:
            engine = _engine_for(workspace, args.server)
        except SyncConfigError as exc:
            print(f"warroom repair: {exc} (or pass --local-only)", file=sys.stderr)
            return 2
        try:
            events, keys = _server_events(engine.client, incident_id)
        except SyncError as exc:
            print(f"warroom repair: {exc}; nothing was changed", file=sys.stderr)
            return 1
        finally:
            engine.client.close()
        workspace.text_keys.add(keys)
        engine.outbox.mark_synced(e.id for e in events)
    moved = workspace.rebuild(incident_id, events)
    state = workspace.get(incident_id)
    print(f"rebuilt {short_id(incident_id)} ({state.event_count} events, {len(events)} from the server)", file=out)
    if moved is not None:
        print(f"the old journal is kept as {moved}", file=out)
    return 0


def try_push(workspace: Any, server: str | None = None) -> str | None:
    """One quick push after a CLI command journalled something. Never raises.

    ``server`` is ``--server`` if given (else WARROOM_SERVER / the saved login). Returns None
    when no server is configured (local-only use), else a line to print."""
    try:
        url = resolve_server(server)
        if url is None:
            return None
        client = SyncClient(
            url, resolve_token(), timeout=TRY_PUSH_TIMEOUT_SECONDS, connect_timeout=TRY_PUSH_TIMEOUT_SECONDS
        )
        engine = SyncEngine(workspace, client)
    except Exception as exc:
        return f"saved locally; not synced ({exc})"
    try:
        engine.ensure_key_registered()
        counts = engine.push_pending()
    except SyncUnavailable:
        return (
            f"saved locally; {url} is unreachable, so it will be sent later "
            "(`warroom sync`, or any open warroom TUI)"
        )
    except Exception as exc:
        return f"saved locally; not synced: {exc}"
    finally:
        engine.client.close()
    if counts.rejected:
        first = (counts.new_rejections or [None])[0]
        reason = f": {first.reason}" if first else ""
        return f"saved locally, but the server rejected {counts.rejected} event(s){reason}"
    return f"synced to {url}"
