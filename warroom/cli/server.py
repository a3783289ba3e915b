"""``warroom server``: run the sync server, and manage its access tokens.

    warroom server [--data-dir D | --db postgresql://…] [--host 127.0.0.1] [--port 8765]
                   [--insecure-no-auth] [--alert-severity-map FILE.toml]
                   [--max-connections N] [--max-polls-per-token N]
                   [--header-timeout SECONDS] [--body-timeout SECONDS]
    warroom server token add NAME [--admin | --intake] [--data-dir D | --db URL]
    warroom server token list [--data-dir D | --db URL]
    warroom server token revoke NAME [--data-dir D | --db URL]
    warroom server migrate --from sqlite:PATH --to postgresql://…

The data dir defaults to platformdirs' user data dir for "warroom-server", or
``WARROOM_SERVER_DATA_DIR``; the server keeps a SQLite file there. With ``--db`` (or
``WARROOM_DB``) it uses that PostgreSQL database instead, and several servers may share it.
The server fails closed: with no token configured it refuses to start unless
``--insecure-no-auth`` is given. At start it raises its open-file limit and sizes its
connection cap from it (see ``warroom.server.limits``).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

from warroom.domain.hlc import MAX_CLOCK_SKEW
from warroom.server import DEFAULT_HOST, DEFAULT_PORT
from warroom.server.storage import DB_ENV, DB_FILE_NAME, EventStore, StoreError, open_store
from warroom.store import paths

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"where the SQLite database lives (default: ${paths.SERVER_DATA_DIR_ENV} or {paths.server_data_dir()})",
    )
    # Several replicas: a shared PostgreSQL database instead of the data dir's SQLite file.
    parser.add_argument(
        "--db",
        default=None,
        metavar="postgresql://USER@HOST:PORT/DBNAME",
        help=f"use this PostgreSQL database instead (default: ${DB_ENV}); replicas may share it",
    )


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warroom server",
        description="Run the shared warroom sync server (FastAPI on uvicorn; SQLite, or PostgreSQL for several replicas).",
        epilog=(
            "Tokens: `warroom server token add NAME [--admin | --intake]`, `warroom server token list`, "
            "`warroom server token revoke NAME`."
        ),
    )
    _add_data_dir(parser)
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve without tokens: anyone who can reach the port can read and write everything",
    )
    parser.add_argument(
        "--max-clock-skew",
        type=float,
        default=MAX_CLOCK_SKEW.total_seconds(),
        metavar="SECONDS",
        help=(
            "refuse events whose time runs further ahead of this server's clock (default "
            f"{int(MAX_CLOCK_SKEW.total_seconds())}): one event stamped in the future would "
            "otherwise outvote every later change"
        ),
    )
    # Alert intake: how POST /v1/hooks/alertmanager maps alert labels to SEV levels.
    parser.add_argument(
        "--alert-severity-map",
        type=Path,
        default=None,
        metavar="FILE",
        help=(
            'TOML mapping alert labels to severities for /v1/hooks/alertmanager: label = "severity", '
            'default = "SEV3", a [map] table over the built-in one (critical SEV1, page/error/major '
            "SEV2, warning SEV3, info SEV4) and a [heartbeats] table (Watchdog, InfoInhibitor and "
            "severity=none open nothing)"
        ),
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help=(
            "connections served at once (default 4096, or fewer if the open-file limit is "
            "lower; needs an open-file limit of about N + 512); held long-polls may use 3/4 of them"
        ),
    )
    parser.add_argument(
        "--max-polls-per-token",
        type=int,
        default=None,
        metavar="N",
        help="long-polls one token may hold at once (default 16)",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="close a connection whose request headers are not in within this (default 10)",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="answer 408 and close when a request body takes longer than this (default 30)",
    )
    return parser


def _token_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warroom server token", description="Manage access tokens.")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create a token for a user and print it once")
    add.add_argument("name", help="the user's name; their events must carry it as actor")
    scope = add.add_mutually_exclusive_group()
    scope.add_argument(
        "--admin", action="store_true", help="may resolve and hand over IC anywhere, void events, purge entries"
    )
    scope.add_argument(
        "--intake",
        action="store_true",
        help="alert intake only (Alertmanager): may post alerts, cannot read incidents or push events",
    )
    _add_data_dir(add)
    listing = commands.add_parser("list", help="list users with tokens")
    _add_data_dir(listing)
    revoke = commands.add_parser("revoke", help="delete a user's token")
    revoke.add_argument("name")
    _add_data_dir(revoke)
    return parser


def main(argv: list[str]) -> int:
    """Entry point of ``warroom server …``; returns the exit code."""
    if argv and argv[0] == "token":
        return _token_main(argv[1:])
    if argv and argv[0] == "migrate":
        return _migrate_main(argv[1:])
    return _run_main(argv)


def _migrate_main(argv: list[str]) -> int:
    """``warroom server migrate --from sqlite:PATH --to postgresql://…`` (safe to re-run)."""
    parser = argparse.ArgumentParser(
        prog="warroom server migrate",
        description="Copy a SQLite server database (events in order, tokens) into PostgreSQL "
        "and verify it. Stop the SQLite server first; running it again copies only what is missing.",
    )
    parser.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH",
                        help="the SQLite server's data dir or database file")
    parser.add_argument("--to", dest="target", required=True, metavar="postgresql://…")
    args = parser.parse_args(argv)
    from warroom.server.storage import is_postgres_url
    from warroom.server.storage.migrate import migrate, sqlite_source

    try:
        if not is_postgres_url(args.target):
            raise StoreError(f"--to takes a postgresql:// URL, not {args.target!r}")
        source = sqlite_source(args.source)
        target = open_store(args.target)
        try:
            report = migrate(source, target)
        finally:
            target.close()
    except StoreError as exc:
        print(f"warroom server: {exc}", file=sys.stderr)
        return 1
    print(f"warroom server: migrated {source} to {target.describe()}")
    for line in report.lines():
        print(f"  {line}")
    return 0 if report.verified else 1


