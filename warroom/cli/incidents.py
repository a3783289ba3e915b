"""``warroom list | declare | log | set | assign | amend | redact | void | purge | show``: incidents from a
plain shell. Each command opens the desk, asks it for the change, journals it and tries one
push to the sync server."""

from __future__ import annotations

import argparse
import json

from warroom.cli.common import (
    EXIT_OK,
    CliError,
    add_common_options,
    add_time_zone_option,
    after_write,
    confirm_commander,
    echo_time,
    open_desk,
    parse_severity,
    parse_status,
    record,
    refuse_what_the_server_would,
    when,
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    lst = sub.add_parser("list", help="list incidents, active first")
    add_common_options(lst)
    lst.add_argument("--json", action="store_true")

    declare = sub.add_parser("declare", help="declare an incident; prints its id")
    add_common_options(declare)
    declare.add_argument("--title", required=True)
    declare.add_argument("--sev", help="1-4 or SEV1-SEV4 (default: the type's, else required)")
    declare.add_argument("--ic", help="incident commander (default: you)")
    declare.add_argument("--summary", default="")
    declare.add_argument("--impact", default="")
    declare.add_argument("--type", dest="incident_type", help="incident type, e.g. payments")
    declare.add_argument("--at", help="when it was declared, for an incident written up afterwards: HH:MM (today, in --tz) or ISO 8601")
    add_time_zone_option(declare)
    declare.add_argument("--yes", action="store_true", help="do not ask when the server knows no such IC")

    log = sub.add_parser("log", help="add a timeline entry")
    add_common_options(log)
    log.add_argument("incident")
    log.add_argument("text", nargs="+")
    log.add_argument("--at", help="when it happened: HH:MM (today, in --tz) or ISO 8601")
    add_time_zone_option(log)
    log.add_argument("--kind", default="note", help="note, decision, action, hypothesis, todo")

    setp = sub.add_parser("set", help="change severity, status or title")
    add_common_options(setp)
    setp.add_argument("incident")
    setp.add_argument("--sev")
    setp.add_argument("--status")
    setp.add_argument("--title")
    setp.add_argument("--summary")
    setp.add_argument("--impact")

    assign = sub.add_parser("assign", help="give a role to someone (ic, tech, comms, scribe or any name)")
    add_common_options(assign)
    assign.add_argument("incident")
    assign.add_argument("role")
    assign.add_argument("person")
    assign.add_argument("--yes", action="store_true", help="do not ask when the server knows no such user")

    amend = sub.add_parser("amend", help="replace an entry's text (history is kept)")
    add_common_options(amend)
    amend.add_argument("incident")
    amend.add_argument("entry")
    amend.add_argument("text", nargs="+")

    redact = sub.add_parser("redact", help="hide an entry's text (it stays in the journal)")
    add_common_options(redact)
    redact.add_argument("incident")
    redact.add_argument("entry")
    redact.add_argument("--reason", required=True)

    void = sub.add_parser("void", help="admin: take an accepted event out of the incident (the log keeps it)")
    add_common_options(void)
    void.add_argument("incident")
    void.add_argument("event", help="the event's id or short id (an automatic entry's id is its event's)")
    void.add_argument("--reason", required=True)

    purge = sub.add_parser("purge", help="admin: destroy a redacted entry's text everywhere")
    add_common_options(purge)
    purge.add_argument("incident")
    purge.add_argument("entry")
    purge.add_argument("--reason", required=True)

    show = sub.add_parser("show", help="an incident's state and timeline, oldest first")
    add_common_options(show)
    show.add_argument("incident")
    show.add_argument("--json", action="store_true")


def cmd_list(args) -> int:
    from warroom.domain.ids import short_id
    from warroom.domain.models import format_duration
    from warroom.domain.text import safe_line, safe_name

    desk = open_desk(args)
    incidents = desk.incidents()
    now = desk.now()
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
            f"{elapsed:>11}  {safe_line(incident.title)}  (IC: {safe_name(incident.commander or '—')})"
        )
    return EXIT_OK


