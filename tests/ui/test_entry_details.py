"""The entry view shows everything an alert carried: every label, annotation, fingerprint and
link of an alert entry, as the alert intake stored them."""

from __future__ import annotations

import json
from pathlib import Path

from warroom.domain.clock import SystemClock
from warroom.server.alerting.payload import parse_notification
from warroom.server.alertmanager import AlertIntake
from warroom.server.auth import Principal
from warroom.server.storage import SqliteStore
from warroom.server.ledger import Ledger

ALERT = Path(__file__).resolve().parents[1] / "server" / "fixtures" / "alertmanager" / "kube-proxy-down-node-5.json"


def alert_events(tmp_path: Path) -> list:
    """What the real intake makes of the notification (a store in a temp dir, no network)."""
    store = SqliteStore(tmp_path / "server.sqlite3")
    clock = SystemClock()
    intake = AlertIntake(Ledger(store, clock), store, clock, runbooks=list)
    who = Principal(name="alertmanager", admin=False, authenticated=True)
    intake.handle(who, parse_notification(json.loads(ALERT.read_text()), clock.now()))
    events = [json.loads(row.event_json) for row in store.iter_feed()]
    store.close()
    from warroom.domain.events import parse_event

    return [parse_event(event) for event in events]


async def test_the_entry_view_shows_every_label_of_an_alert(make_app, empty_dir, tmp_path):
    from warroom.ui.screens.entry import EntryScreen

    app = make_app(empty_dir, poll_journals=False)
    app.workspace.ingest(alert_events(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("escape", "2", "home", "enter")  # the alert started before anything else
        await pilot.pause()
        assert isinstance(app.screen, EntryScreen)
        shown = str(app.screen.query_one("#entry-details").render())
        for line in (
            "labels.instance: 10.0.5.9:10249",
            "labels.pod: kube-proxy-qq81d",
            "fingerprint: a3c15e0b7d25f9c41",
            "externalURL: http://alertmanager.monitoring.svc:9093",
            "annotations.runbook_url: https://runbooks",
        ):
            assert line in shown
