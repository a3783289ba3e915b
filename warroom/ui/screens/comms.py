"""The draft editor: a template filled from live state, edited, saved, copied, sent."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from warroom.domain.models import CommsChannel, ComponentState, DraftVersion, SentUpdate
from warroom.ui.screens.modal import Dialog


class DraftEditor(Screen[None]):
    """Edit a comms draft. Leaving with unsaved changes saves them as a new version: nothing
    typed is lost.

    | Key | Action |
    | --- | --- |
    | ctrl+s | save a version of the draft |
    | ctrl+r | re-fill from the incident's live state |
    | ctrl+y | copy the draft (OSC 52) |
    | ctrl+o | write the draft to a file |
    | ctrl+e | mark as sent (restarts the update timer) |
    | ctrl+n | next version, when people saved at the same time |
    | escape | back (saves changes first) |
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="draft.save", priority=True),
        Binding("ctrl+r", "rerender", "Re-fill", id="draft.rerender", priority=True),
        Binding("ctrl+y", "copy", "Copy", id="draft.copy", priority=True),
        Binding("ctrl+o", "write", "To file", id="draft.write", priority=True),
        Binding("ctrl+e", "send", "Mark sent", id="draft.send", priority=True),
        Binding("ctrl+n", "next_version", "Next version", id="draft.next_version", priority=True),
        Binding("escape", "leave", "Back", id="draft.leave"),
    ]

    DEFAULT_CSS = """
    DraftEditor {
        & #draft-title { height: 1; background: $panel; padding: 0 1; }
        & #draft-cadence { height: 1; padding: 0 1; }
        & #draft-cadence.-overdue { background: $error; color: $text; text-style: bold; }
        & #conflict { display: none; height: auto; background: $warning; color: $background; padding: 0 1; }
        & #conflict.-shown { display: block; }
        & TextArea { height: 1fr; }
    }
    """

    class _DraftMessage(Message):
        """Posted to the app (it owns the events); ``bases`` are the versions the text was
        edited from."""

        def __init__(self, editor: DraftEditor, text: str, bases: list[str]) -> None:
            super().__init__()
            self.editor = editor
            self.text = text
            self.bases = bases

        @property
        def control(self) -> DraftEditor:
            return self.editor

    class SaveRequested(_DraftMessage):
        """Save the text as a new version (ctrl+s, or leaving with changes)."""

    class CopyRequested(_DraftMessage):
        """Put the text on the clipboard."""

    class WriteRequested(_DraftMessage):
        """Write the text to ``path``."""

        def __init__(self, editor: DraftEditor, text: str, bases: list[str], path: str) -> None:
            super().__init__(editor, text, bases)
            self.path = path

    class SendRequested(_DraftMessage):
        """Save the text and record that it was sent to ``channel``."""

        def __init__(self, editor: DraftEditor, text: str, bases: list[str], channel: CommsChannel) -> None:
            super().__init__(editor, text, bases)
            self.channel = channel

    def __init__(
        self,
        template_id: str,
        template_name: str,
        channel: CommsChannel,
        rendered: str,
        heads: list[DraftVersion],
        render_fresh,
        destinations: dict[str, str] | None = None,
        *,
        last_sent: SentUpdate | None = None,
        cadence: tuple[str, bool] = ("", False),
    ) -> None:
        super().__init__()
        self._destinations = destinations or {}
        """Channel → the kind of destination it delivers to (slack, webhook…)."""
        self._cadence = cadence
        self._last_sent = last_sent
        # Once the latest version went out, the next update starts from live state, never
        # from the text that was already sent (saving it still follows the old versions).
        self._fresh = bool(heads) and last_sent is not None and last_sent.at >= heads[-1].at
        self.template_id = template_id
        self._name = template_name
        self._channel = channel
        self._rendered = rendered
        self._heads = heads
        self._shown_head = len(heads) - 1
        self._render_fresh = render_fresh
        self._saved_text = heads[-1].text if heads and not self._fresh else None

    def compose(self) -> ComposeResult:
        yield Static(id="draft-title")
        yield Static(id="draft-cadence")
        yield Static(id="conflict")
        start = self._heads[-1].text if self._heads and not self._fresh else self._rendered
        yield TextArea(start, id="draft", soft_wrap=True, show_line_numbers=False)
        yield Footer()

    def on_mount(self) -> None:
        self._update_title()
        self.show_cadence(*self._cadence)
        self.query_one(TextArea).focus()

    def _update_title(self) -> None:
        title = Text()
        title.append(f" {self._name} ", style="bold reverse")
        title.append(f"  for {self._channel.value}")
        if self._fresh and self._last_sent is not None:
            title.append(f"  · filled from live state; the last one went out at {self._last_sent.at:%H:%M}Z", style="dim")
        elif self._heads:
            head = self._heads[self._shown_head]
            title.append(f"  · version by {head.actor} at {head.at:%H:%M:%S}Z", style="dim")
        else:
            title.append("  · filled from live state, not saved yet", style="dim")
        self.query_one("#draft-title", Static).update(title)
        conflict = self.query_one("#conflict", Static)
        if len(self._heads) > 1:
            who = ", ".join(f"{h.actor} {h.at:%H:%M:%S}Z" for h in self._heads)
            conflict.update(
                f"⚠ Conflict: {len(self._heads)} versions were saved at the same time ({who}). "
                f"Showing {self._shown_head + 1}/{len(self._heads)}; ctrl+n shows the next. "
                "Saving makes your text the version that follows all of them."
            )
            conflict.add_class("-shown")
        else:
            conflict.remove_class("-shown")

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    def _bases(self) -> list[str]:
        return [head.id for head in self._heads]

    def saved(self, version: DraftVersion, heads: list[DraftVersion]) -> None:
        """The app reports a version durably saved."""
        self._heads = heads
        self._shown_head = max(0, len(heads) - 1)
        self._saved_text = version.text
        self._fresh = False
        self._update_title()

    def _ask_app(self, message: _DraftMessage) -> None:
        # To the app directly: leaving posts a save as this screen goes away.
        self.app.post_message(message)

    def show_cadence(self, text: str, overdue: bool) -> None:
        """The update cadence, the same words as the header ('update due 04:30Z (in 14m)');
        the app calls this every second, so going overdue shows here while typing."""
        line = self.query_one("#draft-cadence", Static)
        line.update(text or "no update cadence for this incident")
        line.set_class(overdue, "-overdue")

    def action_save(self) -> None:
        self._ask_app(self.SaveRequested(self, self.text, self._bases()))

    def action_rerender(self) -> None:
        self.query_one(TextArea).text = self._render_fresh()
        cadence = self.query_one("#draft-cadence", Static)
        if cadence.has_class("-overdue"):
            self.notify(
                "Filled from the incident's current state. The update is overdue: send it now "
                "(ctrl+e); its 'next update' time counts from now (ctrl+z undoes the fill).",
                severity="warning",
                timeout=6,
            )
        else:
            self.notify("Filled from the incident's current state (ctrl+z undoes).", timeout=3)

    def action_copy(self) -> None:
        self._ask_app(self.CopyRequested(self, self.text, self._bases()))

    def action_write(self) -> None:
        from warroom.ui.screens.pickers import TextPrompt

        def chosen(path: str | None) -> None:
            if path:
                self._ask_app(self.WriteRequested(self, self.text, self._bases(), path))

        self.app.push_screen(TextPrompt("Write the draft to a file", value=f"{self.template_id}.txt", hint="Path to write (it is replaced) · Enter writes"), chosen)

    def action_send(self) -> None:
        def chosen(channel: CommsChannel | None) -> None:
            if channel is not None:
                self._ask_app(self.SendRequested(self, self.text, self._bases(), channel))

        self.app.push_screen(ChannelPicker(self._channel, self._destinations), chosen)

    def action_next_version(self) -> None:
        if len(self._heads) > 1:
            self._shown_head = (self._shown_head + 1) % len(self._heads)
            self.query_one(TextArea).text = self._heads[self._shown_head].text
            self._update_title()

    def action_leave(self) -> None:
        if self.text != (self._saved_text if self._saved_text is not None else self._rendered):
            self._ask_app(self.SaveRequested(self, self.text, self._bases()))
        self.dismiss(None)


