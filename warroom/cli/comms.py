"""``warroom comms list | render INCIDENT TEMPLATE``: comms templates filled from live state."""

from __future__ import annotations

import argparse

from warroom.cli.common import EXIT_OK, add_common_options, load_config, open_desk, warn_library_problem


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="warroom comms", description="Fill comms templates from live incident state.")
    add_common_options(parser, top_level=True)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="list the templates")
    render_parser = sub.add_parser("render", help="print a template filled from the incident's state")
    add_common_options(render_parser)
    render_parser.add_argument("incident")
    render_parser.add_argument("template", help="template id (file name without extension)")
    args = parser.parse_args(argv)
    if args.action == "list":  # needs no incidents: the data dir is not opened
        from warroom.desk import Library

        for template in Library(load_config(), on_problem=warn_library_problem).templates.values():
            print(f"{template.id:<16} {template.channel.value:<12} {template.name}")
        return EXIT_OK
    print(open_desk(args).render(args.incident, args.template), end="")
    return EXIT_OK
