"""How domain values look on screen: severity badges, kind glyphs, status words.

Severity and kind are never shown by colour alone: every badge carries its text and every
kind its own glyph, so the screen reads the same in monochrome or to a colour-blind eye.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from warroom.domain.models import EntryKind, Severity, Status

SEVERITY_STYLES: dict[Severity, Style] = {
    Severity.SEV1: Style(color="#ffffff", bgcolor="#c62828", bold=True),
    Severity.SEV2: Style(color="#000000", bgcolor="#ef6c00", bold=True),
    Severity.SEV3: Style(color="#000000", bgcolor="#f9a825", bold=True),
    Severity.SEV4: Style(color="#ffffff", bgcolor="#1565c0", bold=True),
}

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
    EntryKind.HYPOTHESIS: "?",
    EntryKind.TODO: "☐",
    EntryKind.DECLARED: "⚑",
    EntryKind.SEVERITY: "▲",
    EntryKind.STATUS: "●",
    EntryKind.TITLE: "≡",
    EntryKind.ROLE: "@",
    EntryKind.SUMMARY: "≡",
    EntryKind.IMPACT: "≡",
    EntryKind.UPDATE: "●",
    EntryKind.RUNBOOK: "≣",
    EntryKind.CHECKLIST: "✔",
    EntryKind.COMMS: "✉",
    EntryKind.COMPONENT: "◉",
    EntryKind.ACTION_ITEM: "▣",
    EntryKind.MILESTONE: "★",
    EntryKind.POSTMORTEM: "✎",
}

KIND_STYLES: dict[EntryKind, Style] = {
    EntryKind.NOTE: Style(),
    EntryKind.DECISION: Style(color="#ffd740", bold=True),
    EntryKind.ACTION: Style(color="#69f0ae", bold=True),
    EntryKind.HYPOTHESIS: Style(color="#b388ff", bold=True),
    EntryKind.TODO: Style(color="#40c4ff", bold=True),
}
AUTOMATIC_STYLE = Style(color="#90a4ae", italic=True)


def severity_badge(severity: Severity, *, long: bool = False) -> Text:
    label = f" {severity.value} {severity.info.label.upper()} " if long else f" {severity.value} "
    return Text(label, style=SEVERITY_STYLES[severity])


def status_text(status: Status) -> Text:
    return Text(f"{STATUS_GLYPHS[status]} {status.value}", style=STATUS_STYLES[status])


def kind_glyph(kind: EntryKind) -> str:
    return KIND_GLYPHS.get(kind, "·")


def kind_style(kind: EntryKind) -> Style:
    return AUTOMATIC_STYLE if kind.is_automatic else KIND_STYLES[kind]
