"""``warroom import NOTES --incident ID``: the preview, the confirmation and the import.

In a terminal the preview (every entry as ``line → time (zone) → UTC → kind → text``, the
lines that are not entries, every rule applied, the lines that cannot be read) is shown and
nothing is written until the person says yes. ``--dry-run`` shows it and writes nothing;
``--yes`` (or a pipe) skips the question, and every notice still goes to stderr, so a guess
is never applied silently.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from warroom.cli.common import EXIT_OK, EXIT_REFUSED, CliError, after_write, open_desk, record
_MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdx", ".mkd"}
_PLAIN_SUFFIXES = {".txt", ".text", ".log"}


def add_note_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="show the preview and import nothing")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before importing (a pipe never asks)")
    parser.add_argument(
        "--markup",
        choices=("auto", "markdown", "plain"),
        default="auto",
        help="the text is Markdown (kept as Markdown in exports) or plain text; auto: by the file "
        "name (.md, .txt), else by what the text looks like",
    )


def _markdown_wanted(args) -> bool | None:
    if args.markup != "auto":
        return args.markup == "markdown"
    suffix = Path(args.file).suffix.lower() if args.file != "-" else ""
    if suffix in _MARKDOWN_SUFFIXES:
        return True
    if suffix in _PLAIN_SUFFIXES:
        return False
    return None


def _confirm(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def import_notes(args, text: str, zone) -> int:
    from warroom.domain.ids import short_id
    from warroom.export.importer import build_events, parse_notes
    from warroom.export.notes.preview import one_line, render_preview

    desk = open_desk(args)
    incident = desk.get(args.incident)
    result = parse_notes(text, now=desk.now(), default_date=args.date, tz=zone, markdown=_markdown_wanted(args))
    name = "stdin" if args.file == "-" else Path(args.file).name
    preview = render_preview(
        entries=result.entries,
        skipped=result.skipped,
        notices=result.notices,
        errors=result.errors,
        markdown=result.markdown,
        heading=f"Import of {one_line(name, 60)} into {short_id(incident.id)} ({one_line(incident.title, 60)})",
        skip_bad=args.skip_bad,
    )
    refused = bool(result.errors) and not args.skip_bad
    if args.dry_run:
        sys.stdout.write(preview)
        return EXIT_REFUSED if refused or not result.entries else EXIT_OK
    interactive = not args.yes and args.file != "-" and sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        sys.stdout.write(preview)
    else:
        for error in result.errors:
            prefix = "skipped " if args.skip_bad else ""
            print(f"{prefix}line {error.line_no}: {error.reason}", file=sys.stderr)
        for notice in result.notices:
            where = f"line {notice.line_no}: " if notice.line_no else ""
            print(f"warroom: note: {where}{notice.message}", file=sys.stderr)
    if refused:
        raise CliError(
            f"{len(result.errors)} line(s) cannot be read, so nothing was imported: fix them, "
            f"or pass --skip-bad to import the {len(result.entries)} readable one(s)"
        )
    if not result.entries:
        raise CliError(f"no timeline entries found in {args.file}")
    if interactive and not _confirm(
        f"Import {len(result.entries)} entr{'y' if len(result.entries) == 1 else 'ies'} into {short_id(incident.id)}? [y/N] "
    ):
        raise CliError("nothing imported")
    events, duplicates = build_events(desk.workspace.factory, incident, result, skip_bad=args.skip_bad)
    if events:
        record(desk, events)
    already = f" ({duplicates} already on the timeline)" if duplicates else ""
    print(f"imported {len(events)} entr{'y' if len(events) == 1 else 'ies'} into {short_id(incident.id)}{already}")
    _metrics_hint(incident, result.entries)
    if events:
        after_write(desk.workspace, args)
    return EXIT_OK


def _metrics_hint(incident, entries) -> None:
    """An incident declared now for a timeline of long ago would report 'time to declare:
    years': say how to set when it was really declared."""
    from warroom.domain.ids import short_id
    from warroom.domain.models import Milestone

    if not entries or incident.declared_at is None or Milestone.DECLARED in incident.milestones_set:
        return
    first = min(entry.at for entry in entries)
    if incident.declared_at - first > timedelta(hours=12):
        print(
            f"warroom: note: the timeline now starts {first:%Y-%m-%d %H:%M} UTC but the incident was "
            f"declared {incident.declared_at:%Y-%m-%d %H:%M} UTC; set when it really was with "
            f"`warroom milestone {short_id(incident.id)} declared YYYY-MM-DDTHH:MMZ` (and detected, "
            "mitigated, resolved) so its metrics are right",
            file=sys.stderr,
        )


__all__ = ["add_note_options", "import_notes"]
