"""Opening a big incident (Pilot): its latest entries first, marked as such, then the whole
timeline; nothing acts on the partial list, and reads of the state wait for the whole load."""

from __future__ import annotations

import threading

from warroom.domain.models import HUMAN_ENTRY_KINDS
from warroom.domain.timeline_filter import parse_filter
from warroom.store import preview as preview_module
from warroom.ui.widgets.header import HeaderBar
from warroom.store.workspace import Workspace
from warroom.ui.screens.console import ConsoleScreen
from warroom.ui.widgets.timeline import TimelineView

try:
    from store.test_preview import make_incident
except ImportError:  # tests/ collected as a package
    from tests.store.test_preview import make_incident


async def until(pilot, condition, what: str, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_latest_entries_first_then_the_whole_timeline(tmp_path, clock, make_app, monkeypatch):
    incident_id = make_incident(tmp_path, clock, "Checkout errors", 1500)
    monkeypatch.setattr(preview_module, "PREVIEW_FROM_BYTES", 1)
    reader = Workspace(tmp_path, "reader", clock)
    reader.load()
    whole = reader.get(incident_id).timeline

    app = make_app(tmp_path)
    # The full load is held inside the workspace's lock until the test lets it go.
    release = threading.Event()
    open_journal = app.workspace._open_journal

    def held_open(*args, **kwargs):
        assert release.wait(30)
        return open_journal(*args, **kwargs)

    monkeypatch.setattr(app.workspace, "_open_journal", held_open)
    try:
        await _watch_the_load(app, pilot_release=release, whole=whole, incident_id=incident_id, clock=clock)
    finally:
        release.set()


async def _watch_the_load(app, *, pilot_release, whole, incident_id, clock) -> None:
    release = pilot_release
    async with app.run_test(size=(120, 40)) as pilot:
        timeline = app.query_one(TimelineView)
        await until(pilot, lambda: timeline.previewing, "the preview")
        assert not app.loaded and not timeline.loading
        typed = [e for e in whole if e.kind in HUMAN_ENTRY_KINDS]
        assert timeline.entries == typed[-len(timeline.entries):]
        assert len(timeline.entries) < len(typed)
        assert timeline.selected == timeline.entries[-1]  # at the end, where the load leaves it too
        assert "loading older entries…" in str(timeline.border_subtitle)
        assert f"latest {len(timeline.entries)} entries" in str(timeline.border_subtitle)
        # The header must not invite declaring the incident again while it is being read.
        header = app.query_one(HeaderBar)
        assert "loading incidents…" in header._heading(120).plain
        assert "no incident selected" not in header._heading(120).plain

        # Nothing acts on a partial timeline: said, not done.
        timeline.focus()
        await pilot.press("e")  # amend
        await pilot.pause()
        assert isinstance(app.screen, ConsoleScreen)
        assert any("still loading" in str(n.message) for n in app._notifications)

        # A search covers what is shown and says it is not everything yet...
        latest = list(timeline.entries)
        search = parse_filter("149", clock.now())
        timeline.set_filter(search)
        assert timeline.entries == search.apply(latest) and timeline.entries
        assert "loading older entries…" in str(timeline.border_subtitle)

        # ...and whatever reads the state (an export, the incident list) waits for the load.
        seen: list = []
        reading = threading.Thread(target=lambda: seen.append(app.workspace.get(incident_id).timeline))
        reading.start()
        reading.join(0.3)
        assert reading.is_alive() and not seen

        release.set()
        await until(pilot, lambda: app.loaded, "the whole load")
        reading.join(10)
        assert seen and len(seen[0]) == len(whole)
        await pilot.pause()
        assert not timeline.previewing
        assert "Checkout errors" in header._heading(120).plain
        # The search now runs over the whole timeline.
        matching = search.apply(whole)
        assert timeline.entries == matching and len(matching) > len(search.apply(latest))
        assert str(timeline.border_subtitle).startswith(f"{len(matching)} of {len(whole)}")
        timeline.set_filter(parse_filter("", clock.now()))
        assert timeline.entries == whole and str(timeline.border_subtitle) == f"{len(whole)} entries"


async def test_a_small_data_dir_opens_without_a_preview(tmp_path, clock, make_app, monkeypatch):
    make_incident(tmp_path, clock, "Small", 30)
    shown: list = []
    real_show = TimelineView.show_preview
    monkeypatch.setattr(TimelineView, "show_preview", lambda self, entries: (shown.append(entries), real_show(self, entries)))
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded, "the load")
        await pilot.pause()
        assert shown == [] and not app.query_one(TimelineView).previewing


async def test_an_empty_data_dir_invites_a_declaration_once_read(tmp_path, make_app):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.loaded, "the load")
        await pilot.pause()
        header = app.query_one(HeaderBar)
        assert not header.loading
        assert "no incident selected — press n to declare one" in header._heading(120).plain


async def test_the_previewed_incident_stays_selected_once_everything_is_loaded(tmp_path, clock, make_app, monkeypatch):
    # Both SEV2 and open: on its own the console would select the older one first.
    older = make_incident(tmp_path, clock, "Older queue alarm", 40)
    latest = make_incident(tmp_path, clock, "Checkout errors", 400)
    monkeypatch.setattr(preview_module, "PREVIEW_FROM_BYTES", 1)
    reader = Workspace(tmp_path, "reader", clock)
    reader.load()
    assert [i.id for i in reader.incidents()][:2] == [older, latest]

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        timeline = app.query_one(TimelineView)
        await until(pilot, lambda: app.loaded, "the load")
        await pilot.pause()
        assert app.selected_id == latest
        assert app.current.title == "Checkout errors"
        assert "Checkout errors entry 390: queue depth 5" in [e.text for e in timeline.entries]
