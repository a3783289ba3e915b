"""What every command shares: exit codes, refusals, the global options, opening the desk.

Start-up matters (an IC runs these under stress), so heavy modules are imported inside the
function that needs them, never at module level.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warroom.desk import Desk, LibraryProblem
    from warroom.domain.events import Event
    from warroom.domain.models import Severity, Status
    from warroom.store.config import Config
    from warroom.store.workspace import Workspace

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A refused command: printed to stderr without a traceback, exit 1."""


def add_common_options(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    """``--data-dir`` and ``--as``, accepted before or after the command name.

    On subcommands the default is SUPPRESS, so a value given before the command
    (``warroom --data-dir D list``) is not reset to None."""
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument("--data-dir", type=Path, default=default, help="incident journals directory (env WARROOM_DATA_DIR)")
    parser.add_argument("--as", dest="user", metavar="NAME", default=default, help="your name on the timeline (env WARROOM_USER)")


def run_command(body: Callable, args) -> int:
    """Run a command; a refusal is one line on stderr and exit 1, never a traceback."""
    from warroom.domain.commands import DomainError

    try:
        return body(args)
    except (CliError, DomainError) as exc:
        print(f"warroom: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `warroom show X | head`: the reader left; not an error worth a traceback.
        sys.stderr.close()
        return EXIT_OK


def load_config() -> Config:
    from warroom.store.config import ConfigError, load_config as load

    try:
        return load()
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def data_dir(args: argparse.Namespace, config: Config) -> Path:
    """``--data-dir``, else WARROOM_DATA_DIR, else the config's, else the platform default."""
    from warroom.store import paths

    if getattr(args, "data_dir", None):
        return args.data_dir.expanduser()
    if os.environ.get(paths.DATA_DIR_ENV):
        return paths.default_data_dir()
    return (config.data_dir or paths.default_data_dir()).expanduser()


def open_workspace(args: argparse.Namespace, config: Config | None = None) -> Workspace:
    """The data dir's incidents, loaded; repairs and unreadable journals said on stderr."""
    from warroom.store.config import login_name, resolve_user
    from warroom.store.workspace import Workspace

    config = config or load_config()
    actor = resolve_user(getattr(args, "user", None), config) or login_name()
    from warroom.domain.text import safe_line
    from warroom.sync.people import hide_refused
    from warroom.progress import progress_bar

    workspace = Workspace(data_dir(args, config), actor)
    with progress_bar("Reading journals", minimum=4 * 1024 * 1024) as progress:
        report = workspace.load(progress)
    for warning in report.warnings:
        print(f"warroom: warning: {safe_line(warning)}", file=sys.stderr)
    for error in report.errors:
        print(f"warroom: error: {safe_line(error)}", file=sys.stderr)
    # What the server refused is left out, as the TUI does: one truth on every front end.
    hide_refused(workspace, getattr(args, "server", None))
    return workspace


def confirm_commander(workspace: Workspace, args: argparse.Namespace, person: str | None, role: str = "ic") -> None:
    """Before the IC role goes to a name the sync server does not know: warn and ask (or,
    without a terminal to ask on, refuse unless --yes). Only the IC may hand the role on, so
    a typo (``Bob`` for ``bob``) would lock the incident for everyone but admins."""
    from warroom.domain.models import INCIDENT_COMMANDER, canonical_role

    try:
        if person is None or canonical_role(role) != INCIDENT_COMMANDER:
            return
    except ValueError:
        return
    from warroom.sync.people import check_person, known_users

    try:
        warning = check_person(person, known_users(workspace, getattr(args, "server", None)))
    except Exception:
        return  # no server configured or reachable: nothing to check against
    if warning is None or getattr(args, "yes", False):
        return
    print(f"warroom: warning: {warning}", file=sys.stderr)
    if not sys.stdin.isatty():
        raise CliError("not assigned; check the name, or pass --yes to assign it anyway")
    answer = input(f"Make {person!r} the incident commander anyway? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("not assigned")


_PROBLEM_PREFIX = {"runbook": "runbook not loaded: ", "template": "template not loaded: ", "incident type": ""}


def warn_library_problem(problem: LibraryProblem) -> None:
    print(f"warroom: warning: {_PROBLEM_PREFIX.get(problem.part, '')}{problem.message}", file=sys.stderr)


def open_desk(args: argparse.Namespace) -> Desk:
    """The desk on the data dir; library problems are warned about when a command first
    needs that part of the library."""
    from warroom.desk import Desk, Library

    config = load_config()
    return Desk(open_workspace(args, config), Library(config, on_problem=warn_library_problem))


def record(desk: Desk, events: list[Event]) -> None:
    """Journal events; a failed write becomes a CliError (exit 1) saying nothing was saved."""
    from warroom.store.journal import JournalError

    try:
        desk.record(events)
    except JournalError as exc:
        raise CliError(str(exc)) from None


def after_write(workspace: Workspace, args: argparse.Namespace) -> None:
    """With a server configured, try one push; the events are already safe locally."""
    server = getattr(args, "server", None)  # --server; try_push itself reads WARROOM_SERVER
    try:
        from warroom.cli.sync import try_push
    except ImportError:
        return
    try:
        message = try_push(workspace, server) if server else try_push(workspace)
    except Exception as exc:  # saved already: a sync problem must not fail (and invite a retry)
        message = f"saved locally; not synced ({exc})"
    if message:
        print(f"warroom: {message}", file=sys.stderr)


def parse_severity(text: str) -> Severity:
    from warroom.domain.models import Severity

    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def parse_status(text: str) -> Status:
    from warroom.domain.models import Status

    try:
        return Status.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


# --- times people type and rules people must see applied (--tz, the IC-only changes) ----------


def add_time_zone_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tz",
        default="UTC",
        help="time zone of --at when it has no offset: UTC (default), local, or a name such as Europe/Paris",
    )


def zone(name: str):
    """``--tz``: UTC, ``local`` (this machine's zone) or an IANA name such as Asia/Tokyo."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from warroom.domain.scribe import UTC

    cleaned = name.strip()
    if cleaned.upper() in ("UTC", "Z"):
        return UTC
    if cleaned.lower() == "local":
        from warroom.store.localzone import local_zone

        return local_zone()
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"unknown time zone {name!r}: use UTC, local, or a name such as Europe/Paris") from None


def when(desk: Desk, text: str, tz: str):
    """``--at`` read in ``--tz``; a bare HH:MM that lands on another day or more than 12 h
    back is asked about (on a terminal) or refused (in a script), never applied silently."""
    from warroom.domain.scribe import backdate_question, is_clock_time

    where = zone(tz)
    at = desk.when(text, where)
    question = backdate_question(text.strip(), at, desk.now(), where) if is_clock_time(text) else None
    if question is None:
        return at
    if sys.stdin.isatty() and sys.stderr.isatty():
        print(f"warroom: {question}. Log it then? [y/N] ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() in ("y", "yes"):
            return at
        raise CliError("not logged")
    raise CliError(f"{question}; give the date to be sure, e.g. --at {at.astimezone(where):%Y-%m-%dT%H:%M} --tz {tz}")


def echo_time(desk: Desk, at, tz: str) -> None:
    """The time as understood, in the zone given and in UTC, on stderr."""
    from warroom.domain.scribe import describe_time

    print(f"warroom: at {describe_time(at, zone(tz), desk.now())}", file=sys.stderr)


def refuse_what_the_server_would(desk: Desk, args: argparse.Namespace, events: list[Event]) -> None:
    """With a server configured, a change only the IC may make is refused here, before it
    is written, unless the server says we are an admin."""
    from warroom.store.sync_state import SyncConfigError, resolve_server

    reason = desk.refusal(events)
    if reason is None:
        return
    try:
        server = resolve_server(getattr(args, "server", None))
    except SyncConfigError:
        server = None
    if server is None or _server_says_admin(server):
        return  # local only (nobody will refuse it), or an admin
    raise CliError(f"{reason} (nothing was written)")


def _server_says_admin(server: str) -> bool:
    try:
        from warroom.store.sync_state import resolve_token
        from warroom.sync.client import SyncClient

        with SyncClient(server, resolve_token(), timeout=3.0, connect_timeout=2.0) as client:
            return bool(client.whoami().admin)
    except Exception:  # offline or not allowed: we cannot know, so we are not an admin
        return False
