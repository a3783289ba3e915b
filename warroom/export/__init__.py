"""Getting incidents out of (and notes into) warroom.

* ``markdown.to_markdown``: a blameless postmortem draft in GitHub Markdown;
* ``jsonio.export_json`` / ``import_json``: every event of an incident, losslessly;
* ``importer.parse_notes`` / ``build_events``: timeline notes as backdated entries;
* ``report``: counts, MTTA and MTTR by SEV over a date range.

Everything here is pure (no files, no clock, no Textual); the commands ``warroom export``,
``warroom import`` and ``warroom report`` live in ``warroom.cli.export``.
"""
