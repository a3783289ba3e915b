"""Attach a runbook: type to fuzzy-search titles, tags and services; Enter attaches."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from warroom.runbooks.model import Runbook
from warroom.runbooks.parser import search_runbooks
from warroom.ui.screens.modal import Dialog


class RunbookPicker(Dialog[Runbook | None]):
    """Pick a runbook to attach to the incident."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="runbooks.cancel"),
        Binding("down", "move(1)", show=False, id="runbooks.down"),
        Binding("up", "move(-1)", show=False, id="runbooks.up"),
    ]
    DEFAULT_CSS = """
    RunbookPicker {
        & > Vertical { width: 80; }
        & OptionList { height: auto; max-height: 14; }
    }
    """

    def __init__(self, runbooks: list[Runbook], attached: set[str]) -> None:
        super().__init__()
        self._runbooks = runbooks
        self._attached = attached
        self._shown: list[Runbook] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Attach runbook"
            yield Input(placeholder="Search titles, tags, services…", id="query", compact=True)
            yield OptionList(id="results")
            yield Label("Type to filter · ↑↓ choose · Enter attaches · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self._refresh("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self._refresh(event.value)

    def _refresh(self, query: str) -> None:
        self._shown = search_runbooks(self._runbooks, query)
        results = self.query_one("#results", OptionList)
        results.clear_options()
        for runbook in self._shown:
            label = Text(runbook.title, style="bold")
            details = [f"{runbook.step_count} steps"]
            if runbook.service:
                details.append(runbook.service)
            if runbook.tags:
                details.append(", ".join(runbook.tags))
            label.append("  " + " · ".join(details), style="dim")
            if runbook.id in self._attached:
                label.append("  (attached: re-attach updates it)", style="italic dim")
            results.add_option(Option(label, id=runbook.id))
        if self._shown:
            results.highlighted = 0

    def action_move(self, delta: int) -> None:
        results = self.query_one("#results", OptionList)
        if results.option_count:
            results.highlighted = max(0, min(results.option_count - 1, (results.highlighted or 0) + delta))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        results = self.query_one("#results", OptionList)
        if results.highlighted is not None and self._shown:
            self.dismiss(self._shown[results.highlighted])
        else:
            self.notify("No runbook matches; clear the search to see them all.", severity="warning")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(next(r for r in self._shown if r.id == event.option.id))
