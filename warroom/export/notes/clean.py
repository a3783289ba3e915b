"""Taking a timeline line apart: list markers, headings and quotes before the time, emphasis or
brackets around it (``**14:32**``, ``[14:32]``), HTML entities, and what is left of the text.

Markdown in the text is kept as Markdown; only the debris around the time goes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from warroom.export.notes.when import Stamp, scan

_HEADING = re.compile(r"^\s{0,3}(?P<marks>#{1,6})(?:\s+|$)")
_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_LIST_MARKER = re.compile(r"^(?:[-*+•·]|\d{1,3}[.)]|\(\d{1,3}\))\s+(?:\[[ xX]\]\s+)?")
_RULE = re.compile(r"^\s*(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|(?:=\s*){3,})$")
_SEPARATOR = re.compile(r"^\s*(?:[-–—:|=>→•·]+|,)?\s*")
_TRAILING_BREAKS = re.compile(r"(?:\s*(?:<br\s*/?>|\\))+\s*$", re.IGNORECASE)
_WRAPPERS = (("**", "**"), ("__", "__"), ("*", "*"), ("_", "_"), ("`", "`"), ("[", "]"), ("(", ")"))
_SPACES = str.maketrans({"\u00a0": " ", "\u2007": " ", "\u202f": " ", "\t": "    "})
# Text is data: terminal escapes and bidi overrides in a pasted timeline must not reach a
# terminal later, so they become spaces when the entry is made.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Line:
    """A source line with its Markdown block markers taken off."""

    text: str
    """What follows the markers (entities decoded, outer spaces removed)."""
    indent: int
    """Columns of leading space before any marker."""
    heading: bool = False
    list_item: bool = False
    quote: bool = False
    rule: bool = False


def decode(text: str) -> str:
    """HTML entities decoded (``S&amp;O`` is ``S&O``) and odd spaces made plain."""
    if "&" in text:
        text = html.unescape(text)
    return _UNSAFE.sub(" ", text.translate(_SPACES))


def take_apart(raw: str) -> Line:
    text = decode(raw).rstrip()
    indent = len(text) - len(text.lstrip(" "))
    text = text.strip()
    if _RULE.match(text):
        return Line("", indent, rule=True)
    heading = _HEADING.match(text)
    if heading:
        return Line(text[heading.end():].rstrip("# ").strip(), indent, heading=True)
    quote = _QUOTE.match(text)
    if quote:
        text = text[quote.end():]
    marker = _LIST_MARKER.match(text)
    if marker:
        text = text[marker.end():]
    return Line(text.strip(), indent, list_item=marker is not None, quote=quote is not None)


def find_stamp(text: str) -> tuple[Stamp, str] | None:
    """The date/time a line starts with and the text after it, looking inside emphasis,
    code spans and brackets around the time (``**14:32 UTC** - …``, ``[14:32] …``)."""
    for opening, closing in _WRAPPERS:
        if not text.startswith(opening):
            continue
        end = text.find(closing, len(opening))
        if end < 0:
            continue
        inner = text[len(opening):end]
        stamp = scan(inner)
        if stamp is None:
            continue
        after = text[end + len(closing):]
        if not inner[stamp.end:].strip():
            return stamp, _SEPARATOR.sub("", after, count=1)
        if not after.strip() and opening in ("**", "__", "*", "_"):
            # The whole line emphasised: keep the emphasis on the text.
            return stamp, f"{opening}{inner[stamp.end:].strip()}{closing}"
    stamp = scan(text)
    if stamp is None:
        return None
    return stamp, text[stamp.end:]


def finish(text: str) -> str:
    """The entry text without trailing hard breaks and outer spaces."""
    return _TRAILING_BREAKS.sub("", text).strip()


_CELL_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PIPE = re.compile(r"\\\|")


def plain_cell(cell: str) -> str:
    """A cell as plain text: ``<br>`` is a newline, ``\\x`` is ``x``, entities decoded."""
    return decode(_CELL_UNESCAPE.sub(r"\1", _BR.sub("\n", cell))).strip()


def markdown_cell_text(cell: str) -> str:
    """A cell as Markdown: only what the table itself needed (``\\|``, ``<br>``) is undone, and
    entities decoded; emphasis, code and links stay."""
    return decode(_PIPE.sub("|", _BR.sub("\n", cell))).strip()


def bare(cell: str) -> str:
    """A cell without emphasis, code marks or surrounding spaces (``**14:32**`` → ``14:32``)."""
    text = plain_cell(cell)
    changed = True
    while changed and len(text) >= 2:
        changed = False
        for opening, closing in _WRAPPERS[:5]:
            if text.startswith(opening) and text.endswith(closing) and len(text) > len(opening) + len(closing):
                text = text[len(opening):-len(closing)].strip()
                changed = True
                break
    return text


__all__ = ["Line", "bare", "decode", "find_stamp", "finish", "markdown_cell_text", "plain_cell", "take_apart"]
