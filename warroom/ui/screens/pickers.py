"""Small modal choosers: severity, status, role assignment, one line of text."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from rich.text import Text

from warroom.domain.models import CORE_ROLES, Severity, Status
from warroom.ui.screens.confirm import TypingGuard
from warroom.ui.screens.modal import Dialog, ResultType
from warroom.ui.styles import severity_badge, status_text

Submit = Callable[[object, Callable[[], None], Callable[[str], None]], None]
"""``submit(value, saved, refused)``: a dialog that is given one stays open until ``saved()``
is called (then closes with the value) or shows ``refused(reason)`` and keeps what was typed."""


class Picker(Dialog[ResultType]):
    """A dialog with one list to choose from."""

    DEFAULT_CSS = """
    Picker {
        & OptionList { height: auto; max-height: 12; }
    }
    """


class SeverityPicker(TypingGuard, Picker[Severity | None]):
    """Choose a severity: arrows + Enter, or press 1-4 (then confirm the change)."""

    GUARD_ACCEPTS = "1234"

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="severity.cancel"),
        *(Binding(str(n), f"pick({n})", f"SEV{n}", show=False, id=f"severity.sev{n}") for n in range(1, 5)),
    ]

    def __init__(self, current: Severity) -> None:
        super().__init__()
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Set severity"
            options = []
            for severity in Severity:
                label = severity_badge(severity, long=True)
                label.append(f" {severity.info.definition}")
                if severity is self._current:
                    label.append("  (current)", style="dim")
                options.append(Option(label, id=severity.value))
            yield OptionList(*options)
            yield Label("1-4 or Enter chooses (you confirm next) · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = self._current.rank - 1

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Severity(event.option.id))

    def action_pick(self, number: int) -> None:
        self.dismiss(Severity(f"SEV{number}"))


class StatusPicker(TypingGuard, Picker[Status | None]):
    """Choose the next status among the allowed transitions."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="status.cancel")]

    def __init__(self, current: Status, allowed: frozenset[Status]) -> None:
        super().__init__()
        self._current = current
        self._allowed = [s for s in Status if s in allowed]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Status (now {self._current.value})"
            options = []
            for status in self._allowed:
                label = status_text(status)
                if self._current is Status.RESOLVED:
                    label.append("  (reopen)", style="dim")
                options.append(Option(label, id=status.value))
            yield OptionList(*options)
            yield Label("Enter chooses (you confirm next) · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        # Highlight the natural next step of the lifecycle.
        order = list(Status)
        following = order[min(order.index(self._current) + 1, len(order) - 1)]
        if following in self._allowed:
            self.query_one(OptionList).highlighted = self._allowed.index(following)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Status(event.option.id))


class AssignRoleScreen(TypingGuard, Picker[tuple[str, str] | None]):
    """Pick a role (or type a custom one) and the person taking it. With ``submit``, it stays
    open (keeping what was typed) until the change is saved."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="assign.cancel")]

    def __init__(self, roles: dict[str, str | None], role: str | None = None, *, submit: Submit | None = None) -> None:
        super().__init__()
        self._roles = roles
        self._role = role
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Assign role / hand over"
            names = list(CORE_ROLES) + [r for r in self._roles if r not in CORE_ROLES]
            options = []
            for name in names:
                label = Text(f"{name:<20} ")
                label.append(self._roles.get(name) or "—", style="dim")
                options.append(Option(label, id=name))
            yield OptionList(*options, id="roles")
            yield Input(placeholder="…or type another role name", id="custom-role", max_length=40)
            yield Input(placeholder="Who takes it? (name)", id="person", max_length=64)
            yield Label("Pick a role, Enter; type the name, Enter · Esc cancels", classes="hint", id="hint")

    def on_mount(self) -> None:
        roles = self.query_one("#roles", OptionList)
        if self._role is not None:
            try:
                roles.highlighted = roles.get_option_index(self._role)
            except Exception:
                self.query_one("#custom-role", Input).value = self._role
            self.query_one("#person", Input).focus()

    def _chosen_role(self) -> str | None:
        custom = self.query_one("#custom-role", Input).value.strip()
        if custom:
            return custom
        roles = self.query_one("#roles", OptionList)
        if roles.highlighted is None:
            return None
        return roles.get_option_at_index(roles.highlighted).id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#person", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "custom-role":
            self.query_one("#person", Input).focus()
            return
        role = self._chosen_role()
        person = self.query_one("#person", Input).value.strip()
        if not (role and person):
            self.notify("Choose a role and type a name.", severity="warning")
        elif self._submit is None:
            self.dismiss((role, person))
        else:
            self._submit((role, person), lambda: close_if_open(self, (role, person)), lambda reason: _show_refusal(self, reason))


class TextPrompt(Dialog[str | None]):
    """One line of text: amend an entry, give a redaction reason, tell us your name. With
    ``submit``, it stays open (keeping the text) until the change is saved."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="prompt.cancel")]

    def __init__(
        self,
        title: str,
        *,
        value: str = "",
        placeholder: str = "",
        hint: str = "Enter saves · Esc cancels",
        max_length: int = 4000,
        context: str = "",
        submit: Submit | None = None,
    ) -> None:
        super().__init__()
        self._title = title
        self._about = context
        """What the prompt is about (the entry being redacted), shown above the field."""
        self._value = value
        self._placeholder = placeholder
        self._hint = hint
        self._max_length = max_length
        self._submit = submit

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self._title
            if self._about:
                yield Label(self._about, classes="context", markup=False)
            yield Input(value=self._value, placeholder=self._placeholder, max_length=self._max_length)
            yield Label(self._hint, classes="hint", id="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.notify("Type something first, or press Esc.", severity="warning")
        elif self._submit is None:
            self.dismiss(text)
        else:
            self._submit(text, lambda: close_if_open(self, text), lambda reason: _show_refusal(self, reason))


def close_if_open(screen: Dialog, value: object) -> None:
    """Close a dialog once its change is saved, unless the person already closed it (Esc
    while the save was on its way): the change is saved either way."""
    if screen.is_attached and screen.app.screen is screen:
        screen.dismiss(value)


def _show_refusal(screen: Dialog, reason: str) -> None:
    """Keep the dialog and what was typed; say why it was not saved where the hint was."""
    if not screen.is_attached:
        return
    hint = screen.query_one("#hint", Label)
    hint.update(f"Not saved: {reason}")
    hint.set_class(True, "refused")
    inputs = screen.query(Input)
    if inputs:
        inputs.last().focus()
