"""The append-only journal: line format, torn-tail repair, corruption, followers, crashes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.domain import commands
from warroom.domain.clock import FixedClock
from warroom.domain.commands import EventFactory
from warroom.domain.events import Event
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import Severity
from warroom.store.journal import Journal, JournalCorruptError, JournalError, encode_line

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 30, 14, 0, tzinfo=timezone.utc)


def make_events(count: int, seed: int = 1, incident_id: str | None = None) -> list[Event]:
    """A declared incident followed by notes (``count`` events in all, at least 2)."""
    clock = FixedClock(T0)
    rng = random.Random(seed)
    factory = EventFactory("alice", clock, HybridClock(clock, "0a0b0c0d"), new_id=lambda now: uuid7(now, rng.randbytes(10)))
    if incident_id is None:
        events = commands.declare(factory, title="Checkout failing", severity=Severity.SEV2)
        incident_id = events[0].incident_id
    else:
        events = []
    from warroom.domain.events import EntryLogged

    while len(events) < count:
        clock.advance(seconds=7)
        events.append(factory.make(incident_id, EntryLogged(text=f"note {len(events)}")))
    return events


@pytest.fixture
def events() -> list[Event]:
    return make_events(6)


@pytest.fixture
def journal(tmp_path, events) -> Journal:
    return Journal(tmp_path / "incidents" / f"{events[0].incident_id}.jsonl", events[0].incident_id)


def ids(events: list[Event]) -> list[str]:
    return [e.id for e in events]


# --- format and round trip ------------------------------------------------------------------


def test_append_then_open_round_trips(journal, events):
    journal.append(events[:2])
    journal.append(events[2:])
    result = Journal(journal.path, journal.incident_id).open()
    assert result.events == events
    assert result.warnings == []


def test_open_missing_file_is_empty(journal):
    result = journal.open()
    assert result.events == [] and result.warnings == []
    assert not journal.path.exists()


def test_each_line_is_crc_space_json_newline(journal, events):
    for event in events:
        journal.append([event])
    data = journal.path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    assert len(lines) == len(events)
    for line, event in zip(lines, events):
        crc, space, payload = line[:8], line[8:9], line[9:]
        assert space == b" "
        assert int(crc, 16) == zlib.crc32(payload)
        assert crc == crc.lower() and len(crc) == 8
        assert json.loads(payload)["id"] == event.id
        assert b"\n" not in payload
    assert journal.path.stat().st_mode & 0o777 == 0o600


def test_append_refuses_events_of_another_incident(journal):
    other = make_events(2, seed=99)
    with pytest.raises(ValueError):
        journal.append(other)
    assert not journal.path.exists()


# --- torn tails and corruption --------------------------------------------------------------


def test_torn_tail_without_newline_is_truncated_and_repaired(journal, events):
    journal.append(events[:4])
    good = journal.path.read_bytes()
    torn = encode_line(events[4])[:-17]  # cut mid-JSON, no newline
    journal.path.write_bytes(good + torn)

    result = Journal(journal.path, journal.incident_id).open()
    assert ids(result.events) == ids(events[:4])
    assert len(result.warnings) == 1
    assert journal.path.name in result.warnings[0]
    assert str(len(torn)) in result.warnings[0]
    assert journal.path.read_bytes() == good  # repaired on disk

    again = Journal(journal.path, journal.incident_id).open()
    assert again.warnings == [] and ids(again.events) == ids(events[:4])
    # appending after the repair gives a clean journal
    journal.append(events[4:])
    assert ids(Journal(journal.path, journal.incident_id).open().events) == ids(events)


def test_bit_flip_in_the_last_complete_line_is_corruption_kept_and_quarantined(journal, events):
    journal.append(events[:4])
    line = bytearray(journal.path.read_bytes().split(b"\n")[3] + b"\n")
    blob = journal.path.read_bytes()
    flipped = bytearray(blob)
    flipped[len(blob) - len(line) + 30] ^= 0x01  # one bit inside the JSON of an acknowledged line
    journal.path.write_bytes(bytes(flipped))

    result = Journal(journal.path, journal.incident_id).open()
    assert ids(result.events) == ids(events[:3])
    assert [bad.line_no for bad in result.damaged] == [4]
    assert journal.path.read_bytes() == bytes(flipped)  # not one byte removed
    assert journal.quarantine_path.read_bytes() == bytes(flipped).split(b"\n")[3] + b"\n"
    assert "line 4" in result.warnings[0] and "checksum" in result.warnings[0]
    # appending keeps working and nothing is repeated in the quarantine file
    journal.append(events[4:])
    again = Journal(journal.path, journal.incident_id).open()
    assert ids(again.events) == ids(events[:3] + events[4:])
    assert journal.quarantine_path.read_bytes().count(b"\n") == 1


def test_corrupt_middle_line_is_reported_kept_and_the_rest_loads(journal, events):
    journal.append(events)
    lines = journal.path.read_bytes().split(b"\n")
    damaged = bytearray(lines[2])
    damaged[40] ^= 0x04
    lines[2] = bytes(damaged)
    blob = b"\n".join(lines)
    journal.path.write_bytes(blob)
    mtime = journal.path.stat().st_mtime_ns

    result = Journal(journal.path, journal.incident_id).open()
    assert ids(result.events) == ids(events[:2] + events[3:])
    bad = result.damaged[0]
    assert bad.line_no == 3 and "checksum" in bad.reason and bad.raw == bytes(damaged)
    assert str(journal.path) in result.warnings[0] and "line 3" in result.warnings[0]
    assert "warroom repair" in result.warnings[0]
    assert journal.path.read_bytes() == blob
    assert journal.path.stat().st_mtime_ns == mtime


def test_a_torn_tail_is_cut_but_a_corrupt_middle_line_is_kept(journal, events):
    journal.append(events[:4])
    lines = journal.path.read_bytes().split(b"\n")
    lines[0] = b"garbage"
    kept = b"\n".join(lines)
    journal.path.write_bytes(kept + encode_line(events[4])[:20])
    result = Journal(journal.path, journal.incident_id).open()
    assert [bad.line_no for bad in result.damaged] == [1]
    assert ids(result.events) == ids(events[1:4])
    assert journal.path.read_bytes() == kept


def test_valid_line_of_another_incident_is_corruption(journal, events):
    other = make_events(3, seed=5)
    blob = b"".join(encode_line(e) for e in events[:2]) + encode_line(other[0]) + encode_line(events[2])
    journal.path.parent.mkdir(parents=True)
    journal.path.write_bytes(blob)
    result = Journal(journal.path, journal.incident_id).open()
    assert [bad.line_no for bad in result.damaged] == [3]
    assert other[0].incident_id in result.damaged[0].reason
    assert ids(result.events) == ids(events[:3])
    assert journal.path.read_bytes() == blob


def test_last_line_of_another_incident_is_not_dropped_silently(journal, events):
    other = make_events(2, seed=5)
    blob = b"".join(encode_line(e) for e in events[:2]) + encode_line(other[0])
    journal.path.parent.mkdir(parents=True)
    journal.path.write_bytes(blob)
    result = Journal(journal.path, journal.incident_id).open()
    assert [bad.line_no for bad in result.damaged] == [3]
    assert journal.path.read_bytes() == blob


def test_checksummed_line_with_invalid_event_is_corruption(journal, events):
    data = json.loads(events[0].model_dump_json())
    data["kind"] = "incident.exploded"
    payload = json.dumps(data).encode()
    blob = b"%08x %s\n" % (zlib.crc32(payload), payload) + encode_line(events[1])
    journal.path.parent.mkdir(parents=True)
    journal.path.write_bytes(blob)
    result = Journal(journal.path, journal.incident_id).open()
    assert "invalid event" in result.damaged[0].reason
    assert ids(result.events) == [events[1].id]


def test_deeply_nested_json_with_valid_checksum_is_a_damaged_line(journal, events):
    payload = b"[" * 50_000 + b"]" * 50_000
    blob = b"%08x %s\n" % (zlib.crc32(payload), payload) + encode_line(events[0])
    journal.path.parent.mkdir(parents=True)
    journal.path.write_bytes(blob)
    result = Journal(journal.path, journal.incident_id).open()
    assert [bad.line_no for bad in result.damaged] == [1]


def test_a_symlinked_journal_is_refused_and_its_target_never_touched(journal, events, tmp_path):
    precious = tmp_path / "bashrc"
    precious.write_bytes(b"export PATH=~/bin:$PATH\n" + b"no newline at the end")
    journal.path.parent.mkdir(parents=True)
    journal.path.symlink_to(precious)
    before = precious.read_bytes()
    with pytest.raises(JournalError, match="symbolic link"):
        Journal(journal.path, journal.incident_id).open()
    with pytest.raises(JournalError, match="symbolic link"):
        Journal(journal.path, journal.incident_id).append(events[:1])
    with pytest.raises(JournalError, match="symbolic link"):
        Journal(journal.path, journal.incident_id).read_new()
    assert precious.read_bytes() == before


def test_a_journal_that_is_not_a_regular_file_is_refused(journal):
    journal.path.parent.mkdir(parents=True)
    os.mkfifo(journal.path)
    with pytest.raises(JournalError, match="not a regular file"):
        Journal(journal.path, journal.incident_id).open()


# --- followers ------------------------------------------------------------------------------


def test_read_new_picks_up_other_writers_and_waits_for_incomplete_line(journal, events):
    journal.append(events[:2])
    follower = Journal(journal.path, journal.incident_id)
    assert ids(follower.open().events) == ids(events[:2])
    assert follower.read_new() == []

    writer = Journal(journal.path, journal.incident_id)
    writer.append(events[2:4])
    assert ids(follower.read_new()) == ids(events[2:4])
    assert follower.read_new() == []

    # A line still being written: left for later, and the file is not touched.
    line = encode_line(events[4])
    with open(journal.path, "ab") as handle:
        handle.write(line[:25])
    size = journal.path.stat().st_size
    assert follower.read_new() == []
    assert journal.path.stat().st_size == size
    with open(journal.path, "ab") as handle:
        handle.write(line[25:])
    assert ids(follower.read_new()) == [events[4].id]

    writer.append(events[5:])
    assert ids(follower.read_new()) == [events[5].id]


def test_read_new_reports_corrupt_line_with_its_line_number(journal, events):
    journal.append(events[:3])
    follower = Journal(journal.path, journal.incident_id)
    follower.open()
    with open(journal.path, "ab") as handle:
        handle.write(b"not a journal line at all\n")
    journal.append(events[3:4])
    assert ids(follower.read_new()) == [events[3].id]
    assert [bad.line_no for bad in follower.damaged] == [4]
    assert follower.quarantine_path.read_bytes() == b"not a journal line at all\n"


def test_read_new_before_file_exists(journal, events):
    follower = Journal(journal.path, journal.incident_id)
    assert follower.open().events == []
    assert follower.read_new() == []
    journal.append(events[:2])
    assert ids(follower.read_new()) == ids(events[:2])


def test_open_readonly_never_modifies(journal, events):
    journal.append(events[:3])
    assert ids(Journal(journal.path, journal.incident_id).open_readonly()) == ids(events[:3])

    torn = journal.path.read_bytes() + encode_line(events[3])[:30]
    journal.path.write_bytes(torn)
    with pytest.raises(JournalCorruptError):
        Journal(journal.path, journal.incident_id).open_readonly()
    assert journal.path.read_bytes() == torn

    bad_last = torn[: torn.rfind(b"\n") + 1] + b"00000000 {}\n"
    journal.path.write_bytes(bad_last)
    with pytest.raises(JournalCorruptError):
        Journal(journal.path, journal.incident_id).open_readonly()
    assert journal.path.read_bytes() == bad_last


def test_open_readonly_missing_file_is_a_journal_error(journal):
    with pytest.raises(JournalError):
        journal.open_readonly()


# --- crashes --------------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from warroom.domain.clock import SystemClock
    from warroom.domain.commands import EventFactory
    from warroom.domain.events import EntryLogged
    from warroom.domain.hlc import HybridClock
    from warroom.store.journal import Journal

    path, incident_id, round_no = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    clock = SystemClock()
    factory = EventFactory("crashy", clock, HybridClock(clock, "c0c0c0c" + round_no))
    journal = Journal(path, incident_id)
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        batch = [factory.make(incident_id, EntryLogged(text=f"round {round_no} entry {n} " + "x" * (n % 300)))]
        if n % 5 == 0:
            batch.append(factory.make(incident_id, EntryLogged(text=f"round {round_no} extra {n}")))
        journal.append(batch)
        print(" ".join(e.id for e in batch), flush=True)
    """
)


