"""The latest entries of a big journal, read before the whole data dir (``tail_preview``)."""

from __future__ import annotations

import os
from pathlib import Path

from warroom.domain import commands
from warroom.domain.models import HUMAN_ENTRY_KINDS, EntryKind, Severity, Status
from warroom.store.journal import encode_line
from warroom.store.preview import tail_preview
from warroom.store.workspace import Workspace


def make_incident(data_dir: Path, clock, title: str, entries: int) -> str:
    """An incident with ``entries`` typed entries, a status change among them, and an
    amendment and a redaction of recent ones (its journal sealed and signed as usual)."""
    ws = Workspace(data_dir, "alice", clock)
    ws.load()
    declared = commands.declare(ws.factory, title=title, severity=Severity.SEV2)
    ws.record(declared)
    incident_id = declared[0].incident_id
    batch = []
    for n in range(entries):
        clock.advance(seconds=1)
        batch.append(commands.log_entry(ws.factory, ws.get(incident_id), f"{title} entry {n}: queue depth {n % 7}", EntryKind.NOTE))
        if len(batch) == 200:
            ws.record(batch)
            batch = []
    ws.record(batch)
    clock.advance(seconds=1)
    ws.record([commands.update(ws.factory, ws.get(incident_id), status=Status.IDENTIFIED)])
    last = ws.get(incident_id).timeline
    clock.advance(seconds=1)
    ws.record([commands.amend_entry(ws.factory, ws.get(incident_id), last[-3].id, "amended: queue drained")])
    clock.advance(seconds=1)
    ws.record([commands.redact_entry(ws.factory, ws.get(incident_id), last[-4].id, "pasted a token")])
    return incident_id


def whole_timeline(data_dir: Path, incident_id: str):
    ws = Workspace(data_dir, "bob", signer=None)
    ws.load()
    return ws.get(incident_id).timeline


def test_the_preview_is_the_end_of_the_timeline_as_the_whole_load_shows_it(tmp_path, clock):
    incident_id = make_incident(tmp_path, clock, "Checkout errors", 1500)
    journal = tmp_path / "incidents" / f"{incident_id}.jsonl"
    preview = tail_preview(journal.parent, Workspace(tmp_path, "bob", signer=None).text_keys, from_bytes=0)
    assert preview is not None and preview.incident_id == incident_id
    typed = [e for e in whole_timeline(tmp_path, incident_id) if e.kind in HUMAN_ENTRY_KINDS]
    assert 100 < len(preview.entries) < len(typed)  # the tail, not the whole journal
    assert preview.entries == typed[-len(preview.entries):]  # amended and redacted as in the whole
    assert {e.text for e in preview.entries} >= {"amended: queue drained", ""}
    assert all(e.kind in HUMAN_ENTRY_KINDS for e in preview.entries)  # no "→" written from a guess


def test_no_preview_for_a_journal_that_loads_at_once(tmp_path, clock):
    make_incident(tmp_path, clock, "Small", 20)
    assert tail_preview(tmp_path / "incidents", None) is None
    assert tail_preview(tmp_path / "nowhere", None, from_bytes=0) is None


def test_the_journal_written_last_is_previewed_and_a_damaged_tail_line_is_left_to_the_load(tmp_path, clock):
    older = make_incident(tmp_path, clock, "Older", 300)
    newer = make_incident(tmp_path, clock, "Newer", 300)
    journals = tmp_path / "incidents"
    os.utime(journals / f"{older}.jsonl", ns=(1, 1))
    with open(journals / f"{newer}.jsonl", "ab") as handle:
        handle.write(b"00000000 " + encode_line(whole_timeline_events(tmp_path, newer)[-1])[9:])  # bad checksum
    preview = tail_preview(journals, None, from_bytes=0)
    assert preview is not None and preview.incident_id == newer
    assert all(e.text.startswith("Newer") or "unavailable" in e.text or e.text == "" for e in preview.entries)
    # Its own texts cannot be opened without the keys: said, never shown as empty.
    assert any("unavailable" in e.text for e in preview.entries)
    later = (journals / f"{newer}.jsonl").stat().st_mtime_ns + 1_000_000_000
    os.utime(journals / f"{older}.jsonl", ns=(later, later))  # written to again, a second on
    assert tail_preview(journals, None, from_bytes=0).incident_id == older


def whole_timeline_events(data_dir: Path, incident_id: str):
    ws = Workspace(data_dir, "bob", signer=None)
    ws.load()
    return ws.events(incident_id)
