"""Declare an incident: title, then impact × scope (the matrix suggests a SEV) or a SEV."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select

from warroom.domain.models import Impact, Scope, Severity, suggest_severity
from warroom.ui.screens.modal import Dialog


@dataclass(frozen=True)
class DeclareRequest:
    title: str
    severity: Severity
    commander: str | None
    impact: str
    incident_type: str | None = None


class DeclareScreen(Dialog[DeclareRequest | None]):
    """The declare dialog. Enter in any field declares (after a confirmation the app shows);
    Escape cancels. With ``submit``, the dialog stays open until the incident is saved, and a
    refusal is shown in it with everything typed kept.

    | Key | Action |
    | --- | --- |
    | enter | declare |
    | 1-4 (in the SEV list) | choose severity |
    | escape | cancel |
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="declare.cancel"),
        Binding("ctrl+s", "declare", "Declare", id="declare.submit"),
    ]

    DEFAULT_CSS = """
    DeclareScreen {
        & > Vertical { width: 76; border: thick $error; }
        & Input, & Select { margin: 1 0 0 0; }
        & Input:focus { background: $boost; }
        & Button { margin-left: 2; }
        & Horizontal { height: auto; }
        & Select, & Horizontal > Input, & Horizontal > Select { width: 1fr; }
        & Horizontal > Input { margin-right: 1; }
        & #buttons { height: auto; align-horizontal: right; }
        & #suggestion { color: $warning; height: 1; }
    }
    """

    def __init__(
        self,
        default_commander: str,
        incident_types: dict | None = None,
        *,
        submit: Callable[[DeclareRequest, Callable[[], None], Callable[[str], None]], None] | None = None,
    ) -> None:
        super().__init__()
        self._default_commander = default_commander
        self._types = incident_types or {}
        self._matrix_used = False
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Declare incident"
            yield Input(placeholder="What is broken? e.g. Checkout payments failing", id="title", max_length=200, compact=True)
            with Horizontal():
                yield Select(
                    [(i.value, i) for i in Impact], prompt="Impact…", id="impact", compact=True
                )
                yield Select(
                    [(s.value, s) for s in Scope], prompt="Scope…", id="scope", compact=True
                )
            yield Label("", id="suggestion")
            yield Select(
                [(f"{s.value} {s.info.label}: {s.info.example}", s) for s in Severity],
                value=Severity.SEV2,
                allow_blank=False,
                id="severity",
                compact=True,
            )
            with Horizontal():
                yield Input(placeholder=f"IC (default: {self._default_commander})", id="commander", max_length=64, compact=True)
                yield Select(
                    [(kind.label, key) for key, kind in self._types.items()],
                    prompt="Type (optional)…",
                    id="type",
                    compact=True,
                )
            yield Input(placeholder="Impact in words (optional): who is affected, how", id="impact-text", max_length=4000, compact=True)
            with Horizontal(id="buttons"):
                yield Button("Declare", variant="error", id="declare", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Label("Enter declares · Tab moves · Esc cancels", classes="hint", id="hint")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "type":
            kind = self._types.get(event.value) if isinstance(event.value, str) else None
            if kind is not None and kind.severity is not None and not self._matrix_used:
                self.query_one("#severity", Select).value = kind.severity
                self.query_one("#suggestion", Label).update(f"Type {kind.label}: usually {kind.severity.value}")
            return
        impact = self.query_one("#impact", Select).value
        scope = self.query_one("#scope", Select).value
        if event.select.id in ("impact", "scope") and isinstance(impact, Impact) and isinstance(scope, Scope):
            suggested = suggest_severity(impact, scope)
            self._matrix_used = True
            self.query_one("#severity", Select).value = suggested
            self.query_one("#suggestion", Label).update(
                f"Matrix: {impact.value} × {scope.value} → {suggested.value}"
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_declare()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "declare":
            self.action_declare()
        else:
            self.action_cancel()

    def action_declare(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        if not title:
            self.notify("Give the incident a title first.", severity="warning")
            self.query_one("#title", Input).focus()
            return
        severity = self.query_one("#severity", Select).value
        commander = self.query_one("#commander", Input).value.strip() or None
        impact = self.query_one("#impact-text", Input).value.strip()
        chosen_type = self.query_one("#type", Select).value
        incident_type = chosen_type if isinstance(chosen_type, str) else None
        request = DeclareRequest(title, severity, commander, impact, incident_type)
        if self._submit is None:
            self.dismiss(request)
        else:
            from warroom.ui.screens.pickers import close_if_open

            self._submit(request, lambda: close_if_open(self, request), self.refused)

    def refused(self, reason: str) -> None:
        """The declaration was not saved: say why here, keep every field as typed."""
        if self.is_attached:
            hint = self.query_one("#hint", Label)
            hint.update(f"Not declared: {reason}")
            hint.add_class("refused")

    def action_cancel(self) -> None:
        self.dismiss(None)
