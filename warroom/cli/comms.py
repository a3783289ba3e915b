"""``warroom comms list | render | send | outbox | retry``: comms templates filled from live
state, and updates that really go out.

``send`` fills a template (or takes ``--text-file``), saves it as a draft version and sends
it: through the channel's destination when the config has one (queued to the outbox first,
then tried with backoff until delivered or failed; each attempt is printed), else recorded
as sent by hand. ``outbox`` lists deliveries and their attempts; ``retry`` queues a failed
one again with its text unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from warroom.cli.common import EXIT_OK, EXIT_REFUSED, CliError, add_common_options, after_write, load_config, open_desk, record, warn_library_problem


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="warroom comms", description="Fill comms templates from live incident state; send updates.")
    add_common_options(parser, top_level=True)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="list the templates")
    render_parser = sub.add_parser("render", help="print a template filled from the incident's state")
    add_common_options(render_parser)
    render_parser.add_argument("incident")
    render_parser.add_argument("template", help="template id (file name without extension)")
    send = sub.add_parser("send", help="send an update to a channel (delivered when the channel has a destination)")
    add_common_options(send)
    send.add_argument("incident")
    send.add_argument("template", help="template id: filled from live state unless --text-file is given")
    send.add_argument("--channel", help="internal, status-page, customers or exec (default: the template's)")
    send.add_argument("--text-file", type=Path, help="send this file's text instead ('-' reads stdin)")
    outbox = sub.add_parser("outbox", help="deliveries and each attempt's result")
    add_common_options(outbox)
    outbox.add_argument("incident", nargs="?", help="only this incident's")
    outbox.add_argument("--json", action="store_true")
    retry = sub.add_parser("retry", help="send a failed delivery again (same text, same delivery id)")
    add_common_options(retry)
    retry.add_argument("delivery", help="delivery id or its last 8 digits (see warroom comms outbox)")
    args = parser.parse_args(argv)
    if args.action == "list":  # needs no incidents: the data dir is not opened
        from warroom.desk import Library

        for template in Library(load_config(), on_problem=warn_library_problem).templates.values():
            print(f"{template.id:<16} {template.channel.value:<12} {template.name}")
        return EXIT_OK
    if args.action == "render":
        print(open_desk(args).render(args.incident, args.template), end="")
        return EXIT_OK
    return {"send": _send, "outbox": _outbox, "retry": _retry}[args.action](args)


def _channel(text: str):
    from warroom.domain.models import CommsChannel

    cleaned = " ".join(text.lower().replace("-", " ").replace("_", " ").split())
    try:
        return CommsChannel(cleaned)
    except ValueError:
        names = ", ".join(c.value.replace(" ", "-") for c in CommsChannel)
        raise CliError(f"unknown channel {text!r}: use {names}") from None


def _send(args) -> int:
    desk = open_desk(args)
    incident = desk.get(args.incident)
    template = desk.library.template(args.template)
    channel = _channel(args.channel) if args.channel else template.channel
    if args.text_file is None:
        text = desk.render(incident.id, template.id)
    elif str(args.text_file) == "-":
        text = sys.stdin.read()
    else:
        try:
            text = args.text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {args.text_file}: {exc}") from None
    bases = [head.id for head in incident.draft_heads(template.id)]
    record(desk, desk.save_draft(incident.id, template.id, text, bases, send_to=channel))
    if not desk.delivers(channel):
        print(f"warroom: recorded as sent to {channel.value} (no destination for it in the config)", file=sys.stderr)
        after_write(desk.workspace, args)
        return EXIT_OK
    delivery = desk.send(incident.id, template.id, channel, text)
    print(f"warroom: queued {delivery.id[-8:]} for {channel.value} via {delivery.destination}", file=sys.stderr)
    return _deliver(desk, delivery.id, args)


def _deliver(desk, delivery_id: str, args) -> int:
    from warroom.store.deliveries import DeliveryState

    service = desk.deliveries
    service.on_change = lambda d: _say_attempt(d) if d.attempts and d.id == delivery_id else None
    done = service.deliver(delivery_id)
    after_write(desk.workspace, args)
    if done.state is DeliveryState.DELIVERED:
        return EXIT_OK
    print(f"warroom: not delivered; the text is kept in the outbox (warroom comms retry {done.id[-8:]})", file=sys.stderr)
    return EXIT_REFUSED


def _say_attempt(delivery) -> None:
    from warroom.store.deliveries import describe

    print(f"warroom: {describe(delivery)}", file=sys.stderr)


def _outbox(args) -> int:
    from warroom.store.deliveries import DeliveryOutbox, as_json, describe

    desk = open_desk(args)
    deliveries, problems = DeliveryOutbox(desk.workspace.data_dir).all()
    for problem in problems:
        print(f"warroom: warning: {problem}", file=sys.stderr)
    if args.incident:
        incident_id = desk.get(args.incident).id
        deliveries = [d for d in deliveries if d.incident_id == incident_id]
    if args.json:
        print(json.dumps([as_json(d) for d in deliveries], indent=2))
        return EXIT_OK
    if not deliveries:
        print("no deliveries")
    for delivery in deliveries:
        print(f"{delivery.id[-8:]}  {delivery.queued_at:%Y-%m-%d %H:%M:%S}  {delivery.incident_id[-8:]}  {describe(delivery)}")
        for number, attempt in enumerate(delivery.attempts, start=1):
            print(f"          attempt {number} {attempt.at:%H:%M:%S}  {'ok' if attempt.ok else 'failed'}  {attempt.detail}")
    return EXIT_OK


def _retry(args) -> int:
    desk = open_desk(args)
    try:
        delivery = desk.deliveries.outbox.find(args.delivery)
        desk.deliveries.retry(delivery.id)
    except (KeyError, ValueError) as exc:
        raise CliError(str(exc).strip("'\"")) from None
    return _deliver(desk, delivery.id, args)
