"""Text is data, never terminal control.

Everything people type travels to other people's terminals: the TUI, ``warroom show``, the
Markdown export, a comms draft pasted into a chat. A title carrying ``ESC ] 52 ; c ; …`` (an
OSC 52 clipboard write) or a cursor movement would run in every one of them, and a
right-to-left override makes ``txt.exe`` read as ``exe.txt``. So, in three places:

* **at creation** (``clean``): escape sequences are removed, other control characters
  dropped, line breaks normalised — a pasted coloured log line becomes plain text;
* **at the edges that accept events from others** (``unsafe_in``): the server and the
  importer refuse events that still carry them;
* **at every output** (``safe``, ``safe_line``, ``safe_name``): whatever slipped through
  (an old journal, an old server) is shown as a visible symbol (``␛``, ``<U+202E>``), never
  sent to the terminal.

Names (users, roles) are compared by people at a glance, so they get stricter rules
(``normalize_name``): NFKC-normalised, no invisible characters, no mixing of Latin with
look-alike Cyrillic or Greek letters, and no spelling that only looks like a core role.

Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional formatting
# characters (marks, embeddings, overrides, isolates) used to reorder what a reader sees.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_CHARS = "\x00-\x08\x0b-\x1f\x7f-\x9f" + _BIDI
_UNSAFE = re.compile(f"[{_UNSAFE_CHARS}]")
_UNSAFE_LINE = re.compile(f"[{_UNSAFE_CHARS}\t\n]")
# Escape sequences removed whole at creation, so no stray "[2J" is left behind: CSI
# (ESC [ … final byte), OSC/DCS/APC/PM/SOS strings (up to BEL or ESC \), two-byte ESC x,
# and their 8-bit C1 forms.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x9d\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# Invisible characters that change nothing on screen but make two names different:
# zero-width space/joiners, word joiner, BOM, soft hyphen, and every other format (Cf) char.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")

_CONTROL_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)}
_CONTROL_PICTURES[0x7F] = "\u2421"  # ␡


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code in _CONTROL_PICTURES:
        return _CONTROL_PICTURES[code]
    return f"<U+{code:04X}>"


def safe(text: str) -> str:
    """For output: every control or bidi character shown as a visible symbol (``␛``,
    ``<U+202E>``); newlines and tabs kept. Costs one regex search when the text is clean."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_visible, text)


def safe_line(text: str) -> str:
    """For one-line output (a table row, a list line): as ``safe`` and line breaks shown as
    ``⏎``, tabs as a space, so a text cannot fake a row of its own."""
    if not _UNSAFE_LINE.search(text):
        return text
    return _UNSAFE_LINE.sub(
        lambda m: "⏎ " if m.group() == "\n" else (" " if m.group() == "\t" else _visible(m)), text
    )


@lru_cache(maxsize=4096)  # names repeat on every entry: look each up once
def safe_name(text: str) -> str:
    """For names on output: as ``safe_line``, and invisible characters shown too, so
    ``Incident Commander`` and ``Incident Commander<U+200B>`` never look the same."""
    text = safe_line(text)
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub(_visible, text)
    return text


def clean(text: str, *, multiline: bool = True) -> str:
    """For input: escape sequences removed, other control characters dropped, CR LF and CR
    turned into LF (or, with ``multiline=False``, every line break and tab into a space)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text or _UNSAFE.search(text):
        text = _ESCAPE_SEQUENCE.sub("", text)
        text = _UNSAFE.sub("", text)
    if not multiline and ("\n" in text or "\t" in text):
        text = text.replace("\n", " ").replace("\t", " ")
    return text


def describe_char(char: str) -> str:
    code = ord(char)
    name = unicodedata.name(char, "")
    if code == 0x1B:
        name = "ESCAPE"
    elif not name and (code < 0x20 or 0x7F <= code <= 0x9F):
        name = "control character"
    return f"U+{code:04X} {name}".rstrip()


def unsafe_char(text: str) -> str | None:
    """The first control/bidi character of ``text``, described; None when there is none."""
    found = _UNSAFE.search(text)
    return describe_char(found.group()) if found else None


def unsafe_in(value: Any, where: str = "") -> str | None:
    """Where in a JSON-like value (an event, a payload) a string carries a control or bidi
    character, as a sentence; None when every string is clean."""
    if isinstance(value, str):
        problem = unsafe_char(value)
        if problem:
            return f"{where or 'text'} contains {problem} (terminal control characters are not accepted)"
        return None
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        problem = unsafe_in(item, f"{where}.{key}" if where else str(key))
        if problem:
            return problem
    return None


# --- names ----------------------------------------------------------------------------------

# Letters that look like Latin ones (the common homoglyphs of Cyrillic and Greek), mapped to
# the Latin letter they imitate: enough to recognise "ІС" or "Іncident Commander".
_LOOKALIKES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеіјорсухѕԁӏɡΑΒΕΖΗΙΚΜΝΟΡΤΥΧορνικ",
    "ABESIJKMHOPCTXYaeijopcyxsdlgABEZHIKMNOPTYXopvik",
)


def _script(char: str) -> str | None:
    """LATIN, CYRILLIC, GREEK… for a letter; None for anything else."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else None


class NameRefused(ValueError):
    """A name that people could not tell apart from another (or could not see)."""


def normalize_name(name: str, *, what: str = "name", lookalike_of: Iterable[str] = ()) -> str:
    """A user or role name as stored: NFKC-normalised (full-width letters, ligatures and
    such become their plain forms), whitespace collapsed. Raises ``ValueError`` (with a
    sentence) for control or invisible characters, for a name mixing Latin with Cyrillic or
    Greek letters, and for one that merely looks like one of ``lookalike_of``."""
    problem = unsafe_char(name)
    if problem:
        raise NameRefused(f"the {what} contains {problem}; type it without control characters")
    invisible = _INVISIBLE.search(name)
    if invisible:
        raise NameRefused(
            f"the {what} {safe_name(name)!r} contains an invisible character "
            f"({describe_char(invisible.group())}); type it again without it"
        )
    normalized = " ".join(unicodedata.normalize("NFKC", name).split())
    scripts = {script for script in map(_script, normalized) if script}
    if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
        others = " and ".join(sorted(scripts - {"LATIN"})).lower()
        raise NameRefused(
            f"the {what} {normalized!r} mixes Latin and {others} letters that look alike; "
            "type it in one alphabet"
        )
    skeleton = normalized.translate(_LOOKALIKES).casefold()
    for known in lookalike_of:
        if skeleton == known.casefold() and normalized.casefold() != known.casefold():
            raise NameRefused(
                f"the {what} {normalized!r} only looks like {known!r} (it uses other letters); "
                f"type {known!r} itself"
            )
    return normalized


def name_problem(name: str, *, what: str = "name", lookalike_of: Iterable[str] = ()) -> str | None:
    """Why ``name`` is not acceptable as stored (not normalised, or refused); None if it is."""
    try:
        normalized = normalize_name(name, what=what, lookalike_of=lookalike_of)
    except ValueError as exc:
        return str(exc)
    if normalized != " ".join(name.split()):
        return f"the {what} {safe_name(name)!r} is not in its normal form ({normalized!r})"
    return None
