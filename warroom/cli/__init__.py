"""Command-line entry points: the TUI, the scriptable commands, the server.

Start-up matters (an IC opens this under stress), so heavy modules (Textual, httpx, the
server) are imported inside the command that needs them, never at module level.

Exit codes: 0 done, 1 refused (unknown incident, bad time, unreadable data), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A refused command: printed to stderr without a traceback, exit 1."""


# --- shared options ------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    # Accepted before or after the command name. On subcommands the default is SUPPRESS so
    # a value given before the command (`warroom --data-dir D list`) is not reset to None.
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument("--data-dir", type=Path, default=default, help="incident journals directory (env WARROOM_DATA_DIR)")
    parser.add_argument("--as", dest="user", metavar="NAME", default=default, help="your name on the timeline (env WARROOM_USER)")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warroom",
        description="Incident war-room console. With no command, opens the TUI.",
    )
    _common(parser, top_level=True)
    parser.add_argument("--theme", help="Textual theme name (e.g. warroom-dark, warroom-light)")
    parser.add_argument("--server", help="sync with this warroom server URL (env WARROOM_SERVER)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="open the TUI on a throwaway copy of the sample incidents")
    _common(demo)
    demo.add_argument("--theme", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    demo.add_argument("--keep", action="store_true", help="print where the copy is and keep it")

    web = sub.add_parser("web", help="serve the console in a browser (textual-serve) on loopback")
    _common(web)
    web.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: put the team's reverse proxy in front)")
    web.add_argument("--port", type=int, default=8766, help="port (default 8766)")
    web.add_argument("--public-url", help="the URL people open, when behind a reverse proxy")

    lst = sub.add_parser("list", help="list incidents, active first")
    _common(lst)
    lst.add_argument("--json", action="store_true")

    declare = sub.add_parser("declare", help="declare an incident; prints its id")
    _common(declare)
    declare.add_argument("--title", required=True)
    declare.add_argument("--sev", help="1-4 or SEV1-SEV4 (default: the type's, else required)")
    declare.add_argument("--ic", help="incident commander (default: you)")
    declare.add_argument("--summary", default="")
    declare.add_argument("--impact", default="")
    declare.add_argument("--type", dest="incident_type", help="incident type, e.g. payments")

    log = sub.add_parser("log", help="add a timeline entry")
    _common(log)
    log.add_argument("incident")
    log.add_argument("text", nargs="+")
    log.add_argument("--at", help="when it happened: HH:MM (UTC today) or ISO 8601")
    log.add_argument("--kind", default="note", help="note, decision, action, hypothesis, todo")

    setp = sub.add_parser("set", help="change severity, status or title")
    _common(setp)
    setp.add_argument("incident")
    setp.add_argument("--sev")
    setp.add_argument("--status")
    setp.add_argument("--title")
    setp.add_argument("--summary")
    setp.add_argument("--impact")

    assign = sub.add_parser("assign", help="give a role to someone (ic, tech, comms, scribe or any name)")
    _common(assign)
    assign.add_argument("incident")
    assign.add_argument("role")
    assign.add_argument("person")

    amend = sub.add_parser("amend", help="replace an entry's text (history is kept)")
    _common(amend)
    amend.add_argument("incident")
    amend.add_argument("entry")
    amend.add_argument("text", nargs="+")

    redact = sub.add_parser("redact", help="hide an entry's text (it stays in the journal)")
    _common(redact)
    redact.add_argument("incident")
    redact.add_argument("entry")
    redact.add_argument("--reason", required=True)

    show = sub.add_parser("show", help="an incident's state and timeline, oldest first")
    _common(show)
    show.add_argument("incident")
    show.add_argument("--json", action="store_true")

    # Commands implemented in their own packages; argv after the name is passed through.
    for name, help_text in (
        ("server", "run the shared sync server, or manage its tokens (warroom server --help)"),
        ("login", "save a server URL and token for sync"),
        ("sync", "push pending events and pull the feed once"),
        ("runbooks", "runbook tools (warroom runbooks lint PATH…)"),
        ("comms", "comms templates: warroom comms render INCIDENT TEMPLATE, warroom comms list"),
        ("export", "export an incident: Markdown postmortem draft or lossless JSON"),
        ("import", "import timeline notes (or a JSON export) into an incident"),
        ("report", "incident counts, MTTA and MTTR by SEV over a date range"),
    ):
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


_PASSTHROUGH = {"server", "login", "sync", "runbooks", "comms", "export", "import", "report"}
# These open the data dir, so global options given before the command are passed on.
_USES_WORKSPACE = {"sync", "comms", "export", "import", "report"}
_GLOBAL_VALUE_OPTIONS = {"--data-dir", "--as", "--theme", "--server"}
"""Top-level options that take a separate value (so the value is not mistaken for a command)."""


# --- helpers -------------------------------------------------------------------------------


def _data_dir(args: argparse.Namespace, config) -> Path:
    from warroom.store import paths

    if args.data_dir:
        return args.data_dir.expanduser()
    if os.environ.get(paths.DATA_DIR_ENV):
        return paths.default_data_dir()
    return (config.data_dir or paths.default_data_dir()).expanduser()


def _load_config():
    from warroom.store.config import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def _open_workspace(args: argparse.Namespace):
    from warroom.store.config import login_name, resolve_user
    from warroom.store.workspace import Workspace

    config = _load_config()
    actor = resolve_user(getattr(args, "user", None), config) or login_name()
    workspace = Workspace(_data_dir(args, config), actor)
    report = workspace.load()
    for warning in report.warnings:
        print(f"warroom: warning: {warning}", file=sys.stderr)
    for error in report.errors:
        print(f"warroom: error: {error}", file=sys.stderr)
    return workspace


def record_or_refuse(workspace, events) -> None:
    """Journal events; a failed write becomes a CliError (exit 1) saying nothing was saved."""
    from warroom.store.journal import JournalError

    try:
        workspace.record(events)
    except JournalError as exc:
        raise CliError(str(exc)) from None


def _after_write(workspace, args) -> None:
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


def _severity(text: str):
    from warroom.domain.models import Severity

    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _status(text: str):
    from warroom.domain.models import Status

    try:
        return Status.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


# --- commands ------------------------------------------------------------------------------


def cmd_list(args) -> int:
    from warroom.domain.ids import short_id
    from warroom.domain.models import format_duration

    workspace = _open_workspace(args)
    incidents = workspace.incidents()
    now = workspace.clock.now()
    if args.json:
        print(json.dumps([
            {
                "id": i.id,
                "short_id": short_id(i.id),
                "title": i.title,
                "severity": i.severity.value,
                "status": i.status.value,
                "declared_at": i.declared_at.isoformat() if i.declared_at else None,
                "commander": i.commander,
            }
            for i in incidents
        ], indent=2))
        return EXIT_OK
    if not incidents:
        print("no incidents (declare one with: warroom declare --title TEXT --sev N)")
    for incident in incidents:
        elapsed = format_duration(incident.elapsed_seconds(now))
        print(
            f"{short_id(incident.id)}  {incident.severity.value}  {incident.status.value:<13} "
            f"{elapsed:>11}  {incident.title}  (IC: {incident.commander or '—'})"
        )
    return EXIT_OK


def cmd_declare(args) -> int:
    from warroom.domain import commands

    from warroom.desk.incident_types import load_incident_types

    types, type_errors = load_incident_types()
    for error in type_errors:
        print(f"warroom: warning: {error}", file=sys.stderr)
    kind = types.get((args.incident_type or "").lower())
    if args.sev:
        severity = _severity(args.sev)
    elif kind is not None and kind.severity is not None:
        severity = kind.severity
    else:
        raise CliError("give --sev N (or a --type that has a default severity)")
    workspace = _open_workspace(args)
    events = commands.declare(
        workspace.factory,
        title=args.title,
        severity=severity,
        commander=args.ic,
        summary=args.summary,
        impact=args.impact,
        incident_type=args.incident_type,
    )
    events += _starting_checklists(workspace, events, args.incident_type, kind)
    record_or_refuse(workspace, events)
    print(events[0].incident_id)
    _after_write(workspace, args)
    return EXIT_OK


def _starting_checklists(workspace, declared, incident_type, kind=None):
    """The IC checklist, the type's runbooks (as attach events) and its roles to fill."""
    from warroom.domain import commands
    from warroom.domain.fold import fold_incident
    from warroom.runbooks.library import attach_fields, load_library, runbooks_for_declare

    runbooks, errors = load_library(_load_config().runbook_dirs)
    for error in errors:
        print(f"warroom: warning: runbook not loaded: {error}", file=sys.stderr)
    incident = fold_incident(declared[0].incident_id, declared)
    events = [
        commands.attach_runbook(workspace.factory, incident, **attach_fields(runbook))
        for runbook in runbooks_for_declare(runbooks, incident_type, kind.runbooks if kind else None)
    ]
    return events + commands.roles_to_fill(workspace.factory, incident.id, kind.roles if kind else [])


def cmd_log(args) -> int:
    from warroom.domain import commands
    from warroom.domain.models import EntryKind, HUMAN_ENTRY_KINDS
    from warroom.domain.scribe import ScribeError, parse_when

    workspace = _open_workspace(args)
    incident = workspace.get(args.incident)
    try:
        kind = EntryKind(args.kind.lower())
    except ValueError:
        kind = None
    if kind not in HUMAN_ENTRY_KINDS:
        names = ", ".join(sorted(k.value for k in HUMAN_ENTRY_KINDS))
        raise CliError(f"unknown kind {args.kind!r}: use {names}")
    at = None
    if args.at:
        try:
            at = parse_when(args.at, workspace.clock.now())
        except ScribeError as exc:
            raise CliError(str(exc)) from None
    event = commands.log_entry(workspace.factory, incident, " ".join(args.text), kind, at)
    record_or_refuse(workspace, [event])
    from warroom.domain.ids import short_id

    print(short_id(event.id))
    _after_write(workspace, args)
    return EXIT_OK


def _change_incident(args, make_event) -> int:
    """The shape of every command that changes one incident: open, build the event from the
    current state (the domain refuses what is not allowed), journal it, try one push."""
    workspace = _open_workspace(args)
    incident = workspace.get(args.incident)
    record_or_refuse(workspace, [make_event(workspace.factory, incident)])
    _after_write(workspace, args)
    return EXIT_OK


def cmd_set(args) -> int:
    from warroom.domain import commands

    if not any((args.sev, args.status, args.title, args.summary, args.impact)):
        raise CliError("nothing to set: give --sev, --status, --title, --summary or --impact")
    severity = _severity(args.sev) if args.sev else None
    status = _status(args.status) if args.status else None
    return _change_incident(
        args,
        lambda factory, incident: commands.update(
            factory, incident, severity=severity, status=status, title=args.title, summary=args.summary, impact=args.impact
        ),
    )


def cmd_assign(args) -> int:
    from warroom.domain import commands

    return _change_incident(args, lambda factory, incident: commands.assign_role(factory, incident, args.role, args.person))


def cmd_amend(args) -> int:
    from warroom.domain import commands

    text = " ".join(args.text)
    return _change_incident(args, lambda factory, incident: commands.amend_entry(factory, incident, args.entry, text))


def cmd_redact(args) -> int:
    from warroom.domain import commands

    return _change_incident(args, lambda factory, incident: commands.redact_entry(factory, incident, args.entry, args.reason))


def cmd_show(args) -> int:
    from warroom.domain.ids import short_id
    from warroom.domain.models import format_duration

    workspace = _open_workspace(args)
    incident = workspace.get(args.incident)
    if args.json:
        print(incident.model_dump_json(indent=2))
        return EXIT_OK
    now = workspace.clock.now()
    print(f"{incident.severity.value} {incident.title}")
    print(f"  id:       {incident.id} ({short_id(incident.id)})")
    print(f"  status:   {incident.status.value}")
    if incident.declared_at:
        print(f"  declared: {incident.declared_at:%Y-%m-%d %H:%M:%S} UTC by {incident.declared_by}"
              f" ({format_duration(incident.elapsed_seconds(now))})")
    if incident.summary:
        print(f"  summary:  {incident.summary}")
    if incident.impact:
        print(f"  impact:   {incident.impact}")
    for role, person in incident.roles.items():
        print(f"  {role}: {person or '—'}")
    print()
    for entry in incident.timeline:
        text = f"[redacted: {entry.revisions[-1].text}]" if entry.redacted else entry.text
        marks = " (amended)" if entry.amended and not entry.redacted else ""
        print(f"{entry.at:%Y-%m-%d %H:%M:%S}  {short_id(entry.id)}  {entry.kind.value:<10} "
              f"{entry.actor:<12} {text}{marks}")
    return EXIT_OK


def cmd_tui(args, *, demo: bool = False) -> int:
    config = _load_config()
    from warroom.store.config import login_name, resolve_user

    data_dir = _data_dir(args, config)
    user = resolve_user(args.user, config)
    if demo:
        data_dir = _make_demo_copy(keep=args.keep)
        user = user or login_name()
    from warroom.store.sync_state import SyncConfigError
    from warroom.ui.app import run_app

    try:
        return run_app(
            data_dir=data_dir,
            user=user,
            config=config,
            theme=args.theme,
            server=getattr(args, "server", None),
            sync=not demo,  # never push the sample incidents to a team server
        )
    except SyncConfigError as exc:
        raise CliError(str(exc)) from None
    finally:
        if demo and not args.keep:
            shutil.rmtree(data_dir.parent, ignore_errors=True)


def _make_demo_copy(*, keep: bool) -> Path:
    """The sample incidents copied (time-shifted) to a temp dir; sample_data/ is never changed."""
    from warroom.domain.clock import SystemClock
    from warroom.store import paths
    from warroom.desk.demo import copy_sample_incidents
    from warroom.store.journal import JournalError

    source = paths.sample_incidents_dir()
    if not source.is_dir():
        raise CliError(f"sample data not found at {source} (run from a checkout of warroom)")
    root = Path(tempfile.mkdtemp(prefix="warroom-demo-"))
    data_dir = root / "data"
    try:
        copy_sample_incidents(source, data_dir, SystemClock().now())
    except JournalError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise CliError(f"the sample data is damaged: {exc}") from None
    if keep:
        print(f"demo data: {data_dir}", file=sys.stderr)
    return data_dir


def cmd_web(args) -> int:
    """Serve the same TUI to browsers: each browser tab runs its own warroom process on this
    machine's data dir, as the user that started the server."""
    import shlex

    try:
        from textual_serve.server import Server
    except ImportError:
        raise CliError("warroom web needs textual-serve: pip install 'warroom[web]'") from None
    command = [sys.executable, "-m", "warroom"]
    if args.data_dir:
        command += ["--data-dir", str(args.data_dir)]
    if args.user:
        command += ["--as", args.user]
    server = Server(shlex.join(command), host=args.host, port=args.port, title="warroom", public_url=args.public_url)
    print(f"warroom web: serving on http://{args.host}:{args.port} (Ctrl+C to stop)", file=sys.stderr)
    server.serve()
    return EXIT_OK


_COMMANDS = {
    "list": cmd_list,
    "declare": cmd_declare,
    "log": cmd_log,
    "set": cmd_set,
    "assign": cmd_assign,
    "amend": cmd_amend,
    "redact": cmd_redact,
    "show": cmd_show,
    "web": cmd_web,
}


def _passthrough(name: str, argv: list[str]) -> int:
    if name == "server":
        from warroom.cli.server import main as server_main

        return server_main(argv)
    if name == "login":
        from warroom.cli.sync import login_main

        return login_main(argv)
    if name == "sync":
        from warroom.cli.sync import sync_main

        parser = argparse.ArgumentParser(prog="warroom sync")
        _common(parser, top_level=True)
        parser.add_argument("--server", help="server URL (env WARROOM_SERVER)")
        args, rest = parser.parse_known_args(argv)
        return sync_main(rest + (["--server", args.server] if args.server else []), _open_workspace(args))
    if name == "comms":
        return _comms(argv)
    if name in ("export", "import", "report"):
        from warroom.cli import export as export_cli

        return {"export": export_cli.export_main, "import": export_cli.import_main, "report": export_cli.report_main}[name](argv)
    if name == "runbooks":
        if not argv or argv[0] != "lint":
            print("usage: warroom runbooks lint PATH... [--json]", file=sys.stderr)
            return EXIT_USAGE
        from warroom.cli.runbooks import main as lint_main

        return lint_main(argv[1:])
    raise AssertionError(name)


def _comms(argv: list[str]) -> int:
    """warroom comms list | render INCIDENT TEMPLATE"""
    parser = argparse.ArgumentParser(prog="warroom comms", description="Fill comms templates from live incident state.")
    _common(parser, top_level=True)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="list the templates")
    render_parser = sub.add_parser("render", help="print a template filled from the incident's state")
    _common(render_parser)
    render_parser.add_argument("incident")
    render_parser.add_argument("template", help="template id (file name without extension)")
    args = parser.parse_args(argv)
    from warroom.comms.render import render
    from warroom.comms.templates import load_templates, template_dirs

    config = _load_config()
    templates, errors = load_templates(template_dirs(config.template_dirs))
    for error in errors:
        print(f"warroom: warning: template not loaded: {error}", file=sys.stderr)
    if args.action == "list":
        for template in templates.values():
            print(f"{template.id:<16} {template.channel.value:<12} {template.name}")
        return EXIT_OK
    workspace = _open_workspace(args)
    incident = workspace.get(args.incident)
    template = templates.get(args.template)
    if template is None:
        available = ", ".join(sorted(templates)) or "none"
        raise CliError(f"no template {args.template!r}; available: {available}")
    from warroom.domain.cadence import overrides_for
    from warroom.desk.incident_types import load_incident_types

    types, _ = load_incident_types()
    kind = types.get(incident.incident_type or "")
    overrides = overrides_for(incident, config.cadence_minutes, kind.cadence_minutes if kind else None)
    print(render(template, incident, workspace.clock.now(), overrides), end="")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Pass-through commands parse their own options (after global --data-dir/--as if given).
    index = -1
    while index + 1 < len(argv):
        index += 1
        word = argv[index]
        if word in _GLOBAL_VALUE_OPTIONS:
            index += 1  # skip the option's value (`warroom --data-dir D sync`)
            continue
        if word in _PASSTHROUGH:
            rest = argv[:index] + argv[index + 1:] if word in _USES_WORKSPACE else argv[index + 1:]
            return run_command(lambda command_argv: _passthrough(word, command_argv), rest)
        if not word.startswith("-"):
            break
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return run_command(cmd_tui, args)
    if args.command == "demo":
        return run_command(lambda a: cmd_tui(a, demo=True), args)
    return run_command(_COMMANDS[args.command], args)


def run_command(body, args) -> int:
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
