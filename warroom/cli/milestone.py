"""``warroom milestone INCIDENT [NAME WHEN]``: show an incident's milestones, or set one.

An incident declared today for a timeline imported from last year would report "time to
declare: a year"; setting ``declared`` (and ``detected``, ``acknowledged``, ``mitigated``,
``resolved``) to when they really happened makes its metrics true. The order is checked
(mitigated cannot precede detected…) and the change is logged on the timeline like any other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from warroom.cli.common import (
    EXIT_OK,
    CliError,
    add_time_zone_option,
    after_write,
    open_desk,
    record,
    refuse_what_the_server_would,
    run_command,
    zone,
)


def _parser() -> argparse.ArgumentParser:
    from warroom.domain.models import Milestone

    parser = argparse.ArgumentParser(
        prog="warroom milestone",
        description="Show an incident's milestones and metrics, or set a milestone's time "
        "(detected, acknowledged, declared, mitigated, resolved).",
    )
    parser.add_argument("--data-dir", default=None, help="incident journals directory (env WARROOM_DATA_DIR)")
    parser.add_argument("--as", dest="user", metavar="NAME", default=None, help="your name on the timeline (env WARROOM_USER)")
    parser.add_argument("--server", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--theme", default=None, help=argparse.SUPPRESS)
    parser.add_argument("incident", help="incident id or short id")
    parser.add_argument("milestone", nargs="?", choices=[m.value for m in Milestone], help="the milestone to set")
    parser.add_argument("when", nargs="?", help="HH:MM (today, in --tz) or ISO 8601, e.g. 2017-01-31T18:20Z")
    add_time_zone_option(parser)
    return parser


def _show(desk, incident) -> None:
    from warroom.domain.models import Milestone, format_duration

    known = incident.milestones
    for milestone in Milestone:
        at = known.get(milestone)
        source = "set by hand" if milestone in incident.milestones_set else "automatic" if at else "not recorded"
        when = f"{at:%Y-%m-%d %H:%M:%S} UTC" if at else "—"
        print(f"{milestone.value:<13} {when:<24} {source}")
    metrics = desk.metrics(incident.id)
    for label, seconds in (
        ("time to acknowledge", metrics.time_to_acknowledge),
        ("time to declare", metrics.time_to_declare),
        ("time to mitigate", metrics.time_to_mitigate),
        ("time to resolve", metrics.time_to_resolve),
    ):
        print(f"{label:<20} {format_duration(seconds) if seconds is not None else '—'}")


def _milestone(args) -> int:
    from warroom.domain.models import Milestone

    if args.data_dir is not None:
        args.data_dir = Path(args.data_dir)
    desk = open_desk(args)
    incident = desk.get(args.incident)
    if args.milestone is None:
        _show(desk, incident)
        return EXIT_OK
    if args.when is None:
        raise CliError(f"when was the incident {args.milestone}? give a time: HH:MM (today, in --tz) or ISO 8601")
    events = desk.set_milestone(incident.id, Milestone(args.milestone), args.when, zone(args.tz))
    refuse_what_the_server_would(desk, args, events)
    record(desk, events)
    print(f"{args.milestone}: {events[0].at:%Y-%m-%d %H:%M:%S} UTC", file=sys.stderr)
    after_write(desk.workspace, args)
    return EXIT_OK


def milestone_main(argv: list[str]) -> int:
    """``warroom milestone INCIDENT [NAME WHEN]``"""
    return run_command(_milestone, _parser().parse_args(argv))


__all__ = ["milestone_main"]
