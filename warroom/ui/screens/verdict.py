"""Settle a hypothesis: confirmed, ruled out, or open again, with an optional reason."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from warroom.domain.records import Verdict
from warroom.ui.screens.modal import Dialog

_MARKS = {Verdict.CONFIRMED: "✓ confirmed", Verdict.RULED_OUT: "✗ ruled out", Verdict.OPEN: "? open again"}


class VerdictPicker(Dialog[tuple[Verdict, str] | None]):
    """Choose the verdict (Enter); type why first if you like (Tab).

    | Key | Action |
    | --- | --- |
    | enter | record the highlighted verdict |
    | tab | type a reason |
    | escape | cancel |
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="verdict.cancel")]
    DEFAULT_CSS = """
    VerdictPicker {
        & OptionList { height: auto; }
    }
    """

    def __init__(self, hypothesis: str, current: Verdict) -> None:
        super().__init__()
        self._hypothesis = hypothesis
        self._choices = [v for v in (Verdict.CONFIRMED, Verdict.RULED_OUT, Verdict.OPEN) if v is not current]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Hypothesis"
            yield Static(Text(self._hypothesis))
            yield OptionList(*(Option(_MARKS[v], id=v.value) for v in self._choices), id="verdicts")
            yield Input(placeholder="Why? (optional, e.g. 'provider status green')", id="reason", max_length=300)
            yield Label("Enter records it · Tab: type why · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def _choose(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted if options.highlighted is not None else 0
        verdict = Verdict(options.get_option_at_index(index).id)
        self.dismiss((verdict, self.query_one(Input).value.strip()))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose()
