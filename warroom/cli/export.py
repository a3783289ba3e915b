"""``warroom export``, ``warroom import`` and ``warroom report``.

Each ``*_main(argv)`` parses the arguments after the command name (global ``--data-dir`` /
``--as`` / ``--server`` given before the command are accepted too), opens the data dir the
way every other command does, and returns the exit code: 0 done, 1 refused (the reason is
printed as ``warroom: …`` on stderr), 2 usage error (argparse).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from warroom.cli.common import EXIT_OK, CliError, after_write, open_desk, run_command


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None, help="incident journals directory (env WARROOM_DATA_DIR)")
    parser.add_argument("--as", dest="user", metavar="NAME", default=None, help="your name on the timeline (env WARROOM_USER)")
    parser.add_argument("--server", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--theme", default=None, help=argparse.SUPPRESS)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _zone(name: str | None):
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris or America/New_York") from None


def _read_text(path_text: str) -> str:
    if path_text == "-":
        return sys.stdin.read()
    path = Path(path_text).expanduser()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text") from None


# --- export ------------------------------------------------------------------------------------


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warroom export",
        description="Export an incident: a blameless postmortem draft in Markdown, or every event as lossless JSON.",
    )
    _common(parser)
    parser.add_argument("incident", help="incident id or short id")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown", help="default: markdown")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    parser.add_argument(
        "--redacted",
        choices=("mark", "omit"),
        default="mark",
        help="Markdown: show redacted entries as [redacted] (mark, the default) or leave them out (omit)",
    )
    parser.add_argument("--local-tz", metavar="ZONE", help="Markdown: add a local-time column, e.g. Europe/Paris")
    return parser


def _export(args) -> int:
    if args.format == "json" and args.local_tz:
        raise CliError("--local-tz applies to the Markdown export only")
    if args.format == "json" and args.redacted != "mark":
        raise CliError("--redacted applies to the Markdown export only (the JSON export is lossless)")
    zone = _zone(args.local_tz)
    desk = open_desk(args)
    incident = desk.get(args.incident)
    if args.format == "json":
        from warroom.export.jsonio import export_json

        text = export_json(incident.id, desk.workspace.events(incident.id), desk.workspace.text_keys)
        redacted = sum(1 for entry in incident.timeline if entry.redacted)
        if redacted:
            print(
                f"warroom: note: the JSON export is lossless, so it still holds the original text of "
                f"{redacted} redacted entr{'y' if redacted == 1 else 'ies'}",
                file=sys.stderr,
            )
    else:
        text = desk.postmortem(incident.id, redacted=args.redacted, local_tz=zone)
    if args.output and args.output != "-":
        path = Path(args.output).expanduser().absolute()  # say exactly where it went
        try:
            desk.write_file(path, text)
        except OSError as exc:
            raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
        print(f"warroom: wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_OK


def export_main(argv: list[str]) -> int:
    """``warroom export INCIDENT [--format markdown|json] [--output FILE] [--redacted mark|omit]
    [--local-tz ZONE]``"""
    return run_command(_export, _export_parser().parse_args(argv))


# --- import ------------------------------------------------------------------------------------


def _import_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warroom import",
        description=(
            "Import a timeline as people write it (lines such as '14:32 - Alert fired', "
            "'* 8:00 AM - …', 'At 2017/01/31 6pm UTC, we …', or a Markdown table with a time "
            "and an event column) as backdated entries of an incident; or, with --json, a JSON "
            "export of an incident. A preview shows how every line was read before anything "
            "is written. Nothing is imported while a line cannot be read, unless --skip-bad."
        ),
    )
    _common(parser)
    parser.add_argument("file", help="the notes (or JSON export) to read; - for stdin")
    parser.add_argument("--incident", metavar="ID", help="the incident the notes belong to")
    parser.add_argument("--date", type=_day, metavar="YYYY-MM-DD", help="date of times given without one (default: the notes' own, else today, UTC)")
    parser.add_argument("--tz", metavar="ZONE", help="time zone of times given without one (default: the notes' own declaration, else UTC)")
    parser.add_argument("--skip-bad", action="store_true", help="import the readable lines and skip the others")
    parser.add_argument("--json", action="store_true", help="FILE is a JSON export (warroom export --format json)")
    parser.add_argument(
        "--trust-unsigned",
        action="store_true",
        help="JSON: also take events that carry no signature (written before signatures, "
        "e.g. the sample incidents); events signed by someone else are refused regardless",
    )
    from warroom.cli.timeline_import import add_note_options

    add_note_options(parser)
    return parser


def _import_json(args, text: str) -> int:
    from warroom.domain.ids import matches_ref
    from warroom.export.jsonio import import_document
    from warroom.store.journal import JournalError

    from warroom.progress import progress_bar

    try:
        with progress_bar("Checking events") as progress:
            events, keys = import_document(text, progress)
    except ValueError as exc:
        raise CliError(f"{args.file}: {exc}") from None
    incident_id = events[0].incident_id
    if args.incident and not matches_ref(incident_id, args.incident):
        raise CliError(f"the export holds incident {incident_id}, not {args.incident!r}")
    workspace = open_desk(args).workspace
    _check_authors(workspace, args, events)
    try:
        fresh = workspace.ingest(events, keys)
    except JournalError as exc:
        raise CliError(str(exc)) from None
    new = sum(len(batch) for batch in fresh.values())
    print(incident_id)
    print(f"warroom: imported {new} new event(s); {len(events) - new} were already here", file=sys.stderr)
    if new:
        after_write(workspace, args)
    return EXIT_OK


def _check_authors(workspace, args, events) -> None:
    """An import must not put words in anyone's mouth: every event not already here must
    carry a valid signature of its actor (this person's own key, or one the sync server
    lists). Nothing is imported otherwise — whoever runs the import, admins included."""
    from warroom.sync.people import known_keys

    here = {}
    for event in events:
        try:
            here.update({e.id: e for e in workspace.events(event.incident_id)})
        except KeyError:
            pass
        break
    unknown = [e for e in events if here.get(e.id) != e]
    if not unknown:
        return
    ring = known_keys(workspace, getattr(args, "server", None))
    unsigned = 0
    for event in unknown:
        problem = ring.verify(event)
        if problem is not None and event.sig is None and getattr(args, "trust_unsigned", False):
            unsigned += 1
            continue
        if problem is not None:
            hint = (
                " (sync once, or log in to the server, so warroom knows everyone's keys)"
                if "not registered" in problem
                else ""
            )
            raise CliError(
                f"{args.file}: event {event.id[-8:]} ({event.kind}) claims to be by "
                f"{event.actor!r}, but {problem}{hint}; nothing was imported"
            )
    if unsigned:
        print(f"warroom: warning: {unsigned} unsigned event(s) imported on your word (--trust-unsigned)", file=sys.stderr)


def _import_notes(args, text: str) -> int:
    from warroom.cli.timeline_import import import_notes

    return import_notes(args, text, _zone(args.tz))


def _import(args) -> int:
    text = _read_text(args.file)
    if args.json:
        return _import_json(args, text)
    return _import_notes(args, text)


def import_main(argv: list[str]) -> int:
    """``warroom import FILE --incident ID [--date YYYY-MM-DD] [--tz ZONE] [--skip-bad] [--dry-run]
    [--yes] [--markup auto|markdown|plain]`` or
    ``warroom import FILE.json --json``"""
    parser = _import_parser()
    args = parser.parse_args(argv)
    if not args.json and not args.incident:
        parser.error("give --incident ID for notes (or --json for a JSON export)")
    if args.trust_unsigned and not args.json:
        parser.error("--trust-unsigned applies to a JSON export")
    if args.json and (args.date or args.tz or args.skip_bad or args.dry_run or args.markup != "auto"):
        parser.error("--date, --tz, --skip-bad, --dry-run and --markup apply to notes, not to a JSON export")
    return run_command(_import, args)


# --- report ------------------------------------------------------------------------------------


def _report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warroom report",
        description="Incidents over a date range: counts by SEV and status, MTTA and MTTR by SEV.",
    )
    _common(parser)
    parser.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="declared on or after this day (UTC)")
    parser.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="declared on or before this day (UTC)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--ascii", action="store_true", help="draw the chart with # rather than blocks")
    return parser


def _report(args) -> int:
    from warroom.export.report import build_report, format_report, report_dict

    if args.since and args.until and args.since > args.until:
        raise CliError(f"--since {args.since} is after --until {args.until}")
    desk = open_desk(args)
    rep = build_report(desk.incidents(), desk.now(), args.since, args.until)
    if args.json:
        print(json.dumps(report_dict(rep), indent=2))
    else:
        sys.stdout.write(format_report(rep, ascii=args.ascii))
    return EXIT_OK


def report_main(argv: list[str]) -> int:
    """``warroom report [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--json] [--ascii]``"""
    return run_command(_report, _report_parser().parse_args(argv))


__all__ = ["export_main", "import_main", "report_main"]
