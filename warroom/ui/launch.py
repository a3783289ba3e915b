"""Starting the console: the workspace on a data dir, sync when a server is configured, and
what the console must say from its first frame (a config file it could not use, a data dir
it may not write).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from warroom.store.config import Config, login_name
from warroom.store.workspace import Workspace
from warroom.ui.app import WarRoomApp


def run_app(
    *,
    data_dir: Path,
    user: str | None,
    config: Config,
    theme: str | None = None,
    server: str | None = None,
    sync: bool = True,
    config_problem: str | None = None,
    start_in_timeline: bool = False,
) -> int:
    """Open the TUI on ``data_dir``; asks the user's name on first run. With a server
    configured (``--server``, WARROOM_SERVER or ``warroom login``), syncs with it.
    ``start_in_timeline``: focus the timeline rather than the scribe box (the demo)."""
    workspace = Workspace(data_dir, user or login_name(), keys_ahead=True)  # one fsync per Enter
    sync = sync and workspace.read_only is None  # the sync state lives in the data dir

    def ingest_and_show(events):
        # Runs on the sync thread: journal what the server sent, then tell the app. Our own
        # entries come back in the feed too: nothing new, so nothing to draw again (that
        # redraw would take the CPU from the push and the other screen's frame).
        new = workspace.ingest(events)
        if new:
            app.events_arrived()
        return new

    engine = _sync_engine(workspace, server, ingest_and_show) if sync else None
    app = WarRoomApp(
        workspace, config=config, theme=theme, ask_name=user is None, sync_engine=engine,
        config_problem=config_problem, save_settings=config_problem is None,  # never overwrite a file we could not read
        start_in_timeline=start_in_timeline,
    )  # fmt: skip
    app.run()
    return app.return_code or 0


def _sync_engine(workspace: Workspace, server: str | None, apply: Callable):
    """The sync engine, or None when no server is configured. Imported lazily: httpx stays
    off the start-up path when sync is not used. Raises SyncConfigError."""
    from warroom.store.sync_state import resolve_server

    if resolve_server(server) is None:
        return None
    from warroom.sync.engine import SyncEngine

    return SyncEngine.from_config(workspace, server, apply=apply)
