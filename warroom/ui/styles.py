"""How domain values look on screen: severity badges, kind glyphs, status words.

Severity and kind are never shown by colour alone: every badge carries its text and every
kind its own glyph, so the screen reads the same in monochrome or to a colour-blind eye.

Colours come from the app's current theme when it defines them (``sev1``, ``sev1-foreground``,
``status-resolved``, ``kind-decision``… in the theme's ``[variables]``; see
``warroom.ui.themes``); the tables below are the defaults. With ``NO_COLOR`` set, every style
here drops its colours and keeps (or gains) bold/reverse/underline, so a SEV1 badge still
stands out from a SEV4 one.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.color import Color, ColorParseError

from warroom.domain.models import EntryKind, Severity, Status

SEVERITY_STYLES: dict[Severity, Style] = {
    Severity.SEV1: Style(color="#ffffff", bgcolor="#c62828", bold=True),
    Severity.SEV2: Style(color="#000000", bgcolor="#ef6c00", bold=True),
    Severity.SEV3: Style(color="#000000", bgcolor="#f9a825", bold=True),
    Severity.SEV4: Style(color="#ffffff", bgcolor="#1565c0", bold=True),
}
"""Default badge colours (a theme's ``sevN`` / ``sevN-foreground`` variables override them)."""

NO_COLOR_SEVERITY_STYLES: dict[Severity, Style] = {
    Severity.SEV1: Style(bold=True, reverse=True, underline=True),
    Severity.SEV2: Style(bold=True, reverse=True),
    Severity.SEV3: Style(reverse=True),
    Severity.SEV4: Style(bold=True),
}
"""Badges under NO_COLOR: the text says which SEV; the weight says how loud."""

OVERDUE_STYLE = Style(color="#ffffff", bgcolor="#c62828", bold=True)
"""The UPDATE OVERDUE banner (theme variables ``overdue`` / ``overdue-foreground``)."""

# Every glyph below means one thing on the whole screen (the help screen's legend lists them):
# statuses and entry kinds never share a glyph.
STATUS_GLYPHS: dict[Status, str] = {
    Status.INVESTIGATING: "?",
    Status.IDENTIFIED: "!",
    Status.MONITORING: "~",
    Status.RESOLVED: "✔",
}

STATUS_STYLES: dict[Status, Style] = {
    Status.INVESTIGATING: Style(color="#ff8a80", bold=True),
    Status.IDENTIFIED: Style(color="#ffd180", bold=True),
    Status.MONITORING: Style(color="#80d8ff", bold=True),
    Status.RESOLVED: Style(color="#b9f6ca", bold=True),
}

KIND_GLYPHS: dict[EntryKind, str] = {
    EntryKind.NOTE: "•",
    EntryKind.DECISION: "◆",
    EntryKind.ACTION: "▶",
    EntryKind.HYPOTHESIS: "◇",  # an open diamond: a decision (◆) not yet taken
    EntryKind.TODO: "☐",
    EntryKind.DECLARED: "⚑",
    EntryKind.SEVERITY: "▲",
    EntryKind.STATUS: "●",
    EntryKind.TITLE: "≡",
    EntryKind.ROLE: "@",
    EntryKind.SUMMARY: "≡",
    EntryKind.IMPACT: "≡",
    EntryKind.UPDATE: "✱",
    EntryKind.RUNBOOK: "≣",
    EntryKind.CHECKLIST: "☑",
    EntryKind.COMMS: "✉",
    EntryKind.COMPONENT: "◉",
    EntryKind.ACTION_ITEM: "▣",
    EntryKind.MILESTONE: "★",
    EntryKind.POSTMORTEM: "✎",
    EntryKind.VERDICT: "⊨",
}

KIND_STYLES: dict[EntryKind, Style] = {
    EntryKind.NOTE: Style(),
    EntryKind.DECISION: Style(color="#ffd740", bold=True),
    EntryKind.ACTION: Style(color="#69f0ae", bold=True),
    EntryKind.HYPOTHESIS: Style(color="#b388ff", bold=True),
    EntryKind.TODO: Style(color="#40c4ff", bold=True),
}
AUTOMATIC_STYLE = Style(color="#90a4ae", italic=True)


def no_color() -> bool:
    """True when colours are off: ``NO_COLOR`` is set (and not empty, per no-color.org), or
    the running app turned colour off (Textual reads ``NO_COLOR`` when the app starts)."""
    if os.environ.get("NO_COLOR"):
        return True
    app = _active_app()
    return bool(app is not None and getattr(app, "no_color", False))


@dataclass(frozen=True)
class Palette:
    """Every style of this module, resolved for one theme (or for no colour)."""

    severity: dict[Severity, Style]
    status: dict[Status, Style]
    kind: dict[EntryKind, Style]
    automatic: Style
    overdue: Style


def _strip_colour(style: Style) -> Style:
    return Style(bold=style.bold, italic=style.italic, dim=style.dim, reverse=style.reverse, underline=style.underline)


_NO_COLOR_PALETTE = Palette(
    severity=NO_COLOR_SEVERITY_STYLES,
    status={status: Style(bold=True) for status in STATUS_STYLES},
    kind={kind: _strip_colour(style) for kind, style in KIND_STYLES.items()},
    automatic=Style(italic=True, dim=True),
    overdue=Style(bold=True, reverse=True),
)
_DEFAULT_PALETTE = Palette(SEVERITY_STYLES, STATUS_STYLES, KIND_STYLES, AUTOMATIC_STYLE, OVERDUE_STYLE)


def _readable_on(background: str) -> str:
    """Black or white text, whichever contrasts more with ``background``."""
    return "#000000" if Color.parse(background).brightness >= 0.5 else "#ffffff"


def _colour(variables: dict[str, str], name: str) -> str | None:
    value = variables.get(name)
    if not value:
        return None
    try:
        return Color.parse(value).hex6
    except ColorParseError:
        return None  # the theme loader checks these; a theme built in code might not


def palette_for(variables: dict[str, str]) -> Palette:
    """The styles for a theme with these ``[variables]`` (the defaults where it sets none)."""
    severity = dict(SEVERITY_STYLES)
    for sev in Severity:
        background = _colour(variables, sev.value.lower())
        if background is not None:
            foreground = _colour(variables, f"{sev.value.lower()}-foreground") or _readable_on(background)
            severity[sev] = Style(color=foreground, bgcolor=background, bold=True)
    status = dict(STATUS_STYLES)
    for state in Status:
        colour = _colour(variables, f"status-{state.value}")
        if colour is not None:
            status[state] = Style(color=colour, bold=True)
    kind = dict(KIND_STYLES)
    for entry_kind in KIND_STYLES:
        colour = _colour(variables, f"kind-{entry_kind.value}")
        if colour is not None:
            kind[entry_kind] = Style(color=colour, bold=True)
    automatic = AUTOMATIC_STYLE
    if (colour := _colour(variables, "automatic")) is not None:
        automatic = Style(color=colour, italic=True)
    overdue = OVERDUE_STYLE
    if (background := _colour(variables, "overdue")) is not None:
        overdue = Style(color=_colour(variables, "overdue-foreground") or _readable_on(background), bgcolor=background, bold=True)
    return Palette(severity, status, kind, automatic, overdue)


_palettes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""app → (theme name, Palette): resolved once per theme switch, not once per rendered line."""


def _active_app():
    from textual._context import active_app

    try:
        return active_app.get()
    except LookupError:
        return None


def palette(app=None) -> Palette:
    """The styles for ``app``'s current theme (default: the running app), honouring NO_COLOR."""
    if no_color():
        return _NO_COLOR_PALETTE
    app = app if app is not None else _active_app()
    if app is None:
        return _DEFAULT_PALETTE
    name = app.theme
    cached = _palettes.get(app)
    if cached is not None and cached[0] == name:
        return cached[1]
    theme = app.get_theme(name)
    resolved = palette_for(theme.variables) if theme is not None else _DEFAULT_PALETTE
    _palettes[app] = (name, resolved)
    return resolved


def forget_palette(app) -> None:
    """Drop ``app``'s cached palette (call after re-registering a theme under the same name)."""
    _palettes.pop(app, None)


def severity_style(severity: Severity) -> Style:
    return palette().severity[severity]


def overdue_style() -> Style:
    """The UPDATE OVERDUE banner; its text says it, the style only shouts."""
    return palette().overdue


def severity_badge(severity: Severity, *, long: bool = False) -> Text:
    label = f" {severity.value} {severity.info.label.upper()} " if long else f" {severity.value} "
    return Text(label, style=severity_style(severity))


def status_text(status: Status) -> Text:
    return Text(f"{STATUS_GLYPHS[status]} {status.value}", style=palette().status[status])


def glyph_legend() -> list[tuple[str, str]]:
    """(glyph, meaning) for every glyph the panes use, for the help screen."""
    rows = [(glyph, f"status: {status.value}") for status, glyph in STATUS_GLYPHS.items()]
    meanings: dict[str, list[str]] = {}
    for kind, glyph in KIND_GLYPHS.items():
        meanings.setdefault(glyph, []).append(kind.value)
    rows += [(glyph, "entry: " + " / ".join(kinds)) for glyph, kinds in meanings.items()]
    rows += [("☐ ☑ ↷", "checklist step: open / done / skipped"), ("$", "checklist: the step's command (c copies it)")]
    return rows


def kind_glyph(kind: EntryKind) -> str:
    return KIND_GLYPHS.get(kind, "·")


def kind_style(kind: EntryKind) -> Style:
    styles = palette()
    return styles.automatic if kind.is_automatic else styles.kind[kind]