def test_kill_9_never_loses_an_acknowledged_event(tmp_path, events):
    incident_id = events[0].incident_id
    path = tmp_path / f"{incident_id}.jsonl"
    Journal(path, incident_id).append(events[:2])
    rng = random.Random(1234)
    acknowledged: list[str] = list(ids(events[:2]))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    for round_no in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), incident_id, str(round_no)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            assert child.stdout.readline().strip() == b"ready", child.stderr.read().decode()
            time.sleep(rng.uniform(0.02, 0.25))
            os.kill(child.pid, signal.SIGKILL)
            out, err = child.communicate(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == -signal.SIGKILL, err.decode()
        printed = [line for line in out.decode().split("\n") if line]
        # the very last line may itself have been cut by the kill: only whole lines count
        complete = printed if out.endswith(b"\n") else printed[:-1]
        acknowledged += [i for line in complete for i in line.split()]

        result = Journal(path, incident_id).open()  # repairs a torn tail, if any
        on_disk = ids(result.events)
        assert len(on_disk) == len(set(on_disk))
        missing = set(acknowledged) - set(on_disk)
        assert not missing, f"round {round_no}: acknowledged but lost: {sorted(missing)[:5]}"
        assert Journal(path, incident_id).open().warnings == []  # clean after repair
    assert len(acknowledged) > 10  # the child really got to write
    assert time.monotonic() - started < 10


# --- fuzz -----------------------------------------------------------------------------------

_INCIDENT = "01a1e8c5-93e8-7466-b9e6-74c8f8a7a8d4"


@st.composite
def journal_bytes(draw) -> bytes:
    """Arbitrary bytes, or a real journal with arbitrary damage spliced in."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=600))
    good = [encode_line(e) for e in make_events(4, seed=draw(st.integers(0, 3)), incident_id=_INCIDENT)]
    blob = bytearray(b"".join(good))
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(blob)))
        op = draw(st.sampled_from(["insert", "flip", "cut"]))
        if op == "insert":
            blob[pos:pos] = draw(st.binary(max_size=40))
        elif op == "flip" and pos < len(blob):
            blob[pos] ^= draw(st.integers(1, 255))
        else:
            del blob[pos:]
    return bytes(blob)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=journal_bytes())
def test_fuzz_open_returns_events_or_journal_error(tmp_path, data):
    path = tmp_path / f"{_INCIDENT}.jsonl"
    path.write_bytes(data)
    result = Journal(path, _INCIDENT).open()
    repaired = path.read_bytes()
    # Only a final line without its newline may go; every complete line stays.
    assert data.startswith(repaired)
    assert repaired == data[: data.rfind(b"\n") + 1]
    assert all(e.incident_id == _INCIDENT for e in result.events)
    assert repaired.count(b"\n") == len(result.events) + len(result.damaged)
    # whatever open() found, it finds again, and cuts nothing more
    again = Journal(path, _INCIDENT).open()
    assert again.events == result.events and again.damaged == result.damaged
    assert path.read_bytes() == repaired


def test_append_cuts_a_torn_tail_left_by_another_writer(tmp_path):
    """A long-running TUI appends after a CLI process died mid-line: the partial line (never
    reported saved) must be cut, not glued to our line into mid-file corruption."""
    from datetime import datetime, timezone

    from warroom.domain import commands
    from warroom.domain.clock import FixedClock
    from warroom.domain.commands import EventFactory
    from warroom.domain.hlc import HybridClock
    from warroom.domain.models import Severity
    from warroom.store.journal import Journal

    clock = FixedClock(datetime(2026, 11, 18, 15, 0, tzinfo=timezone.utc))
    factory = EventFactory("alice", clock, HybridClock(clock, "n1"))
    declared = commands.declare(factory, title="x", severity=Severity.SEV3)
    path = tmp_path / f"{declared[0].incident_id}.jsonl"
    journal = Journal(path, declared[0].incident_id)
    journal.append(declared[:1])
    with open(path, "ab") as handle:
        handle.write(b"1234abcd {\"id\": \"half a li")  # the other writer died here
    journal.append(declared[1:])
    assert journal.torn_bytes_removed == len(b"1234abcd {\"id\": \"half a li")
    reopened = Journal(path, declared[0].incident_id).open()
    assert [e.id for e in reopened.events] == [e.id for e in declared]
    assert reopened.warnings == []


def test_two_writers_taking_turns_keep_each_others_lines_and_cut_only_a_torn_one(tmp_path):
    """Each writer skips the tail check while the file still ends where its own last line
    did; any other write (a whole line, or half of one) makes it look again."""
    from datetime import datetime, timezone

    from warroom.domain import commands
    from warroom.domain.clock import FixedClock
    from warroom.domain.commands import EventFactory
    from warroom.domain.hlc import HybridClock
    from warroom.domain.models import Severity
    from warroom.store.journal import Journal

    clock = FixedClock(datetime(2026, 11, 18, 15, 0, tzinfo=timezone.utc))
    factory = EventFactory("alice", clock, HybridClock(clock, "n1"))
    declared = commands.declare(factory, title="x", severity=Severity.SEV3)
    from warroom.domain.fold import fold_incident

    state = fold_incident(declared[0].incident_id, declared)
    notes = [commands.log_entry(factory, state, f"note {n}") for n in range(5)]
    path = tmp_path / f"{declared[0].incident_id}.jsonl"
    tui, cli = Journal(path, declared[0].incident_id), Journal(path, declared[0].incident_id)
    tui.append(declared)
    tui.append(notes[:1])
    cli.append(notes[1:2])  # a whole line from the other writer
    tui.append(notes[2:3])
    with open(path, "ab") as handle:
        handle.write(b"0badf00d {\"id\"")  # a third writer died mid-line
    tui.append(notes[3:4])
    cli.append(notes[4:])
    assert (tui.torn_bytes_removed, cli.torn_bytes_removed) == (len(b"0badf00d {\"id\""), 0)
    reopened = Journal(path, declared[0].incident_id).open()
    assert [e.id for e in reopened.events] == [e.id for e in [*declared, *notes]]
    assert reopened.warnings == [] and reopened.damaged == []
