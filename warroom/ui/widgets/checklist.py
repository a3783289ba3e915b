"""The checklist pane: attached runbooks as live, shared, attributed checklists."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from warroom.desk import StepRef
from warroom.domain.models import Checklist, ChecklistStep, Incident

_SEPARATOR = "\x1f"  # joins runbook id and step id in an option id
_COMMAND_LINES = 6  # of a step's command shown under it; copy takes them all


def _option_id(checklist: Checklist, step: ChecklistStep) -> str:
    return f"{checklist.runbook_id}{_SEPARATOR}{step.id}"


def split_option_id(option_id: str) -> StepRef:
    runbook_id, step_id = option_id.split(_SEPARATOR, 1)
    return StepRef(runbook_id, step_id)


class ChecklistPane(OptionList):
    """Steps of every attached checklist, with progress; the cursor starts on the next open step.

    | Key | Action |
    | --- | --- |
    | space | tick / untick the step |
    | x | skip the step (asks why) |
    | c | copy the step's command (OSC 52: works over SSH) |
    | a | attach a runbook |
    """

    BINDINGS = [
        Binding("space", "toggle", "Tick", id="checklist.toggle"),
        Binding("x", "skip", "Skip", id="checklist.skip"),
        Binding("c", "copy", "Copy cmd", id="checklist.copy"),
        Binding("a", "attach", "Attach runbook", id="checklist.attach"),
    ]

    DEFAULT_CSS = """
    ChecklistPane {
        height: 1fr;
        min-height: 3;
    }
    """

    class _Posted(Message):
        def __init__(self, pane: ChecklistPane) -> None:
            super().__init__()
            self.pane = pane

        @property
        def control(self) -> ChecklistPane:
            return self.pane

    class _StepMessage(_Posted):
        def __init__(self, pane: ChecklistPane, step: StepRef) -> None:
            super().__init__(pane)
            self.step = step

    class ToggleRequested(_StepMessage):
        """Space (or Enter): tick the step, or untick it if it is done."""

    class SkipRequested(_StepMessage):
        """The user wants to skip the step (a reason will be asked)."""

    class CopyRequested(_StepMessage):
        """The user wants the step's command on the clipboard."""

    class AttachRequested(_Posted):
        """The user wants to attach a runbook."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._signature: tuple = ()

    def show(self, incident: Incident | None) -> None:
        """Re-render the checklists, keeping the cursor on the same step; the border
        counts the steps done of every checklist."""
        checklists = list(incident.checklists.values()) if incident else []
        progress = [c.progress for c in checklists]
        subtitle = f"{sum(d for d, _ in progress)}/{sum(t for _, t in progress)}" if checklists else ""
        if subtitle != self.border_subtitle:  # setting it repaints the pane, even to the same text
            self.border_subtitle = subtitle
        signature = tuple(
            (c.runbook_id, c.title, tuple((s.id, tuple(s.ticks)) for s in c.steps)) for c in checklists
        )
        if signature == self._signature and self.option_count:
            return
        self._signature = signature
        previous = self.highlighted_option_id
        self.clear_options()
        if not checklists:
            self.add_option(Option(Text("No checklist yet: press a to attach a runbook.", style="dim italic"), disabled=True))
            return
        options: list[Option] = []
        for checklist in checklists:
            done, total = checklist.progress
            header = Text(no_wrap=True, overflow="ellipsis")
            header.append(f"{done}/{total} ", style="bold reverse" if done == total and total else "bold")
            header.append(checklist.title, style="bold")
            options.append(Option(header, disabled=True))
            section = None
            for step in checklist.steps:
                if step.section != section and step.section and step.section != checklist.title:
                    section = step.section
                    options.append(Option(Text(f" {section}", style="italic dim"), disabled=True))
                options.append(Option(self._step_label(step), id=_option_id(checklist, step)))
        self.add_options(options)
        target = previous if previous and self._has(previous) else self._first_open_id(checklists)
        if target:
            self.highlighted = self.get_option_index(target)

    @staticmethod
    def _step_label(step: ChecklistStep) -> Text:
        label = Text()
        indent = "  " * step.depth
        if step.skipped:
            label.append(f"{indent}↷ ", style="dim")
            label.append(step.text, style="dim strike")
        elif step.done:
            label.append(f"{indent}☑ ", style="bold green")
            label.append(step.text, style="dim")
        else:
            label.append(f"{indent}☐ ")
            label.append(step.text)
        tick = step.last_tick
        if tick is not None:
            label.append(f"  {tick.actor} {tick.at:%H:%M}", style="italic dim")
            if tick.skipped_reason:
                label.append(f": {tick.skipped_reason}", style="italic dim")
        if step.command and not step.done:
            # The command itself, on its own line: nobody should copy a command they cannot see.
            lines = step.command.splitlines() or [""]
            for number, line in enumerate(lines[:_COMMAND_LINES]):
                label.append(f"\n{indent}  {'$' if number == 0 else ' '} ", style="dim")
                label.append(line, style="bold")
            if len(lines) > _COMMAND_LINES:
                label.append(f"\n{indent}    … {len(lines) - _COMMAND_LINES} more lines (c copies them all)", style="dim")
            if len(step.code) > 1:
                label.append(f"  (+{len(step.code) - 1} more)", style="dim")
        return label

    def _has(self, option_id: str) -> bool:
        try:
            self.get_option_index(option_id)
        except Exception:
            return False
        return True

    @staticmethod
    def _first_open_id(checklists: list[Checklist]) -> str | None:
        for checklist in checklists:
            step = checklist.next_open()
            if step is not None:
                return _option_id(checklist, step)
        return None

    @property
    def highlighted_option_id(self) -> str | None:
        if self.highlighted is None or self.highlighted >= self.option_count:
            return None
        return self.get_option_at_index(self.highlighted).id

    def highlight_next_open(self, incident: Incident) -> None:
        """After a tick: move on to the next open step of the same checklist (or any)."""
        current = self.highlighted_step
        checklists = list(incident.checklists.values())
        if current:
            checklist = incident.checklists.get(current.runbook_id)
            if checklist:
                ids = [s.id for s in checklist.steps]
                after = ids.index(current.step_id) + 1 if current.step_id in ids else 0
                following = next((s for s in checklist.steps[after:] if not s.done), None)
                if following is not None:
                    self.highlighted = self.get_option_index(_option_id(checklist, following))
                    return
        target = self._first_open_id(checklists)
        if target:
            self.highlighted = self.get_option_index(target)

    @property
    def highlighted_step(self) -> StepRef | None:
        """The step under the cursor (None on a heading or an empty pane)."""
        option_id = self.highlighted_option_id
        return split_option_id(option_id) if option_id else None

    def _post_for_step(self, message_type: type[_StepMessage]) -> None:
        step = self.highlighted_step
        if step is not None:
            self.post_message(message_type(self, step))

    def action_toggle(self) -> None:
        self._post_for_step(self.ToggleRequested)

    def action_skip(self) -> None:
        self._post_for_step(self.SkipRequested)

    def action_copy(self) -> None:
        self._post_for_step(self.CopyRequested)

    def action_attach(self) -> None:
        self.post_message(self.AttachRequested(self))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._post_for_step(self.ToggleRequested)