def _database(args: argparse.Namespace) -> Path | str:
    """``--db`` (a PostgreSQL URL), else ``--data-dir``'s SQLite file, else ``$WARROOM_DB``,
    else the default data dir's SQLite file."""
    from warroom.server.storage import is_postgres_url

    if args.db and args.data_dir is not None:
        raise StoreError("give either --db or --data-dir, not both")
    url = args.db or (None if args.data_dir is not None else os.environ.get(DB_ENV) or None)
    if url:
        if not is_postgres_url(url):
            raise StoreError(f"--db (or ${DB_ENV}) takes a postgresql:// URL, not {url!r}")
        return url
    data_dir = (args.data_dir or paths.server_data_dir()).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return data_dir / DB_FILE_NAME


def _open_store(database: Path | str) -> EventStore:
    # dedupe=None: managing tokens must not decide how the events table is indexed.
    return open_store(database, dedupe=None)


def _token_main(argv: list[str]) -> int:
    from warroom.server.auth import create_token

    args = _token_parser().parse_args(argv)
    try:
        store = _open_store(_database(args))
    except (StoreError, OSError) as exc:
        print(f"warroom server: {exc}", file=sys.stderr)
        return 1
    try:
        if args.command == "add":
            try:
                role = "admin" if args.admin else ("intake" if args.intake else "user")
                token = create_token(store, args.name, role=role)
            except (ValueError, StoreError) as exc:
                print(f"warroom server: {exc}", file=sys.stderr)
                return 1
            print(f"Created a token for {args.name.strip()!r} ({role}). It is shown only this once:")
            print()
            print(f"    {token}")
            print()
            print("Give it to them privately; they run: warroom login http://SERVER:PORT --token TOKEN")
            return 0
        if args.command == "list":
            tokens = store.tokens()
            if not tokens:
                print(f"no tokens in {store.describe()}; add one with: warroom server token add NAME --admin")
                return 0
            for record in tokens:
                print(f"{record.name:<30} {record.scope:<6}  created {record.created_at}")
            return 0
        if store.remove_token(args.name.strip()):
            print(f"revoked the token of {args.name.strip()!r}")
            return 0
        print(f"warroom server: no token named {args.name!r} (see `warroom server token list`)", file=sys.stderr)
        return 1
    finally:
        store.close()


