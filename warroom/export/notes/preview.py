"""The preview of an import: every entry as ``line → time (zone) → UTC → kind → text``, then
the lines that are not entries, every rule applied or guess taken, and the lines that cannot
be read. Shown by ``warroom import --dry-run`` and before the confirmation in a terminal."""

from __future__ import annotations

import re

from warroom.export.notes.items import NonEntry, NoteEntry, NoteError, Notice

_TEXT_WIDTH = 100
_WHEN_WIDTH = 44
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str, width: int = _TEXT_WIDTH) -> str:
    """Text for one preview line: newlines shown as ⏎, nothing a terminal would act on."""
    text = _UNPRINTABLE.sub(" ", text.replace("\n", " ⏎ "))
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


def _when(entry: NoteEntry) -> str:
    written = entry.written or entry.local
    return f"{one_line(written, 28)} ({entry.zone})"


def entry_lines(entries: list[NoteEntry]) -> list[str]:
    if not entries:
        return []
    width = min(_WHEN_WIDTH, max(len(_when(e)) for e in entries))
    return [
        f"{e.line_no:>5}  {_when(e):<{width}} → {e.at:%Y-%m-%d %H:%M} UTC → {e.kind.value:<10} → {one_line(e.text)}"
        for e in entries
    ]


def render_preview(
    *,
    entries: list[NoteEntry],
    skipped: list[NonEntry],
    notices: list[Notice],
    errors: list[NoteError],
    markdown: bool,
    heading: str,
    skip_bad: bool = False,
) -> str:
    """The whole preview, ending with a newline."""
    out = [heading, "Text read as " + ("Markdown (kept as Markdown in exports)." if markdown else "plain text."), ""]
    out.append(f"Entries ({len(entries)}): line  time as written (zone) → UTC → kind → text")
    out += entry_lines(entries) or ["    none"]
    if skipped:
        out += ["", f"Not entries ({_lines(len(skipped))}):"]
        out += [f"{s.line_no:>5}  {s.why}: {one_line(s.line.strip(), 70)}" for s in skipped]
    if notices:
        out += ["", f"Read this way ({len(notices)}; check them):"]
        out += [f"{n.line_no or '-':>5}  {n.message}" for n in notices]
    if errors:
        what = "skipped (--skip-bad)" if skip_bad else "nothing is imported until they are fixed, or pass --skip-bad"
        out += ["", f"Cannot be read ({_lines(len(errors))}; {what}):"]
        out += [f"{e.line_no:>5}  {e.reason}" + (f": {one_line(e.line.strip(), 60)}" if e.line.strip() else "") for e in errors]
    out += [
        "",
        f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {_lines(len(skipped))} not entries, "
        f"{len(notices)} notice(s), {len(errors)} error(s).",
    ]
    return "\n".join(out) + "\n"


__all__ = ["entry_lines", "one_line", "render_preview"]
