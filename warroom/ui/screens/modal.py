"""The one look every dialog shares: a bordered box centred over the console."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal dialog: its first child (a ``Vertical`` or ``VerticalScroll``) is the box.

    Subclasses restyle only what differs (``width``, the border's colour for a warning...),
    in their own ``DEFAULT_CSS``, which wins over this one."""

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        & > Vertical, & > VerticalScroll {
            width: 72;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        & Label.hint { color: $text-muted; }
        & Label.context { text-style: italic; }
        & Label.refused { color: $error; text-style: bold; }
    }
    """
