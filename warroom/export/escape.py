"""Plain text as GitHub Markdown that renders as typed: inline text, table cells, paragraphs
and headings (see the notes below). Pure."""

from __future__ import annotations

import re

from warroom.domain.text import safe


# --- escaping ---------------------------------------------------------------------------------
#
# Plain text must render as typed on GitHub, inside table cells and in paragraphs:
#
# * ``|`` becomes ``\|`` (it would end the table cell); CR/LF newlines become ``<br>`` (a newline
#   would end the table row or the paragraph);
# * backslashes are doubled, so a text ending in ``\`` or holding ``\|`` cannot eat the escape
#   that follows it;
# * characters that start inline formatting are backslash-escaped: `` ` `` (code spans),
#   ``*`` (emphasis), ``[`` and ``]`` (links, images, footnotes), ``<`` (raw HTML and
#   autolinks; GitHub would drop ``<Foo>``), ``~`` (strikethrough), ``$`` (GitHub math);
# * ``_`` is escaped only where it could open or close emphasis, i.e. unless it sits between
#   two letters or digits, so ``payment_error_rate`` stays readable;
# * ``&`` is written ``&amp;`` only where it would start an entity (``&copy;``, ``&#169;``);
# * in paragraphs and list items (not in cells), a leading ``# ``, ``>``, ``- ``, ``--``, ``+ ``
#   or ``1. ``, which would make a heading, quote, list or rule, is escaped too; in headings
#   every ``#`` is.
#
# Left as they are, on purpose: bare URLs (GitHub links them, which is wanted), ``@name``
# mentions, ``#123`` references and ``:emoji:`` codes (GitHub processes those after Markdown,
# so escaping cannot stop them).

_NEEDS_ESCAPE = re.compile(r"[\\`*_\[\]<|~$&\r\n]")
# Each of these gets a backslash in front (the backslash itself first, so the ones added are
# not doubled). A few ``str.replace`` calls run in C; ``str.translate`` with a mapping calls
# back into Python per character, six times slower on a 100,000-row timeline.
_BACKSLASHED = ("\\", "`", "*", "[", "]", "<", "|", "~", "$")
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_NEWLINES = re.compile(r"\r\n|\r|\n")
# What would turn a paragraph's first characters into a heading, quote, list or rule.
_BLOCK_START = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+](?=\s|$)|-(?=-)|\d{1,9}(?=[.)](?:\s|$)))")


def escape_inline(text: str) -> str:
    """Plain text as GitHub Markdown that renders as typed, on one line (see above).
    Control characters and escapes come out as visible symbols: the file will be read in
    terminals and pasted into chats."""
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    text = safe(text.strip())
    if not _NEEDS_ESCAPE.search(text):
        return text
    for char in _BACKSLASHED:
        if char in text:
            text = text.replace(char, "\\" + char)
    if "_" in text:
        text = _UNDERSCORE.sub(r"\\_", text)
    if "&" in text:
        text = _ENTITY.sub("&amp;", text)
    if "\r" in text or "\n" in text:
        text = _NEWLINES.sub("<br>", text)
    return text


def escape_cell(text: str) -> str:
    """Text for a table cell: escaped inline text (a newline is ``<br>``, ``|`` is ``\\|``)."""
    return escape_inline(text)


def escape_paragraph(text: str) -> str:
    """Text for a paragraph of its own: inline escapes, plus a leading block marker."""
    text = escape_inline(text)
    match = _BLOCK_START.match(text)
    if match:
        if match.group(0).isdigit():  # "1. x" would start a numbered list
            end = match.end()
            text = text[:end] + "\\" + text[end:]
        else:
            text = "\\" + text
    return text


# Markdown written by people (an imported postmortem timeline) is kept as Markdown: only
# what would break the table row or smuggle raw HTML in is changed. A ``|`` not already
# escaped would end the cell, a newline the row; ``<tag`` becomes ``&lt;tag`` (autolinks such
# as ``<https://…>`` stay links).
_UNESCAPED_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])(?![A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>)")


def markdown_cell(text: str) -> str:
    """Markdown text for a table cell or list item: its formatting kept, on one line."""
    text = _UNESCAPED_PIPE.sub(r"\1\\|", text.strip())
    text = _HTML_START.sub("&lt;", text)
    return _NEWLINES.sub("<br>", text)


def escape_heading(text: str) -> str:
    return escape_inline(text).replace("#", "\\#")
