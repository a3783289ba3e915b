"""Loading: the journals from the moment the app starts, a big incident's latest entries
first, the first full frame, then the runbooks.

Mixed into ``WarRoomApp``: the load runs in a thread worker, and hands over on the UI thread
(``_load_finished``) once both the load is done and the panes are mounted.
"""

from __future__ import annotations

import gc
import threading

from warroom.desk import Library
from warroom.ui.widgets.checklist import ChecklistPane
from warroom.ui.widgets.timeline import TimelineView

_LIBRARY_TITLES = {
    "incident type": ("Incident types", "Incident types not loaded:"),
    "template": ("Templates", "These templates could not be used (the others loaded):"),
    "runbook": ("Runbooks", "These runbooks could not be read (the others loaded):"),
}


class LoadingHandlers:
    """Mixed into ``WarRoomApp``."""

    def on_load(self) -> None:
        # Read the journals while the screen is composed: a small data dir is read by the time
        # the panes are mounted, and the first frame is the full one (no loading indicator).
        self.run_worker(self._load, thread=True, group="load", name="load journals")

    def _load(self) -> None:
        """Thread: read every journal, the templates and the incident types. A big journal's
        latest entries are shown first, and drawn before the full load begins. The runbooks
        (Markdown, the slow part: only attaching a checklist needs them) are read after the
        first full frame, so they do not take the CPU from drawing it."""
        from warroom.store.preview import tail_preview

        preview = tail_preview(self.workspace.journal_dir, self.workspace.text_keys)
        if preview is not None and preview.entries and self._panes_ready.wait(10.0):
            drawn = threading.Event()

            def show() -> None:
                self._previewed_id = preview.incident_id
                timeline = self.query_one(TimelineView)
                timeline.show_preview(preview.entries)
                timeline.call_after_refresh(drawn.set)

            self.call_from_thread(show)
            drawn.wait(1.0)  # the load would slow that frame down (one interpreter, two threads)
        report = self.workspace.load()
        library = self.desk.library = Library(self.config)
        library.templates, library.incident_types  # noqa: B018 - reads them
        self._load_result = (report.warnings, report.errors)  # on_mount may take it from here
        self.call_from_thread(self._load_finished)

    def _load_finished(self) -> None:
        """UI thread: the load is done and the panes are mounted (whichever came last calls)."""
        if self.loaded or self._load_result is None or not self._panes_ready.is_set():
            return
        self._loaded(*self._load_result)
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        # The loaded incidents live as long as the app: no collector pass walks them again.
        # (The command line starts the console with the collector off: see cli.tui.)
        gc.freeze()
        gc.enable()
        # Loaded after the first layout, the checklist was filled at another size than its
        # final one: the next open step must be in view either way.
        self.query_one(ChecklistPane).scroll_to_highlight()
        self.run_worker(self._read_runbooks, thread=True, group="load", name="read runbooks")

    def _read_runbooks(self) -> None:
        library = self.desk.library
        library.runbooks  # noqa: B018 - reads them
        for part, (title, heading) in _LIBRARY_TITLES.items():
            lines = [p.message for p in library.problems if p.part == part]
            if lines:
                self.call_from_thread(self.notify, "\n".join([heading, *lines]), title=title, severity="warning", timeout=20)
