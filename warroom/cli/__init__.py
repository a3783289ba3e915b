"""The command line: ``warroom`` opens the TUI; every other command is scriptable.

One module per command group: ``incidents`` (list, declare, log, set, assign, amend, redact,
show), ``situation`` (brief, hypothesis, run), ``comms``, ``export`` (export, import, report;
``timeline_import`` reads and previews timelines for import), ``milestone``, ``sync`` (login,
sync), ``server``, ``runbooks`` (lint) and ``tui`` (the console, demo, web); ``common`` holds
what they share.
Commands parse with argparse and call the desk (``warroom.desk``) for every use-case.

Start-up matters (an IC opens this under stress), so heavy modules (Textual, httpx, the
server) are imported inside the command that needs them, never at module level.

Exit codes: 0 done, 1 refused (unknown incident, bad time, unreadable data), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from warroom.cli import incidents, situation, tui
from warroom.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    CliError,
    add_common_options,
    open_workspace,
    run_command,
)

__all__ = ["EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE", "CliError", "main", "run_command"]

# Commands with their own parser: argv after the name is passed through to them.
_PASSTHROUGH = {
    "server": "run the shared sync server, or manage its tokens (warroom server --help)",
    "login": "save a server URL and token for sync",
    "sync": "push pending events and pull the feed once",
    "repair": "rebuild a damaged incident from the server (the old journal is kept)",
    "runbooks": "runbook tools (warroom runbooks lint PATH…)",
    "comms": "comms: warroom comms list | render INCIDENT TEMPLATE | send … | outbox | retry DELIVERY",
    "export": "export an incident: Markdown postmortem draft or lossless JSON",
    "import": "import timeline notes (or a JSON export) into an incident",
    "report": "incident counts, MTTA and MTTR by SEV over a date range",
    "milestone": "show or set an incident's milestones (detected, declared, mitigated…)",
}
# These open the data dir, so global options given before the command are passed on.
_USES_WORKSPACE = {"sync", "repair", "comms", "export", "import", "report", "milestone"}
_GLOBAL_VALUE_OPTIONS = {"--data-dir", "--as", "--theme", "--server"}
"""Top-level options that take a separate value (so the value is not mistaken for a command)."""

_COMMANDS = {**incidents.COMMANDS, **situation.COMMANDS, "demo": tui.cmd_demo, "web": tui.cmd_web}


def build_parser() -> argparse.ArgumentParser:
    from warroom import __version__

    parser = argparse.ArgumentParser(
        prog="warroom",
        description="Incident war-room console. With no command, opens the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"warroom {__version__}")
    add_common_options(parser, top_level=True)
    parser.add_argument("--theme", help="Textual theme name (e.g. warroom-dark, warroom-light)")
    parser.add_argument("--server", help="sync with this warroom server URL (env WARROOM_SERVER)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    tui.add_parsers(sub)
    incidents.add_parsers(sub)
    situation.add_parsers(sub)
    for name, help_text in _PASSTHROUGH.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _passthrough(name: str, argv: list[str]) -> int:
    if name == "server":
        from warroom.cli.server import main as server_main

        return server_main(argv)
    if name == "login":
        from warroom.cli.sync import login_main

        return login_main(argv)
    if name in ("sync", "repair"):
        from warroom.cli.sync import repair_main, sync_main

        parser = argparse.ArgumentParser(prog=f"warroom {name}")
        add_common_options(parser, top_level=True)
        parser.add_argument("--server", help="server URL (env WARROOM_SERVER)")
        args, rest = parser.parse_known_args(argv)
        main_of = sync_main if name == "sync" else repair_main
        return main_of(rest + (["--server", args.server] if args.server else []), open_workspace(args))
    if name == "comms":
        from warroom.cli.comms import main as comms_main

        return comms_main(argv)
    if name == "milestone":
        from warroom.cli.milestone import milestone_main

        return milestone_main(argv)
    if name in ("export", "import", "report"):
        from warroom.cli import export

        return {"export": export.export_main, "import": export.import_main, "report": export.report_main}[name](argv)
    if name == "runbooks":
        if not argv or argv[0] != "lint":
            print("usage: warroom runbooks lint PATH... [--json]", file=sys.stderr)
            return EXIT_USAGE
        from warroom.cli.runbooks import main as lint_main

        return lint_main(argv[1:])
    raise AssertionError(name)


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
    args = build_parser().parse_args(argv)
    if args.command is None:
        return run_command(tui.cmd_tui, args)
    return run_command(_COMMANDS[args.command], args)