def cmd_declare(args) -> int:
    desk = open_desk(args)
    kind = desk.library.incident_type(args.incident_type)
    if args.sev:
        severity = parse_severity(args.sev)
    elif kind is None or kind.severity is None:
        raise CliError("give --sev N (or a --type that has a default severity)")
    else:
        severity = kind.severity
    confirm_commander(desk.workspace, args, args.ic)
    events = desk.declare(
        title=args.title,
        severity=severity,
        commander=args.ic,
        summary=args.summary,
        impact=args.impact,
        incident_type=args.incident_type,
        at=when(desk, args.at, args.tz) if args.at else None,
    )
    record(desk, events)
    print(events[0].incident_id)
    if args.at:
        echo_time(desk, events[0].at, args.tz)
    after_write(desk.workspace, args)
    return EXIT_OK


def cmd_log(args) -> int:
    from warroom.domain.ids import short_id

    desk = open_desk(args)
    incident = desk.get(args.incident)
    kind = desk.entry_kind(args.kind)
    at = when(desk, args.at, args.tz) if args.at else None
    events = desk.log(incident.id, " ".join(args.text), kind, at)
    record(desk, events)
    print(short_id(events[0].id))
    if at is not None:
        echo_time(desk, events[0].at, args.tz)
    after_write(desk.workspace, args)
    return EXIT_OK


def _change(args, decide) -> int:
    """The shape of every command that changes one incident: open the desk, let it decide
    (it refuses what is not allowed, and so do the server's rules when a server is
    configured), journal the events, try one push."""
    desk = open_desk(args)
    events = decide(desk)
    refuse_what_the_server_would(desk, args, events)
    record(desk, events)
    after_write(desk.workspace, args)
    return EXIT_OK


def cmd_set(args) -> int:
    if not any((args.sev, args.status, args.title, args.summary, args.impact)):
        raise CliError("nothing to set: give --sev, --status, --title, --summary or --impact")
    severity = parse_severity(args.sev) if args.sev else None
    status = parse_status(args.status) if args.status else None
    return _change(
        args,
        lambda desk: desk.update(
            args.incident, severity=severity, status=status, title=args.title, summary=args.summary, impact=args.impact
        ),
    )


def cmd_assign(args) -> int:
    def decide(desk):
        events = desk.assign(args.incident, args.role, args.person)
        for event in events:
            confirm_commander(desk.workspace, args, event.payload.get("person"), event.payload.get("role", ""))
        return events

    return _change(args, decide)


def cmd_amend(args) -> int:
    return _change(args, lambda desk: desk.amend(args.incident, args.entry, " ".join(args.text)))


def cmd_redact(args) -> int:
    return _change(args, lambda desk: desk.redact(args.incident, args.entry, args.reason))


def cmd_void(args) -> int:
    return _change(args, lambda desk: desk.void(args.incident, args.event, args.reason))


def cmd_purge(args) -> int:
    return _change(args, lambda desk: desk.purge(args.incident, args.entry, args.reason))


def cmd_show(args) -> int:
    from warroom.domain.ids import short_id
    from warroom.domain.models import format_duration
    from warroom.domain.text import safe, safe_line, safe_name

    desk = open_desk(args)
    incident = desk.get(args.incident)
    if args.json:
        print(incident.model_dump_json(indent=2))
        return EXIT_OK
    now = desk.now()
    print(f"{incident.severity.value} {safe_line(incident.title)}")
    print(f"  id:       {incident.id} ({short_id(incident.id)})")
    print(f"  status:   {incident.status.value}")
    if incident.declared_at:
        print(f"  declared: {incident.declared_at:%Y-%m-%d %H:%M:%S} UTC by {safe_name(incident.declared_by or '—')}"
              f" ({format_duration(incident.elapsed_seconds(now))})")
    if incident.summary:
        print(f"  summary:  {safe(incident.summary)}")
    if incident.impact:
        print(f"  impact:   {safe(incident.impact)}")
    for role, person in incident.roles.items():
        print(f"  {safe_name(role)}: {safe_name(person or '—')}")
    print()
    for entry in incident.timeline:
        text = f"[redacted: {entry.revisions[-1].text}]" if entry.redacted else entry.text
        marks = " (amended)" if entry.amended and not entry.redacted else ""
        print(f"{entry.at:%Y-%m-%d %H:%M:%S}  {short_id(entry.id)}  {entry.kind.value:<10} "
              f"{safe_name(entry.actor):<12} {safe_line(text)}{marks}")
    return EXIT_OK


COMMANDS = {
    "list": cmd_list,
    "declare": cmd_declare,
    "log": cmd_log,
    "set": cmd_set,
    "assign": cmd_assign,
    "amend": cmd_amend,
    "redact": cmd_redact,
    "show": cmd_show,
    "void": cmd_void,
    "purge": cmd_purge,
}