def _run_main(argv: list[str]) -> int:
    args = _run_parser().parse_args(argv)
    try:
        database = _database(args)
        store = _open_store(database)
        token_count = len(store.tokens())
        where = store.describe()
        store.close()
    except (StoreError, OSError) as exc:
        print(f"warroom server: {exc}", file=sys.stderr)
        return 1
    if token_count == 0 and not args.insecure_no_auth:
        data_flag = f" --data-dir {args.data_dir}" if args.data_dir else f" --db {where}" if args.db else ""
        print(
            "warroom server: no access tokens are configured, so the server will not start "
            "(it fails closed). Create the first one with:\n\n"
            f"    warroom server token add YOUR-NAME --admin{data_flag}\n\n"
            "or start with --insecure-no-auth for a throwaway local trial.",
            file=sys.stderr,
        )
        return 2

    # Alert intake: a bad severity map stops the start, with the reason.
    severity_map = None
    if args.alert_severity_map is not None:
        from warroom.server.alerting.severity import load_severity_map

        try:
            severity_map = load_severity_map(args.alert_severity_map.expanduser())
        except ValueError as exc:
            print(f"warroom server: {exc}", file=sys.stderr)
            return 2

    import uvicorn

    from warroom.server import logs
    from warroom.server.app import UNSAFE_NO_DEDUPE_ENV, create_app
    from warroom.server.connections import guarded_protocol
    from warroom.server.limits import lengthen_listen_queue

    limiter = logs.install()
    budget, limits = _limits(args)
    try:
        app = create_app(
            database,
            auth_required=not args.insecure_no_auth,
            alert_severity_map=severity_map,
            max_skew=timedelta(seconds=max(0.0, args.max_clock_skew)),
            limits=limits,
            housekeeping=[limiter.flush],
        )
    except StoreError as exc:
        print(f"warroom server: {exc}", file=sys.stderr)
        return 1
    lines = [f"warroom server: serving {where} on http://{_url_host(args.host)}:{args.port}"]
    if args.insecure_no_auth:
        lines.append(
            "  AUTH IS OFF (--insecure-no-auth): anyone who can reach this port can read and "
            "write every incident."
        )
        if args.host not in _LOOPBACK:
            lines.append(f"  ...and {args.host} is not a loopback address. Do not do this on a shared network.")
    else:
        lines.append(f"  {token_count} user token(s); add more with `warroom server token add NAME`.")
    lines.append(
        f"  at most {limits.max_connections} connections ({limits.max_polls} held long-polls, "
        f"{limits.max_polls_per_token} per token); open-file limit {budget.soft}."
    )
    if budget.note:
        lines.append(f"  Note: {budget.note}.")
    if os.environ.get(UNSAFE_NO_DEDUPE_ENV) == "1":
        lines.append(f"  {UNSAFE_NO_DEDUPE_ENV}=1: duplicate events WILL be stored (test mode).")
    banner = "\n".join(lines)

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            for listening in getattr(self, "servers", []):
                lengthen_listen_queue(listening.sockets)
            if self.started:
                print(banner, flush=True)

        async def shutdown(self, sockets=None) -> None:
            # Answer held long-polls now; otherwise a graceful stop waits for their timeout.
            app.state.feed.shut()
            await super().shutdown(sockets)
            limiter.flush(everything=True)  # the counts of lines held back, before exiting

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        log_config=None,  # logs.install() above: rate-limited, one format
        access_log=False,
        timeout_graceful_shutdown=3,
        lifespan="on",
        http=guarded_protocol(limits),
        backlog=budget.backlog,
    )
    server = _Server(config)
    try:
        server.run()
    except SystemExit as exc:
        if not server.started:
            print(
                f"warroom server: could not listen on {args.host}:{args.port} (is another "
                "server using that port? pick another with --port)",
                file=sys.stderr,
            )
            return 1
        return int(exc.code or 0)
    return 0


def _limits(args: argparse.Namespace):
    """The descriptor budget (the soft limit raised where allowed) and the limits it allows."""
    import dataclasses

    from warroom.server.limits import ServerLimits, raise_descriptor_limit

    budget = raise_descriptor_limit(args.max_connections)
    limits = ServerLimits().with_connections(budget.max_connections)
    changes = {}
    if args.max_polls_per_token:
        changes["max_polls_per_token"] = max(1, args.max_polls_per_token)
    if args.header_timeout:
        changes["header_timeout"] = max(0.1, args.header_timeout)
    if args.body_timeout:
        changes["body_timeout"] = max(0.1, args.body_timeout)
    return budget, dataclasses.replace(limits, **changes)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
