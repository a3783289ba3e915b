"""Confirming a change, and keeping stray typing from making one.

Keys that change the incident open a dialog; the dialog shows ``old → new`` and waits for
Enter. A person who believes they are typing in the scribe box (and is not) sends letters:
:class:`TypingGuard` sees a printable key that is not one of the dialog's own, closes the
dialog without changing anything, and hands what was typed, the key that opened the dialog
included, to the app, which puts it in the scribe box where it was meant to go.
"""

from __future__ import annotations

import sys
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from warroom.domain.changes import ChangeSummary
from warroom.domain.text import safe_line
from warroom.ui.screens.modal import Dialog


def _text_boxes() -> tuple[type, ...]:
    """Input, and TextArea once something imported it: until then no TextArea can have focus,
    and importing it (tree-sitter themes) costs start-up time the first frame does not need."""
    text_area = sys.modules.get("textual.widgets._text_area")
    return (Input, text_area.TextArea) if text_area is not None else (Input,)


class TypingGuard:
    """Mixin for modal screens a single key opens (severity, status, roles, confirmations).

    ``GUARD_ACCEPTS`` lists the printable characters that are the dialog's own keys (``1-4``
    in the severity picker). Any other printable key, while no text box in the dialog has
    focus, is taken as typing meant for the scribe box: the dialog closes with ``None`` and
    that key, and every one after it, goes to ``app.take_stray_typing`` (which puts back the
    keys typed just before, the one that opened the dialog included)."""

    GUARD_ACCEPTS: ClassVar[str] = ""
    _guard_tripped: bool = False

    def on_key(self, event: events.Key) -> None:
        if not event.is_printable or event.character is None:
            return
        if isinstance(self.focused, _text_boxes()):  # type: ignore[attr-defined]
            return  # typing into the dialog's own text box
        if not self._guard_tripped and event.character in self.GUARD_ACCEPTS:
            return
        event.stop()
        event.prevent_default()
        take = getattr(self.app, "take_stray_typing", None)  # type: ignore[attr-defined]
        if take is not None:
            take(event.character)
        if not self._guard_tripped:
            self._guard_tripped = True
            self.dismiss(None)  # type: ignore[attr-defined]


class ConfirmChange(TypingGuard, Dialog[bool | None]):
    """Shows what a change will do (``old → new`` and warnings); Enter confirms.

    | Key | Action |
    | --- | --- |
    | enter | make the change |
    | escape | cancel: nothing changes |
    """

    BINDINGS = [
        Binding("enter", "confirm", "Confirm", id="confirm_change.confirm", tooltip="Make the change shown"),
        Binding("escape", "cancel", "Cancel", id="confirm_change.cancel", tooltip="Change nothing"),
    ]

    DEFAULT_CSS = """
    ConfirmChange {
        & > Vertical { width: 76; border: thick $warning; }
        & #change-lines { text-style: bold; }
        & #change-warnings { color: $warning; }
    }
    """

    def __init__(self, summary: ChangeSummary) -> None:
        super().__init__()
        self.summary = summary

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.summary.title
            yield Static(Text("\n".join(safe_line(line) for line in self.summary.lines)), id="change-lines")
            if self.summary.warnings:
                yield Static(Text("\n".join(f"⚠ {safe_line(w)}" for w in self.summary.warnings)), id="change-warnings")
            yield Label("enter confirms · esc cancels (nothing changes)", classes="hint")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
