"""After the fire: action items, milestones and metrics, postmortem sections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from rich.style import Style

from warroom.domain.metrics import IncidentMetrics, Report
from warroom.ui.styles import severity_badge, severity_style
from warroom.domain.models import (
    POSTMORTEM_CREDITS,
    POSTMORTEM_HEADINGS,
    POSTMORTEM_SECTIONS,
    ActionItem,
    ActionStatus,
    ActionType,
    Incident,
    Milestone,
    Priority,
    Severity,
    format_duration,
)
from warroom.ui.screens.modal import Dialog

_NEXT_STATUS = {
    ActionStatus.TODO: ActionStatus.IN_PROGRESS,
    ActionStatus.IN_PROGRESS: ActionStatus.DONE,
    ActionStatus.DONE: ActionStatus.TODO,
}


@dataclass(frozen=True)
class ActionItemEdit:
    """What the action-item form asks for; None fields are unchanged."""

    item_id: str | None
    """None: a new item."""
    text: str
    owner: str | None
    due: date | None
    priority: Priority
    status: ActionStatus
    type: ActionType
    ticket: str | None = None
    """A ticket key (PAY-123) or link."""
    clear_owner: bool = False
    clear_due: bool = False
    clear_ticket: bool = False


class ActionItemsScreen(Screen[None]):
    """Follow-ups of the incident.

    | Key | Action |
    | --- | --- |
    | n | new action item |
    | enter, e | edit the item |
    | space | todo → in progress → done |
    | escape | back |
    """

    BINDINGS = [
        Binding("n", "new", "New", id="actions.new"),
        Binding("e", "edit", "Edit", id="actions.edit"),
        Binding("space", "advance", "Status →", id="actions.advance"),
        Binding("escape", "app.pop_screen", "Back", id="actions.back"),
    ]
    DEFAULT_CSS = """
    ActionItemsScreen {
        & #actions-title { height: 1; background: $panel; padding: 0 1; }
        & DataTable { height: 1fr; }
        & #actions-hint { height: 1; color: $text-muted; padding: 0 1; }
    }
    """

    def __init__(self, get_incident, act) -> None:
        super().__init__()
        self._get_incident = get_incident
        self._act = act
        self._advances: list[str] = []
        """Items whose status key was pressed while a change was still being written: each
        goes on from the state the one before left (two quick presses: todo → done)."""
        self._advancing = False

    def compose(self) -> ComposeResult:
        yield Static(id="actions-title")
        table = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns("Action", "Owner", "Due", "Priority", "Status", "Type", "Ticket")
        yield table
        yield Static("Promote a /todo from the timeline with p. Items export to the postmortem.", id="actions-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_items()

    def refresh_items(self) -> None:
        incident: Incident = self._get_incident()
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        items = list(incident.action_items.values())
        open_count = sum(1 for i in items if i.status is not ActionStatus.DONE)
        self.query_one("#actions-title", Static).update(
            Text.assemble((" Action items ", "bold reverse"), f"  {incident.title} · {open_count} open of {len(items)}")
        )
        for item in items:
            status_style = "bold green" if item.status is ActionStatus.DONE else ("bold yellow" if item.status is ActionStatus.IN_PROGRESS else "bold")
            table.add_row(
                item.text,
                item.owner or Text("unowned", style="dim italic"),
                f"{item.due:%Y-%m-%d}" if item.due else "—",
                item.priority.value,
                Text(item.status.value, style=status_style),
                item.type.value,
                item.ticket or Text("—", style="dim"),
                key=item.id,
            )
        if items:
            table.move_cursor(row=min(row, len(items) - 1))

    def _selected(self) -> ActionItem | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self._get_incident().action_items.get(key)

    def action_new(self) -> None:
        self.app.push_screen(ActionItemForm(None), self._submitted)

    def action_edit(self) -> None:
        item = self._selected()
        if item is not None:
            self.app.push_screen(ActionItemForm(item), self._submitted)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # The table owns Enter (it selects the row): selecting a row edits it.
        event.stop()
        self.action_edit()

    def action_advance(self) -> None:
        item = self._selected()
        if item is not None:
            self._advances.append(item.id)
            if not self._advancing:
                self._advance_next()

    def _advance_next(self) -> None:
        """One change at a time, each read from what the journal holds once the one before is
        written (read earlier, a second press would repeat the first's step)."""
        while self._advances:
            item = self._get_incident().action_items.get(self._advances.pop(0))
            if item is None:
                continue
            self._advancing = True
            self._act(
                ActionItemEdit(item.id, item.text, None, None, item.priority, _NEXT_STATUS[item.status], item.type),
                self._advanced,
                self._advance_refused,
            )
            return

    def _advanced(self) -> None:
        self._advancing = False
        self.refresh_items()
        self._advance_next()

    def _advance_refused(self, _reason: str) -> None:
        # The reason is on screen; presses after it would step from a state nobody saw.
        self._advancing = False
        self._advances.clear()

    def _submitted(self, edit: ActionItemEdit | None) -> None:
        if edit is not None:
            self._act(edit, self.refresh_items)


class ActionItemForm(Dialog[ActionItemEdit | None]):
    """New or edited action item. Enter in any field saves; Esc cancels."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="action_form.cancel"),
        Binding("ctrl+s", "save", "Save", id="action_form.save"),
    ]
    DEFAULT_CSS = """
    ActionItemForm {
        & > Vertical { width: 76; }
        & Input, & Select { margin: 1 0 0 0; }
        & Horizontal { height: auto; }
        & Horizontal > * { width: 1fr; }
        & Label { color: $text-muted; }
    }
    """

    def __init__(self, item: ActionItem | None) -> None:
        super().__init__()
        self._item = item

    def compose(self) -> ComposeResult:
        item = self._item
        with Vertical() as box:
            box.border_title = "Edit action item" if item else "New action item"
            yield Input(item.text if item else "", placeholder="What needs doing?", id="text", max_length=200, compact=True)
            with Horizontal():
                yield Input(item.owner or "" if item else "", placeholder="Owner", id="owner", max_length=64, compact=True)
                yield Input(f"{item.due:%Y-%m-%d}" if item and item.due else "", placeholder="Due YYYY-MM-DD", id="due", max_length=40, compact=True)
            yield Input(item.ticket or "" if item else "", placeholder="Ticket or link, e.g. PAY-123 or https://…", id="ticket", max_length=300, compact=True)
            with Horizontal():
                yield Select([(p.value, p) for p in Priority], value=item.priority if item else Priority.MEDIUM, allow_blank=False, id="priority", compact=True)
                yield Select([(s.value, s) for s in ActionStatus], value=item.status if item else ActionStatus.TODO, allow_blank=False, id="status", compact=True)
                yield Select([(t.value, t) for t in ActionType], value=item.type if item else ActionType.CORRECTIVE, allow_blank=False, id="type", compact=True)
            yield Label("Enter saves · Tab moves · Esc cancels")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        text = self.query_one("#text", Input).value.strip()
        if not text:
            self.notify("Say what needs doing.", severity="warning")
            return
        owner = self.query_one("#owner", Input).value.strip() or None
        due_text = self.query_one("#due", Input).value.strip()
        try:
            due = date.fromisoformat(due_text) if due_text else None
        except ValueError:
            self.notify(f"Due date {due_text!r}: use YYYY-MM-DD.", severity="warning")
            return
        item = self._item
        ticket = self.query_one("#ticket", Input).value.strip() or None
        self.dismiss(
            ActionItemEdit(
                item.id if item else None,
                text,
                owner,
                due,
                self.query_one("#priority", Select).value,
                self.query_one("#status", Select).value,
                self.query_one("#type", Select).value,
                ticket=ticket,
                clear_owner=bool(item and item.owner and owner is None),
                clear_due=bool(item and item.due and due is None),
                clear_ticket=bool(item and item.ticket and ticket is None),
            )
        )


def _bar(value: float, largest: float, width: int = 24) -> str:
    if largest <= 0:
        return ""
    cells = value / largest * width
    full = int(cells)
    return "█" * full + ("▌" if cells - full >= 0.5 else "")


class MetricsScreen(Screen[None]):
    """Milestones and metrics of the incident, and MTTA/MTTR across incidents.

    | Key | Action |
    | --- | --- |
    | enter | set the highlighted milestone's time |
    | escape | back |
    """

    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="metrics.back")]
    DEFAULT_CSS = """
    MetricsScreen {
        & #metrics-title { height: 1; background: $panel; padding: 0 1; }
        & OptionList { height: auto; max-height: 8; margin: 1 0 0 0; }
        & #numbers, & #chart { height: auto; padding: 0 1; }
        & VerticalScroll { height: 1fr; }
    }
    """

    def __init__(self, get_incident, get_metrics, get_report, set_milestone) -> None:
        super().__init__()
        self._get_incident = get_incident
        self._get_metrics = get_metrics
        self._get_report = get_report
        self._set_milestone = set_milestone

    def compose(self) -> ComposeResult:
        yield Static(id="metrics-title")
        with VerticalScroll():
            yield OptionList(id="milestones")
            yield Static(id="numbers")
            yield Static(id="chart")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_metrics()
        self.query_one(OptionList).focus()

    def refresh_metrics(self) -> None:
        incident: Incident = self._get_incident()
        metrics: IncidentMetrics = self._get_metrics()
        report: Report = self._get_report()
        self.query_one("#metrics-title", Static).update(Text.assemble((" Metrics ", "bold reverse"), f"  {incident.title}"))
        milestones = incident.milestones
        options = self.query_one("#milestones", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for milestone in Milestone:
            at = milestones.get(milestone)
            label = Text(f"{milestone.value:<13}", style="bold")
            label.append(f"{at:%Y-%m-%d %H:%M:%S}Z" if at else "not set", style="" if at else "dim italic")
            if milestone in incident.milestones_set:
                label.append("  (set by hand)", style="dim")
            options.add_option(Option(label, id=milestone.value))
        if highlighted is not None:
            options.highlighted = highlighted

        def fmt(seconds: float | None) -> str:
            return format_duration(seconds) if seconds is not None else "—"

        numbers = Text()
        numbers.append("\nThis incident, from detection\n", style="bold")
        for label, value in (
            ("time to acknowledge", metrics.time_to_acknowledge),
            ("time to declare", metrics.time_to_declare),
            ("time to mitigate", metrics.time_to_mitigate),
            ("time to resolve", metrics.time_to_resolve),
        ):
            numbers.append(f"  {label:<20} {fmt(value)}\n")
        ongoing = " so far" if incident.is_active else ""
        numbers.append(f"  {'duration':<20} {format_duration(metrics.duration)}{ongoing}  (detection to resolution)\n")
        self.query_one("#numbers", Static).update(numbers)

        chart = Text()
        chart.append(f"\nAll incidents ({report.total})\n", style="bold")
        chart.append("  " + " · ".join(f"{status.value} {count}" for status, count in report.by_status.items()) + "\n\n")
        largest = max((f.mttr or 0 for f in report.by_severity.values()), default=0)
        chart.append(f"  {'':<16}{'count':>5}  {'MTTA':>9}  {'MTTR':>11}\n", style="dim")
        for severity in Severity:
            figures = report.by_severity[severity]
            # The theme's SEV colours, always with the words: the chart reads without colour.
            badge = severity_badge(severity, long=True)
            chart.append("  ")
            chart.append_text(badge)
            chart.append(" " * max(1, 16 - badge.cell_len))
            chart.append(f"{figures.count:>5}  {fmt(figures.mtta):>9}  {fmt(figures.mttr):>11}  ")
            if figures.mttr:
                chart.append(_bar(figures.mttr, largest), style=Style(color=severity_style(severity).bgcolor, bold=True))
                chart.append(f" {severity.value} MTTR", style="dim")
            chart.append("\n")
        chart.append("\n  MTTR bars are relative to the slowest severity.", style="dim")
        self.query_one("#chart", Static).update(chart)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        from warroom.ui.screens.pickers import TextPrompt

        milestone = Milestone(event.option.id)
        current = self._get_incident().milestones.get(milestone)

        def submit(text: str, saved, refused) -> None:
            # The prompt stays open until the time is accepted: a refusal keeps the text.
            def done() -> None:
                saved()
                self.refresh_metrics()

            self._set_milestone(milestone, text, done, refused)

        self.app.push_screen(
            TextPrompt(
                f"When was it {milestone.value}?",
                value=f"{current:%Y-%m-%d %H:%M}Z" if current else "",
                placeholder="HH:MM (today) or 2026-03-30 14:32",
                hint="HH:MM is read in the zone the timeline shows · Enter sets it (checked against the other milestones)",
                max_length=40,
                submit=submit,
            ),
        )


POSTMORTEM_FIELDS: dict[str, str] = {
    "impact": "Who was affected, how badly, and for how long (the incident's impact, as updates show it).",
    **POSTMORTEM_CREDITS,
    **POSTMORTEM_SECTIONS,
}
"""What the postmortem screen edits, in its order, with the prompt for each."""


class PostmortemScreen(Screen[None]):
    """Write the postmortem sections; the export fills the rest from the incident.

    | Key | Action |
    | --- | --- |
    | ctrl+s | save the section |
    | escape | back (saves changes first) |
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="postmortem.save", priority=True),
        Binding("escape", "leave", "Back", id="postmortem.leave"),
    ]
    DEFAULT_CSS = """
    PostmortemScreen {
        & Horizontal { height: 1fr; }
        & OptionList { width: 30; height: 1fr; }
        & Vertical { width: 1fr; }
        & #prompt { height: auto; color: $text-muted; padding: 0 1; }
        & TextArea { height: 1fr; }
    }
    """

    def __init__(self, get_incident, save_section) -> None:
        super().__init__()
        self._get_incident = get_incident
        self._save_section = save_section
        self._section = next(iter(POSTMORTEM_FIELDS))

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(*(Option(POSTMORTEM_HEADINGS.get(name, "Impact"), id=name) for name in POSTMORTEM_FIELDS), id="sections")
            with Vertical():
                yield Static(id="prompt")
                yield TextArea(id="section-text", soft_wrap=True)
        yield Footer()

    def on_mount(self) -> None:
        self._load(self._section)
        self.query_one("#sections", OptionList).highlighted = 0

    def _load(self, section: str) -> None:
        self._section = section
        self.query_one("#prompt", Static).update(f"{POSTMORTEM_HEADINGS.get(section, 'Impact')}: {POSTMORTEM_FIELDS[section]}")
        self.query_one(TextArea).text = self._current(section)

    def _current(self, section: str) -> str:
        incident = self._get_incident()
        return incident.impact if section == "impact" else incident.postmortem.get(section, "")

    def _save_if_changed(self) -> None:
        text = self.query_one(TextArea).text
        if text != self._current(self._section):
            self._save_section(self._section, text)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self._section:
            self._save_if_changed()
            self._load(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        self._save_if_changed()

    def action_leave(self) -> None:
        self._save_if_changed()
        self.app.pop_screen()
