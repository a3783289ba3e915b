"""Getting incidents out of (and notes into) warroom: issue 6.

* ``markdown.to_markdown``: a blameless postmortem draft in GitHub Markdown;
* ``jsonio.export_json`` / ``import_json``: every event of an incident, losslessly;
* ``importer.parse_notes`` / ``build_events``: timeline notes as backdated entries;
* ``report``: counts, MTTA and MTTR by SEV over a date range;
* ``cli``: ``warroom export``, ``warroom import`` and ``warroom report``.

Everything but ``cli`` is pure (no files, no clock, no Textual). Nothing is imported here, so
``import warroom.export.cli`` stays as light as the CLI needs.
"""
