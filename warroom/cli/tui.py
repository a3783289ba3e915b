"""The console itself: ``warroom`` (the TUI), ``warroom demo`` and ``warroom web``."""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
from pathlib import Path

from warroom.cli.common import EXIT_OK, CliError, add_common_options, data_dir, load_config


def add_parsers(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="open the TUI on a throwaway copy of the sample incidents")
    add_common_options(demo)
    demo.add_argument("--theme", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    demo.add_argument("--keep", action="store_true", help="print where the copy is and keep it")

    web = sub.add_parser(
        "web", help="serve the console in a browser (textual-serve) on loopback, to whoever has the printed link"
    )
    add_common_options(web)
    web.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: put the team's reverse proxy in front)")
    web.add_argument("--port", type=int, default=8766, help="port (default 8766)")
    web.add_argument("--public-url", help="the URL people open, when behind a reverse proxy")


def cmd_tui(args, *, demo: bool = False) -> int:
    # Start-up allocates much and frees little, and the cyclic collector would walk it all
    # several times before the first frame (tens of ms). The console turns it on again after
    # its first full frame.
    gc.disable()
    # The console always opens: a config file it cannot use means defaults and a banner.
    from warroom.store.config import load_config_or_defaults, login_name, resolve_user

    config, config_problem = load_config_or_defaults()
    directory = data_dir(args, config)
    user = resolve_user(args.user, config)
    if demo:
        directory = _make_demo_copy(keep=args.keep)
        user = user or login_name()
    from warroom.store.sync_state import SyncConfigError
    from warroom.ui.launch import run_app

    try:
        return run_app(
            data_dir=directory,
            user=user,
            config=config,
            theme=args.theme,
            server=getattr(args, "server", None),
            sync=not demo,  # never push the sample incidents to a team server
            start_in_timeline=demo,  # people read and try keys (?) before they type
            config_problem=config_problem,
        )
    except SyncConfigError as exc:
        raise CliError(str(exc)) from None
    finally:
        if demo and not args.keep:
            shutil.rmtree(directory.parent, ignore_errors=True)


def cmd_demo(args) -> int:
    return cmd_tui(args, demo=True)


def _make_demo_copy(*, keep: bool) -> Path:
    """The sample incidents copied (time-shifted) to a temp dir; sample_data/ is never changed."""
    from warroom.desk.demo import copy_sample_incidents
    from warroom.domain.clock import SystemClock
    from warroom.store import paths
    from warroom.store.journal import JournalError

    source = paths.sample_incidents_dir()
    if not source.is_dir():
        raise CliError(f"sample incidents not found at {source}: this install of warroom is incomplete; reinstall it")
    root = Path(tempfile.mkdtemp(prefix="warroom-demo-"))
    directory = root / "data"
    try:
        copy_sample_incidents(source, directory, SystemClock().now())
    except JournalError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise CliError(f"the sample data is damaged: {exc}") from None
    if keep:
        print(f"demo data: {directory}", file=sys.stderr)
    return directory


def cmd_web(args) -> int:
    """Serve the same TUI to browsers that have the link: each browser tab runs its own
    warroom process on this machine's data dir, as the user that started the server."""
    config = load_config()
    try:
        from warroom.cli.web import serve
    except ImportError:
        raise CliError("warroom web needs textual-serve: pip install 'warroom[web]'") from None
    command = [sys.executable, "-m", "warroom"]
    if args.data_dir:
        command += ["--data-dir", str(args.data_dir)]
    if args.user:
        command += ["--as", args.user]
    serve(command, host=args.host, port=args.port, public_url=args.public_url, password=config.web_password)
    return EXIT_OK
