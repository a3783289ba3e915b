"""Getting incidents out of (and timelines into) warroom.

* ``markdown.to_markdown``: a blameless postmortem draft in GitHub Markdown;
* ``jsonio.export_json`` / ``import_json``: every event of an incident, losslessly;
* ``importer.parse_notes`` / ``build_events``: timelines as people write them (read by the
  ``notes`` package) as backdated entries, with a preview (``notes.preview``);
* ``report``: counts, MTTA and MTTR by SEV over a date range.

Everything here is pure (no files, no clock, no Textual); the commands ``warroom export``,
``warroom import`` (``warroom.cli.timeline_import`` for timelines), ``warroom report`` and
``warroom milestone`` live in ``warroom.cli``.
"""
