"""Running a runbook step's command: ask first, showing exactly what will run and whose
runbook it came from; then stream the output and log the result."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from rich.cells import chop_cells
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Label, Log, Static

from warroom.desk.runs import RunPlan
from warroom.runbooks.execute import CommandRunner, RunResult
from warroom.ui.screens.confirm import TypingGuard
from warroom.ui.screens.modal import Dialog

OUTPUT_LINES_SHOWN = 5000
"""The panel keeps the latest lines; the whole output goes to the record."""


class RunConfirmScreen(TypingGuard, Dialog[bool | None]):
    """Run this command? Nothing runs until Enter.

    Enter, not a letter: ``!`` then ``y`` is what someone typing "wow!yes" with the scribe
    box unfocused sends. Any printable key closes the dialog, runs nothing and goes to the
    scribe box with the ``!`` (``TypingGuard``).

    | Key | Action |
    | --- | --- |
    | enter | run it |
    | escape | do not run it |
    """

    BINDINGS = [
        Binding("enter", "dismiss(True)", "Run", id="run.confirm"),
        Binding("escape", "dismiss(False)", "Cancel", id="run.decline"),
    ]
    DEFAULT_CSS = """
    RunConfirmScreen {
        & > Vertical { width: 100; border: thick $warning; }
        & #run-command { background: $boost; padding: 0 1; margin: 1 0; }
        & .warning { color: $warning; text-style: bold; }
    }
    """

    def __init__(self, plan: RunPlan, actor: str) -> None:
        super().__init__()
        self.plan = plan
        self._actor = actor

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical() as box:
            box.border_title = "Run this command?"
            yield Static(id="run-command")
            yield Static(Text(f"Step: {plan.step_text}"))
            yield Static(Text(f"From: {plan.describe_origin()}"))
            local = Text(f"Your copy: {plan.local_copy}")
            if not plan.local_copy.startswith("same"):
                local.stylize("bold")
            yield Static(local, classes="" if plan.local_copy.startswith("same") else "warning")
            if plan.attached_by and plan.attached_by != self._actor:
                yield Static(Text(f"Someone else's runbook ({plan.attached_by}): read the command before you run it."), classes="warning")
            yield Static(Text(f"Runs: {plan.describe_how()}"))
            yield Static(Text("Output is logged to the timeline (an action entry) and kept with the incident."))
            yield Label("enter runs it · esc cancels (any other key: nothing runs)", classes="hint")

    def on_mount(self) -> None:
        self._show_command()

    def on_resize(self) -> None:
        self._show_command()

    def _show_command(self) -> None:
        """The command exactly, its own line breaks kept; a line too long for the box is cut
        with a ↪ mark, so a wrap can never be mistaken for a new line of the command."""
        box = self.query_one("#run-command", Static)
        width = max(20, box.content_region.width or 70) - 2
        text = Text()
        for number, line in enumerate(self.plan.command.splitlines() or [""]):
            for part, chunk in enumerate(chop_cells(line, width) or [""]):
                if number or part:
                    text.append("\n")
                text.append("↪ " if part else ("$ " if number == 0 else "  "), style="dim" if part else "bold")
                text.append(chunk)
        box.update(text)


class RunScreen(Screen[None]):
    """The command running: output as it arrives, then how it ended and where it was logged.

    | Key | Action |
    | --- | --- |
    | x, ctrl+c | cancel the run (its whole process group is stopped) |
    | escape | back, once it has finished |
    """

    BINDINGS = [
        Binding("x,ctrl+c", "cancel_run", "Cancel run", id="run.cancel", priority=True),
        Binding("escape", "close", "Back", id="run.close"),
    ]
    DEFAULT_CSS = """
    RunScreen {
        & #run-title { height: auto; max-height: 4; background: $panel; padding: 0 1; }
        & Log { height: 1fr; }
        & #run-status { height: auto; background: $panel; padding: 0 1; }
        & #run-status.-failed { background: $error 40%; }
        & #run-status.-ok { background: $success 30%; }
    }
    """

    def __init__(
        self,
        plan: RunPlan,
        make_runner: Callable[[Callable[[str], None]], CommandRunner],
        record: Callable[[RunResult, datetime], str],
        now: Callable[[], datetime],
    ) -> None:
        super().__init__()
        self.plan = plan
        self._make_runner = make_runner
        self._record = record
        self._now = now
        self._runner: CommandRunner | None = None
        self._ready = threading.Event()
        self.result: RunResult | None = None
        self.outcome_text = ""

    def compose(self) -> ComposeResult:
        title = Text("$ ", style="bold")
        title.append(self.plan.command)
        yield Static(title, id="run-title")
        yield Log(max_lines=OUTPUT_LINES_SHOWN, highlight=False, id="run-output")
        yield Static(Text("Running… x cancels"), id="run-status")

    def on_mount(self) -> None:
        self.query_one(Log).focus()
        self._execute()

    @work(thread=True, exclusive=True, group="run-command", name="run command")
    def _execute(self) -> None:
        log = self.query_one(Log)

        def show(text: str) -> None:
            self.app.call_from_thread(log.write, text)

        self._runner = self._make_runner(show)
        self._ready.set()
        started = self._now()
        result = self._runner.run()
        try:
            logged = self._record(result, started)
        except Exception as exc:  # the output stays on screen; say plainly it was not logged
            logged = f"NOT logged: {exc}"
        self.app.call_from_thread(self._finished, result, logged)

    def _finished(self, result: RunResult, logged: str) -> None:
        self.result = result
        seconds = result.duration_ms / 1000
        if result.exit_code is not None:
            ended = f"exit {result.exit_code} in {seconds:.1f}s"
        else:
            ended = f"{result.outcome.value} after {seconds:.1f}s"
        size = f"{result.output_lines} lines" + (" (head and tail kept in the record)" if result.truncated else "")
        self.outcome_text = f"{ended} · {size} · {logged} · esc back"
        status = self.query_one("#run-status", Static)
        status.update(Text(self.outcome_text))
        status.set_class(result.exit_code == 0, "-ok")
        status.set_class(result.exit_code != 0, "-failed")

    def action_cancel_run(self) -> None:
        if self.result is not None:
            self.dismiss(None)
            return
        if self._ready.is_set() and self._runner is not None:
            self._runner.cancel()
            self.query_one("#run-status", Static).update(Text("Cancelling: stopping the command and its children…"))

    def action_close(self) -> None:
        if self.result is None:
            self.notify("Still running: x cancels it.", severity="warning", timeout=3)
            return
        self.dismiss(None)
