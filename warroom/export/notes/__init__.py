"""Reading timelines as people write them: times and dates (``when``), zones (``zones``),
line and cell clean-up (``clean``), Markdown tables (``tables``) and the preview shown before
anything is imported (``preview``). ``warroom.export.importer`` puts them together."""
