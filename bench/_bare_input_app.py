"""The baseline for P7: a bare Textual app with one focused Input (and a Label to wait for)."""

from textual.app import App, ComposeResult
from textual.widgets import Input, Label


class BareInput(App):
    def compose(self) -> ComposeResult:
        yield Label("bare-input-ready")
        yield Input(placeholder="type here")

    def on_mount(self) -> None:
        self.query_one(Input).focus()


if __name__ == "__main__":
    BareInput().run()