class ChannelPicker(Dialog[CommsChannel | None]):
    """Where does this update go? A channel with a destination in the config sends it there;
    the others record it as sent by hand."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="channel.cancel")]
    DEFAULT_CSS = """
    ChannelPicker {
        & > Vertical { width: 60; }
        & OptionList { height: auto; }
        & Label { color: $text-muted; }
    }
    """

    def __init__(self, default: CommsChannel, destinations: dict[str, str] | None = None) -> None:
        super().__init__()
        self._default = default
        self._destinations = destinations or {}

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Send to…"
            options = []
            for channel in CommsChannel:
                label = Text(f"{channel.value:<12} ")
                destination = self._destinations.get(channel.value)
                label.append(f"sends it via {destination}" if destination else "records it as sent by hand", style="" if destination else "dim")
                options.append(Option(label, id=channel.value))
            yield OptionList(*options)
            yield Label("Logged to the timeline; the update timer restarts once it is sent")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = list(CommsChannel).index(self._default)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(CommsChannel(event.option.id))


class ComponentScreen(Dialog[tuple[str, ComponentState] | None]):
    """Set a status-page component's state: pick or type the component, then the state."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="component.cancel")]
    DEFAULT_CSS = """
    ComponentScreen {
        & > Vertical { width: 60; }
        & OptionList { height: auto; max-height: 8; }
        & Label { color: $text-muted; }
    }
    """

    def __init__(self, components: dict[str, ComponentState]) -> None:
        super().__init__()
        self._components = components

    def compose(self) -> ComposeResult:
        from textual.widgets import Input

        with Vertical() as box:
            box.border_title = "Status-page component"
            yield Input(placeholder="Component, e.g. Checkout", id="component", value=next(iter(self._components), ""), compact=True)
            yield OptionList(*(Option(state.value, id=state.value) for state in ComponentState), id="states")
            yield Label("Type or keep the component · Enter · choose the state · Enter")

    def on_input_submitted(self, event) -> None:
        event.stop()
        self.query_one("#states", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        from textual.widgets import Input

        name = self.query_one("#component", Input).value.strip()
        if not name:
            self.notify("Name the component first.", severity="warning")
            self.query_one("#component", Input).focus()
            return
        self.dismiss((name, ComponentState(event.option.id)))


class ConfirmScreen(Dialog[bool]):
    """A yes/no question (y / n)."""

    BINDINGS = [
        Binding("y", "dismiss(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "dismiss(False)", "No", id="confirm.no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen {
        & > Vertical { width: 60; border: thick $warning; }
    }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self._question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._question)
            yield Label("y: yes · n: no")
